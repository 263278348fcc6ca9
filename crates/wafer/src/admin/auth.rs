//! Who may use the admin listener: whoever shows the admin token, as
//! `Authorization: Bearer TOKEN`, or a session cookie from the login page (or
//! from opening a link with `?token=TOKEN` once, which is what `wafer run`
//! prints). Sessions live in memory: a restart logs everyone out, never in.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

use super::AdminState;
use super::csrf::LoginForms;
use super::throttle::Throttle;

pub(crate) const COOKIE: &str = "wafer_session";
const SESSION_MS: u64 = 12 * 3_600_000;
const MAX_SESSIONS: usize = 10_000;

pub(crate) struct Auth {
    token: String,
    sessions: Mutex<HashMap<String, u64>>,
    /// Wrong tokens per client (login form, bearer header, `?token=`).
    pub throttle: Arc<Throttle>,
    /// The login form's CSRF tokens.
    pub login_forms: LoginForms,
}

/// What a request shows to prove who it is.
pub(crate) enum Credential {
    /// The right bearer token.
    Bearer,
    /// A bearer token, but not the right one.
    WrongBearer,
    /// A live session cookie.
    Session,
    /// Nothing that works.
    None,
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

/// The token of an `Authorization: Bearer TOKEN` header. The scheme name is
/// case-insensitive (RFC 9110 section 11.1): `bearer` and `BEARER` are the same.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_matches(' '))
}

impl Auth {
    pub(crate) fn new(token: String) -> Auth {
        Auth {
            token,
            sessions: Mutex::new(HashMap::new()),
            throttle: Arc::new(Throttle::default()),
            login_forms: LoginForms::new(),
        }
    }

    pub(crate) fn token_matches(&self, given: &str) -> bool {
        same(given.trim().as_bytes(), self.token.as_bytes())
    }

    pub(crate) fn new_session(&self) -> String {
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

    pub(crate) fn end_session(&self, id: &str) {
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

    /// What the request carries. A bearer header is judged on its own: a
    /// wrong one is not rescued by a cookie.
    pub(crate) fn credential(&self, headers: &HeaderMap) -> Credential {
        if let Some(t) = bearer(headers) {
            return if self.token_matches(t) {
                Credential::Bearer
            } else {
                Credential::WrongBearer
            };
        }
        if session_cookie(headers).is_some_and(|s| self.session_valid(&s)) {
            Credential::Session
        } else {
            Credential::None
        }
    }

    /// Whether the request carries the token or a live session.
    #[cfg(test)]
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        matches!(
            self.credential(headers),
            Credential::Bearer | Credential::Session
        )
    }
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

pub(crate) fn set_cookie(session: &str) -> String {
    format!(
        "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_MS / 1000
    )
}

/// The admin token: configured, or kept in `data_dir/admin-token`, or made
/// there now. Returns it and whether it was just created (then it is printed).
pub(crate) fn load_or_create_token(
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
    crate::durable::write_atomic_private(
        &path,
        &path.with_extension("new"),
        format!("{token}\n").as_bytes(),
    )?;
    Ok((token, true))
}

/// The client's address, as the listener saw it. Without it (a listener
/// set up without connect info) all clients share one throttle: stricter,
/// never looser.
pub(crate) fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), |c| c.0.ip())
}

/// 429 with Retry-After: the client tried too many wrong tokens.
pub(crate) fn too_many(retry_after_s: u64) -> Response {
    let mut r = super::api::ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many wrong admin tokens from this address: try again in {retry_after_s} s"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    r
}

/// Why a token a client tried was not accepted.
enum Refusal {
    /// The client must wait this many seconds (429).
    Throttled(u64),
    /// The wrong token (401).
    Wrong,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Throttled(wait) => too_many(wait),
            Refusal::Wrong => {
                super::api::ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token")
                    .into_response()
            }
        }
    }
}

/// Checks a token a client tried, throttled per client.
fn try_token(state: &AdminState, ip: IpAddr, token: &str) -> Result<(), Refusal> {
    let now = crate::clock::now_ms();
    if let Err(wait) = state.auth.throttle.check(ip, now) {
        return Err(Refusal::Throttled(wait));
    }
    if state.auth.token_matches(token) {
        state.auth.throttle.success(ip);
        Ok(())
    } else {
        state.auth.throttle.failure(ip, now);
        Err(Refusal::Wrong)
    }
}

/// Middleware: lets authorized requests through. A browser opening a page with
/// `?token=` gets a session cookie and the same address without the token; a
/// browser without a session goes to the login page; anything else gets 401.
/// Changes made with the session cookie must pass the CSRF check
/// ([`super::csrf`]); wrong tokens are throttled per client ([`Throttle`]).
pub(crate) async fn require(
    State(state): State<Arc<AdminState>>,
    req: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&req);
    match state.auth.credential(req.headers()) {
        Credential::Session => {
            return match super::csrf::check_write(req.method(), req.uri(), req.headers()) {
                Ok(()) => next.run(req).await,
                Err(why) => super::api::ApiError::new(StatusCode::FORBIDDEN, why).into_response(),
            };
        }
        Credential::Bearer | Credential::WrongBearer => {
            let token = bearer(req.headers()).unwrap_or_default().to_owned();
            return match try_token(&state, ip, &token) {
                Ok(()) => next.run(req).await,
                Err(r) => r.into_response(),
            };
        }
        Credential::None => {}
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
            if let Err(r) = try_token(&state, ip, &t) {
                return r.into_response();
            }
            if req.method() != axum::http::Method::GET {
                return super::api::ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "?token= logs in on GET only: send Authorization: Bearer TOKEN",
                )
                .into_response();
            }
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

pub(crate) fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
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
    fn the_bearer_scheme_is_case_insensitive() {
        let a = Auth::new("0123456789abcdef0123".into());
        for v in [
            "Bearer 0123456789abcdef0123",
            "bearer 0123456789abcdef0123",
            "BEARER 0123456789abcdef0123",
            "bEaReR  0123456789abcdef0123",
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            assert!(a.allows(&h), "{v}");
        }
        for v in [
            "Basic 0123456789abcdef0123",
            "Bearer0123456789abcdef0123",
            "Bearer",
            "Bearer x",
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            assert!(!a.allows(&h), "{v}");
        }
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
