//! The labelled corpora (`../shared/corpora`, JSON Lines): one request a
//! line, with its label. `wafer eval` measures detection on them and
//! `wafer train` learns normal traffic from their benign lines.
//!
//! Requests are built exactly as `../shared/bench/wafeval.py` sends them over
//! the wire (same Host, User-Agent and Content-Length handling), so offline and
//! over-the-wire numbers are comparable.

use base64::Engine as _;
use serde::Deserialize;
use wafer_engine::Request;
use wafer_engine::request::RawParseError;

/// One labelled request, as in the corpora's README.
#[derive(Debug, Deserialize)]
pub(crate) struct Case {
    pub id: Option<String>,
    pub source: Option<String>,
    pub method: Option<String>,
    pub uri: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_b64: Option<String>,
    pub raw_b64: Option<String>,
    pub label: Option<String>,
    pub class: Option<String>,
    pub pl: Option<u8>,
}

/// Why a case is not a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error("raw_b64 is not base64")]
    RawBase64(#[source] base64::DecodeError),
    #[error("body_b64 is not base64")]
    BodyBase64(#[source] base64::DecodeError),
    #[error(transparent)]
    Raw(#[from] RawParseError),
}

/// Builds the request as wafeval.py puts it on the wire.
pub(crate) fn build_request(c: &Case) -> Result<Request, BuildError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(raw) = &c.raw_b64 {
        let bytes = b64.decode(raw).map_err(BuildError::RawBase64)?;
        return Ok(Request::parse_raw(&bytes)?);
    }
    let body = match (&c.body_b64, &c.body) {
        (Some(b), _) => b64.decode(b).map_err(BuildError::BodyBase64)?,
        (None, Some(b)) => b.as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    let method = c.method.clone().unwrap_or_else(|| "GET".into());
    let mut uri = c.uri.clone().unwrap_or_else(|| "/".into());
    if !uri.starts_with('/') && !uri.starts_with("http") {
        uri.insert(0, '/');
    }
    let mut req = Request::new(&method, &uri);
    let mut seen_ua = false;
    for (k, v) in &c.headers {
        let lk = k.to_ascii_lowercase();
        match lk.as_str() {
            "content-length" | "connection" | "transfer-encoding" => continue,
            "host" => req.headers.push((k.clone(), "127.0.0.1:8080".into())),
            _ => {
                seen_ua |= lk == "user-agent";
                req.headers.push((k.clone(), v.clone()));
            }
        }
    }
    if req.header_value("host").is_none() {
        req.headers.push(("Host".into(), "127.0.0.1:8080".into()));
    }
    if !seen_ua {
        req.headers.push((
            "User-Agent".into(),
            "Mozilla/5.0 (X11; Linux x86_64) wafeval/1".into(),
        ));
    }
    if !body.is_empty()
        || matches!(
            method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        )
    {
        req.headers
            .push(("Content-Length".into(), body.len().to_string()));
    }
    req.headers.push(("Connection".into(), "close".into()));
    req.body = body;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_built_as_wafeval_sends_them() {
        let c: Case = serde_json::from_str(
            r#"{"method":"POST","uri":"post","headers":[["Host","x"],["Content-Length","99"],["User-Agent","u"]],"body":"a=1","label":"attack"}"#,
        )
        .unwrap();
        let r = build_request(&c).unwrap();
        assert_eq!(r.target, "/post");
        assert_eq!(r.header_value("host"), Some("127.0.0.1:8080"));
        assert_eq!(r.header_value("content-length"), Some("3"));
        assert_eq!(r.header_value("user-agent"), Some("u"));
        assert_eq!(r.body, b"a=1");
    }
}
