//! Who may use the admin listener: whoever shows the admin token, as
//! `Authorization: Bearer TOKEN`, or a session cookie from the login page (or
//! from opening a link with `?token=TOKEN` once, which is what `wafer run`
//! prints). Sessions live in memory: a restart logs everyone out, never in.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

use super::AdminState;

pub const COOKIE: &str = "wafer_session";
const SESSION_MS: u64 = 12 * 3_600_000;
const MAX_SESSIONS: usize = 10_000;

pub struct Auth {
    token: String,
    sessions: Mutex<HashMap<String, u64>>,
}

/// Equal without leaking where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl Auth {
    pub fn new(token: String) -> Auth {
        Auth {
            token,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub fn token_matches(&self, given: &str) -> bool {
        same(given.trim().as_bytes(), self.token.as_bytes())
    }

    pub fn new_session(&self) -> String {
        let id = random_hex(24);
        let now = crate::clock::now_ms();
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.retain(|_, exp| *exp > now);
        if s.len() >= MAX_SESSIONS {
            s.clear();
        }
        s.insert(id.clone(), now + SESSION_MS);
        id
    }

    pub fn end_session(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    fn session_valid(&self, id: &str) -> bool {
        let now = crate::clock::now_ms();
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .is_some_and(|exp| *exp > now)
    }

    /// Whether the request carries the token or a live session.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|t| self.token_matches(t)) {
            return true;
        }
        session_cookie(headers).is_some_and(|s| self.session_valid(&s))
    }
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

pub fn set_cookie(session: &str) -> String {
    format!(
        "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_MS / 1000
    )
}

/// The admin token: configured, or kept in `data_dir/admin-token`, or made
/// there now. Returns it and whether it was just created (then it is printed).
pub fn load_or_create_token(
    configured: Option<String>,
    data_dir: &Path,
) -> std::io::Result<(String, bool)> {
    if let Some(t) = configured {
        return Ok((t, false));
    }
    let path = data_dir.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().len() >= 16 => return Ok((t.trim().to_owned(), false)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let token = random_hex(24);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path)?;
    writeln!(f, "{token}")?;
    Ok((token, true))
}

/// Middleware: lets authorized requests through. A browser opening a page with
/// `?token=` gets a session cookie and the same address without the token; a
/// browser without a session goes to the login page; anything else gets 401.
pub async fn require(State(state): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    if state.auth.allows(req.headers()) {
        return next.run(req).await;
    }
    let uri = req.uri().clone();
    if let Some(q) = uri.query() {
        let mut token = None;
        let mut rest = Vec::new();
        for (k, v) in super::api::pairs(Some(q)).unwrap_or_default() {
            if k == "token" {
                token = Some(v);
            } else {
                rest.push((k, v));
            }
        }
        if let Some(t) = token {
            if state.auth.token_matches(&t) && req.method() == axum::http::Method::GET {
                let session = state.auth.new_session();
                let clean = if rest.is_empty() {
                    uri.path().to_owned()
                } else {
                    let q: Vec<String> = rest
                        .iter()
                        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                        .collect();
                    format!("{}?{}", uri.path(), q.join("&"))
                };
                return (
                    [(header::SET_COOKIE, set_cookie(&session))],
                    Redirect::to(&clean),
                )
                    .into_response();
            }
            return super::api::ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token")
                .into_response();
        }
    }
    let wants_html = req.method() == axum::http::Method::GET
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        return Redirect::to(&format!("/login?next={}", encode(uri.path()))).into_response();
    }
    let mut resp = super::api::ApiError::new(
        StatusCode::UNAUTHORIZED,
        "missing or wrong admin token: send Authorization: Bearer TOKEN, or log in at /login",
    )
    .into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"wafer-admin\""),
    );
    resp
}

pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// Where a login may send the browser afterwards: only our own paths.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_sessions_and_cookies() {
        let a = Auth::new("0123456789abcdef0123".into());
        assert!(a.token_matches("0123456789abcdef0123"));
        assert!(!a.token_matches("0123456789abcdef012"));
        let mut h = HeaderMap::new();
        assert!(!a.allows(&h));
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef0123".parse().unwrap(),
        );
        assert!(a.allows(&h));
        let s = a.new_session();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; {COOKIE}={s}").parse().unwrap(),
        );
        assert!(a.allows(&h));
        a.end_session(&s);
        assert!(!a.allows(&h));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/dashboard")), "/dashboard");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn token_file_is_made_once() {
        let d = tempfile::tempdir().unwrap();
        let (t1, made) = load_or_create_token(None, d.path()).unwrap();
        assert!(made && t1.len() == 48);
        let (t2, made) = load_or_create_token(None, d.path()).unwrap();
        assert_eq!((t2, made), (t1, false));
        assert_eq!(
            load_or_create_token(Some("given-token-123456".into()), d.path())
                .unwrap()
                .0,
            "given-token-123456"
        );
    }
}
