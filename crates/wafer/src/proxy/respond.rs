//! The answers Wafer gives itself: block pages and gateway errors, as JSON for
//! API clients (`Accept: application/json`) or a small HTML page for browsers.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body the proxy sends: upstream streams and our own pages.
pub(super) type RespBody = BoxBody<Bytes, BoxError>;

pub(super) fn full(bytes: impl Into<Bytes>) -> RespBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Whether the client asked for JSON rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    let mut json = false;
    for v in headers.get_all(header::ACCEPT) {
        let v = v.to_str().unwrap_or("");
        if v.contains("text/html") {
            return false;
        }
        json |= v.contains("json");
    }
    json
}

/// A refusal (403 by inspection or an IP list, 413 for an oversize body).
pub(super) fn blocked(
    status: StatusCode,
    request_id: &str,
    req_headers: &HeaderMap,
) -> Response<RespBody> {
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "The request body is larger than this site accepts.",
        ),
        _ => (
            "forbidden",
            "This request was blocked by the web application firewall.",
        ),
    };
    page(status, code, message, request_id, req_headers)
}

/// Too many requests: 429 with `Retry-After` in whole seconds (at least 1).
pub(super) fn limited(
    retry_after_us: u64,
    request_id: &str,
    req_headers: &HeaderMap,
) -> Response<RespBody> {
    let mut r = page(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "Too many requests: slow down and try again shortly.",
        request_id,
        req_headers,
    );
    let secs = retry_after_us.div_ceil(1_000_000).max(1);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// A failure on the way to the upstream, or a bad request body.
pub(super) fn error(
    status: StatusCode,
    request_id: &str,
    req_headers: &HeaderMap,
) -> Response<RespBody> {
    let message = match status {
        StatusCode::BAD_GATEWAY => "The application behind this firewall could not be reached.",
        StatusCode::GATEWAY_TIMEOUT => {
            "The application behind this firewall did not answer in time."
        }
        StatusCode::REQUEST_TIMEOUT => "The request body did not arrive in time.",
        StatusCode::BAD_REQUEST => "The request could not be read.",
        StatusCode::MISDIRECTED_REQUEST => "This server does not serve the host name requested.",
        _ => "The firewall could not handle this request.",
    };
    let code = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace(' ', "_");
    page(status, &code, message, request_id, req_headers)
}

fn page(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
    req_headers: &HeaderMap,
) -> Response<RespBody> {
    let (content_type, body) = if wants_json(req_headers) {
        let v = serde_json::json!({
            "error": code,
            "status": status.as_u16(),
            "request_id": request_id,
            "message": message,
        });
        ("application/json", v.to_string())
    } else {
        let title = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}}\
             code{{background:#f3f4f6;padding:.1rem .3rem}}</style></head>\
             <body><h1>{title}</h1><p>{message}</p><p>Request id: <code>{request_id}</code></p></body></html>\n"
        );
        ("text/html; charset=utf-8", html)
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The `X-Request-Id` header is the handler's to set, on every response.
    resp
}
