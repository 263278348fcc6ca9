//! Protocol anomalies: methods, framing, encodings and body parsing.
//!
//! **Inspects:** the request head and the body parser's problems.
//! **Finds:** unknown methods, missing Host, Content-Length/Transfer-Encoding
//! conflicts (request smuggling), bad percent encoding, NUL bytes and control
//! characters, invalid UTF-8, malformed JSON/multipart/XML bodies.

use super::DetectorRule;
use crate::body::BodyProblem;
use crate::finding::{Class, Severity};
use crate::request::{Location, Part, Request};

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $pl:literal, $desc:literal;)*) => {
        $(pub const $name: u32 = $id;)*
        pub static RULES: &[DetectorRule] = &[
            $(DetectorRule { id: $id, class: Class::Protocol, severity: Severity::$sev, paranoia: $pl, description: $desc },)*
        ];
    };
}

rules! {
    METHOD_NOT_ALLOWED = 1001, Critical, 1, "method not in the allowed list";
    MISSING_HOST = 1002, Warning, 1, "HTTP/1.1 request without Host header";
    CL_TE_CONFLICT = 1003, Critical, 1, "both Content-Length and Transfer-Encoding (request smuggling)";
    BAD_CONTENT_LENGTH = 1004, Critical, 1, "Content-Length is not a single decimal number";
    BAD_TRANSFER_ENCODING = 1005, Critical, 1, "Transfer-Encoding other than chunked";
    BAD_PERCENT_ENCODING = 1006, Warning, 1, "invalid percent encoding in the request target";
    NUL_BYTE = 1007, Critical, 1, "NUL byte in the request";
    CONTROL_CHAR = 1008, Warning, 2, "control character in a header or argument";
    INVALID_UTF8 = 1009, Notice, 2, "value is not valid UTF-8 after decoding";
    MALFORMED_BODY = 1010, Critical, 1, "request body does not parse as its Content-Type says";
    BODY_TOO_DEEP = 1011, Warning, 1, "body nesting deeper than the limit";
    TOO_MANY_ARGS = 1012, Warning, 1, "more arguments than the limit";
    XML_DOCTYPE = 1013, Critical, 1, "XML body declares a DOCTYPE or ENTITY (XXE)";
    MISSING_USER_AGENT = 1014, Notice, 2, "request without User-Agent";
    MISSING_ACCEPT = 1015, Notice, 3, "request without Accept";
    BODY_OVER_LIMIT = 1016, Critical, 1, "body larger than the inspection limit (policy: reject)";
    DUPLICATE_CONTENT_LENGTH = 1017, Critical, 1, "more than one Content-Length header";
    BAD_HTTP_VERSION = 1018, Critical, 1, "unknown HTTP version";
    GET_WITH_BODY = 1019, Warning, 2, "GET or HEAD request with a body";
}

pub use super::Hit;

fn hit(out: &mut Vec<Hit>, rule: u32, part: Part, name: Option<&str>, value: &str) {
    out.push(Hit {
        rule,
        location: Location::new(part, name),
        value: value.to_owned(),
        detail: None,
    });
}

/// Checks the request head.
pub fn check_head(req: &Request, allowed_methods: &[String], out: &mut Vec<Hit>) {
    if !allowed_methods.iter().any(|m| m == &req.method) {
        hit(out, METHOD_NOT_ALLOWED, Part::Method, None, &req.method);
    }
    if !matches!(
        req.version.as_str(),
        "HTTP/1.0" | "HTTP/1.1" | "HTTP/2" | "HTTP/2.0" | "HTTP/3"
    ) {
        hit(out, BAD_HTTP_VERSION, Part::RequestLine, None, &req.version);
    }
    let h2 = req.version.starts_with("HTTP/2") || req.version.starts_with("HTTP/3");
    let host = req
        .header_value("host")
        .is_some_and(|h| !h.trim().is_empty())
        || req.target.contains("://");
    if req.version == "HTTP/1.1" && !host {
        hit(out, MISSING_HOST, Part::Header, Some("host"), "");
    }
    let cls: Vec<&str> = header_values(req, "content-length").collect();
    let te = req.header_value("transfer-encoding");
    if cls.len() > 1 && cls.windows(2).any(|w| w[0].trim() != w[1].trim()) {
        hit(
            out,
            DUPLICATE_CONTENT_LENGTH,
            Part::Header,
            Some("content-length"),
            &cls.join(", "),
        );
    }
    if let Some(cl) = cls.first() {
        let cl = cl.trim();
        if cl.is_empty() || !cl.bytes().all(|b| b.is_ascii_digit()) {
            hit(
                out,
                BAD_CONTENT_LENGTH,
                Part::Header,
                Some("content-length"),
                cl,
            );
        }
        if te.is_some() && !h2 {
            hit(
                out,
                CL_TE_CONFLICT,
                Part::Header,
                Some("transfer-encoding"),
                te.unwrap_or(""),
            );
        }
    }
    if let Some(te) = te
        && !te.trim().eq_ignore_ascii_case("chunked")
    {
        hit(
            out,
            BAD_TRANSFER_ENCODING,
            Part::Header,
            Some("transfer-encoding"),
            te,
        );
    }
    if let Some(bad) = first_bad_percent(&req.target) {
        hit(out, BAD_PERCENT_ENCODING, Part::RequestLine, None, bad);
    }
    if req
        .header_value("user-agent")
        .is_none_or(|v| v.trim().is_empty())
    {
        hit(
            out,
            MISSING_USER_AGENT,
            Part::Header,
            Some("user-agent"),
            "",
        );
    }
    if req.header_value("accept").is_none() {
        hit(out, MISSING_ACCEPT, Part::Header, Some("accept"), "");
    }
    if matches!(req.method.as_str(), "GET" | "HEAD")
        && cls
            .first()
            .is_some_and(|c| c.trim().parse::<u64>().is_ok_and(|n| n > 0))
    {
        hit(
            out,
            GET_WITH_BODY,
            Part::Header,
            Some("content-length"),
            cls[0],
        );
    }
    for (name, value) in &req.headers {
        if value.bytes().any(|b| b < 0x20 && b != b'\t') {
            hit(
                out,
                CONTROL_CHAR,
                Part::Header,
                Some(&name.to_ascii_lowercase()),
                value,
            );
        }
    }
}

