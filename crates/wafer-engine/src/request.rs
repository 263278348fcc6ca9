//! The request as the engine sees it: the raw parts as received, and the
//! normalized view (every named value with its location) that rules and
//! detectors inspect.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One HTTP request, as received. Header values that are not UTF-8 are kept
/// lossily (U+FFFD), and the loss itself is a protocol finding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request-target exactly as on the wire: `/path?query` (or absolute form).
    pub target: String,
    /// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`.
    pub version: String,
    /// In order, names as received (case kept).
    pub headers: Vec<(String, String)>,
    /// The body as buffered for inspection (may be a prefix, see `body_truncated`).
    pub body: Vec<u8>,
    /// True when `body` is only the first part of a longer body.
    pub body_truncated: bool,
}

impl Request {
    pub fn new(method: &str, target: &str) -> Self {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            version: "HTTP/1.1".to_owned(),
            ..Default::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// First header with this name (ASCII case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request-target's path part (before `?`), raw.
    pub fn raw_path(&self) -> &str {
        let t = self.target.as_str();
        // Absolute form (`http://host/path`): the path starts after the authority.
        let t = match t.find("://") {
            Some(i)
                if t[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+') =>
            {
                let rest = &t[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            _ => t,
        };
        t.split(['?', '#']).next().unwrap_or("")
    }

    /// The raw query string (after the first `?`), if any.
    pub fn raw_query(&self) -> Option<&str> {
        let q = self.target.split_once('?')?.1;
        Some(q.split('#').next().unwrap_or(q))
    }

    /// Parses a raw HTTP/1.x request (head and body) as read from a socket or stdin.
    /// A body is taken by `Content-Length`, or de-chunked, or else whatever follows the head.
    pub fn parse_raw(bytes: &[u8]) -> Result<Request, RawParseError> {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        let status = req
            .parse(bytes)
            .map_err(|e| RawParseError(format!("malformed request head: {e}")))?;
        let head_len = match status {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => {
                return Err(RawParseError(
                    "incomplete request head (no blank line)".into(),
                ));
            }
        };
        let mut out = Request {
            method: req.method.unwrap_or("GET").to_owned(),
            target: req.path.unwrap_or("/").to_owned(),
            version: format!("HTTP/1.{}", req.version.unwrap_or(1)),
            ..Default::default()
        };
        for h in req.headers.iter() {
            out.headers.push((
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            ));
        }
        let rest = &bytes[head_len..];
        let chunked = out
            .header_value("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        out.body = if chunked {
            dechunk(rest).unwrap_or_else(|| rest.to_vec())
        } else if let Some(n) = out
            .header_value("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            rest[..n.min(rest.len())].to_vec()
        } else {
            rest.to_vec()
        };
        Ok(out)
    }
}

/// Decodes a chunked body; `None` if it is malformed.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = memchr::memmem::find(data, b"\r\n")?;
        let size_str = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RawParseError(pub String);

/// Which part of the request a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Method,
    /// The request line as a whole (method, target, version).
    RequestLine,
    /// The canonicalized path.
    Path,
    /// The whole raw query string.
    QueryString,
    /// A query argument's value; `name` is the argument's name.
    QueryArg,
    /// A query argument's name.
    QueryArgName,
    /// A body argument's value (form, JSON leaf, multipart field, XML text/attribute).
    BodyArg,
    /// A body argument's name (form name, JSON key path, multipart field name).
    BodyArgName,
    /// A multipart file name.
    Filename,
    /// The raw body (when it is not parsed into arguments).
    Body,
    Header,
    Cookie,
    CookieName,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Method => "method",
            Part::RequestLine => "request_line",
            Part::Path => "path",
            Part::QueryString => "query_string",
            Part::QueryArg => "query_arg",
            Part::QueryArgName => "query_arg_name",
            Part::BodyArg => "body_arg",
            Part::BodyArgName => "body_arg_name",
            Part::Filename => "filename",
            Part::Body => "body",
            Part::Header => "header",
            Part::Cookie => "cookie",
            Part::CookieName => "cookie_name",
        }
    }
}

/// Where a value sits: the part and, for named parts, the name (header names lowercased).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    pub part: Part,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

impl Location {
    pub fn new(part: Part, name: Option<&str>) -> Self {
        Location {
            part,
            name: name.map(str::to_owned),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}:{}", self.part.as_str(), n),
            None => f.write_str(self.part.as_str()),
        }
    }
}

/// One inspectable value: where it sits and its text after structural
/// parsing (query and form arguments are URL-decoded once, as a server would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub location: Location,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_path_and_query() {
        let r = Request::new("GET", "/a/b?x=1&y=2#frag");
        assert_eq!(r.raw_path(), "/a/b");
        assert_eq!(r.raw_query(), Some("x=1&y=2"));
        let r = Request::new("GET", "http://example.com/p?q");
        assert_eq!(r.raw_path(), "/p");
        assert_eq!(Request::new("GET", "http://example.com").raw_path(), "/");
    }

    #[test]
    fn parse_raw_reads_head_and_body() {
        let raw =
            b"POST /login?next=/ HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nuser=ab trailing";
        let r = Request::parse_raw(raw).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/login?next=/");
        assert_eq!(r.header_value("HOST"), Some("x"));
        assert_eq!(r.body, b"user=ab");
    }

    #[test]
    fn parse_raw_dechunks() {
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(Request::parse_raw(raw).unwrap().body, b"abcde");
    }

    #[test]
    fn parse_raw_rejects_garbage_without_panic() {
        assert!(Request::parse_raw(b"\x00\x01 nonsense").is_err());
        assert!(Request::parse_raw(b"GET / HTTP/1.1\r\nHost: x").is_err());
    }
}