fn header_values<'r>(req: &'r Request, name: &'r str) -> impl Iterator<Item = &'r str> {
    req.headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The first `%` not followed by two hex digits (or `%u` + four), with a little context.
fn first_bad_percent(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', &b[i..]) {
        let at = i + off;
        let hex2 =
            b.len() > at + 2 && b[at + 1].is_ascii_hexdigit() && b[at + 2].is_ascii_hexdigit();
        let uni = b.len() > at + 5
            && (b[at + 1] | 0x20) == b'u'
            && b[at + 2..at + 6].iter().all(u8::is_ascii_hexdigit);
        if !hex2 && !uni {
            let end = (at + 6).min(s.len());
            return Some(s.get(at..end).unwrap_or(&s[at..]));
        }
        i = at + 1;
    }
    None
}

/// Checks one decoded value for NUL bytes, control characters and lost UTF-8.
pub fn check_value(location: &Location, raw: &str, decoded: &str, out: &mut Vec<Hit>) {
    if decoded.contains('\0') || raw.contains('\0') {
        out.push(Hit {
            rule: NUL_BYTE,
            location: location.clone(),
            value: decoded.replace('\0', "\\0"),
            detail: None,
        });
    } else if location.part != Part::Header
        && location.part != Part::Body
        && location.part != Part::BodyArg
        && decoded
            .bytes()
            .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        out.push(Hit {
            rule: CONTROL_CHAR,
            location: location.clone(),
            value: decoded.to_owned(),
            detail: None,
        });
    }
    if decoded.contains('\u{FFFD}') && !raw.contains('\u{FFFD}') {
        out.push(Hit {
            rule: INVALID_UTF8,
            location: location.clone(),
            value: decoded.to_owned(),
            detail: None,
        });
    }
}

/// Turns body parser problems into hits.
pub fn check_body(problems: &[BodyProblem], out: &mut Vec<Hit>) {
    for p in problems {
        let (rule, value) = match p {
            BodyProblem::MalformedJson(m)
            | BodyProblem::MalformedMultipart(m)
            | BodyProblem::MalformedXml(m) => (MALFORMED_BODY, m.as_str()),
            BodyProblem::TooDeep => (BODY_TOO_DEEP, ""),
            BodyProblem::TooManyArgs => (TOO_MANY_ARGS, ""),
            BodyProblem::XmlDoctype => (XML_DOCTYPE, "<!DOCTYPE"),
        };
        hit(out, rule, Part::Body, None, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn ids(req: &Request) -> Vec<u32> {
        let mut out = Vec::new();
        check_head(req, &Policy::default().allowed_methods, &mut out);
        out.into_iter().map(|h| h.rule).collect()
    }

    fn browser(method: &str, target: &str) -> Request {
        Request::new(method, target)
            .header("Host", "x")
            .header("User-Agent", "ua")
            .header("Accept", "*/*")
    }

    #[test]
    fn clean_request_has_no_protocol_findings() {
        assert!(ids(&browser("GET", "/a?b=%20c")).is_empty());
    }

    #[test]
    fn protocol_anomalies_are_found() {
        assert_eq!(ids(&browser("TRACK", "/")), vec![METHOD_NOT_ALLOWED]);
        assert_eq!(
            ids(&Request::new("GET", "/")
                .header("User-Agent", "u")
                .header("Accept", "a")),
            vec![MISSING_HOST]
        );
        let smuggle = browser("POST", "/")
            .header("Content-Length", "4")
            .header("Transfer-Encoding", "chunked");
        assert_eq!(ids(&smuggle), vec![CL_TE_CONFLICT]);
        assert_eq!(
            ids(&browser("POST", "/").header("Content-Length", "4x")),
            vec![BAD_CONTENT_LENGTH]
        );
        assert_eq!(ids(&browser("GET", "/?a=%zz")), vec![BAD_PERCENT_ENCODING]);
        assert_eq!(ids(&browser("GET", "/?a=%u0027")), Vec::<u32>::new());
        assert_eq!(ids(&browser("GET", "/?a=%")), vec![BAD_PERCENT_ENCODING]);
        let te = browser("POST", "/").header("Transfer-Encoding", "gzip, chunked");
        assert_eq!(ids(&te), vec![BAD_TRANSFER_ENCODING]);
    }

    #[test]
    fn nul_and_lost_utf8_in_values() {
        let loc = Location::new(Part::QueryArg, Some("f"));
        let mut out = Vec::new();
        check_value(&loc, "a%00", "a\0", &mut out);
        check_value(&loc, "%ff", "\u{FFFD}", &mut out);
        let ids: Vec<_> = out.iter().map(|h| h.rule).collect();
        assert_eq!(ids, vec![NUL_BYTE, INVALID_UTF8]);
    }
}
