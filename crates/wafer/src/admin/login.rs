//! The login page, the login form's answer, and logout. The form carries a
//! CSRF token bound to a cookie ([`super::csrf::LoginForms`]); wrong tokens
//! are throttled per client; afterwards the browser goes back where it was
//! going, but only to a path on this listener ([`safe_next`]).

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AdminState;
use super::auth;
use super::csrf::{self, LOGIN_COOKIE, LOGIN_FORM_MS};

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
    error: Option<String>,
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page of the login flow, with the dashboard's security headers.
fn page(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    super::dashboard::security_headers(r.headers_mut());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const HEAD: &str = "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
                    <title>Wafer: log in</title><h1>Wafer admin</h1>";

pub(crate) async fn login_page(
    State(s): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let error = if q.error.is_some() {
        "<p role=alert>That token is not right.</p>"
    } else {
        ""
    };
    // Keep a fresh form cookie, so that two open login tabs both work.
    let now = crate::clock::now_ms();
    let forms = &s.auth.login_forms;
    let cookie = csrf::cookie(&headers, LOGIN_COOKIE)
        .filter(|c| forms.cookie_fresh(c, now))
        .map_or_else(|| forms.new_cookie(now), str::to_owned);
    let body = format!(
        "{HEAD}{error}\
         <form method=post action=/login><input type=hidden name=next value=\"{}\">\
         <input type=hidden name=csrf value=\"{}\">\
         <label>Admin token <input name=token type=password autocomplete=current-password autofocus required></label>\
         <button>Log in</button></form>\
         <p>The token is printed when Wafer first starts, and kept in the data directory's <code>admin-token</code> file.</p>",
        escape_html(&next),
        forms.field(&cookie),
    );
    let mut r = page(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={cookie}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={}",
        LOGIN_FORM_MS / 1000
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
    csrf: Option<String>,
}

fn refused(next: &str, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        format!(
            "{HEAD}<p role=alert>{}</p><p><a href=\"/login?next={}\">Back to the login page</a></p>",
            escape_html(why),
            escape_html(&auth::encode(next))
        ),
    )
}

/// The form's answer: checked for origin and CSRF token, then throttled, then
/// the token itself.
pub(crate) async fn login(State(s): State<Arc<AdminState>>, req: Request) -> Response {
    let ip = auth::client_ip(&req);
    let (parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return refused("/", "The login form must be sent as a form.");
    }
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024).await else {
        return refused("/", "The login form is too large.");
    };
    let Ok(f) = serde_urlencoded::from_bytes::<LoginForm>(&bytes) else {
        return refused("/", "The login form is not valid.");
    };
    let next = safe_next(f.next.as_deref());
    if parts.headers.contains_key(header::ORIGIN)
        && csrf::same_origin(&parts.uri, &parts.headers).is_err()
    {
        return refused(&next, "This login form was sent from another site.");
    }
    let now = crate::clock::now_ms();
    let form_ok = match (csrf::cookie(&parts.headers, LOGIN_COOKIE), &f.csrf) {
        (Some(c), Some(field)) => s.auth.login_forms.valid(c, field, now),
        _ => false,
    };
    if !form_ok {
        return refused(
            &next,
            "This login form has expired or did not come from this page: open the login page again.",
        );
    }
    if let Err(wait) = s.auth.throttle.check(ip, now) {
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{HEAD}<p role=alert>Too many wrong tokens from this address: try again in {wait} s.</p>\
                 <p><a href=\"/login?next={}\">Back to the login page</a></p>",
                escape_html(&auth::encode(&next))
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    if !s.auth.token_matches(&f.token) {
        s.auth.throttle.failure(ip, now);
        return Redirect::to(&format!("/login?error=1&next={}", auth::encode(&next)))
            .into_response();
    }
    s.auth.throttle.success(ip);
    let session = s.auth.new_session();
    (
        [(header::SET_COOKIE, auth::set_cookie(&session))],
        Redirect::to(&next),
    )
        .into_response()
}

pub(crate) async fn logout(State(s): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    if let Some(session) = auth::session_cookie(&headers) {
        s.auth.end_session(&session);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{}=; Path=/; Max-Age=0", auth::COOKIE),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

/// Where a login may send the browser afterwards: a path on this listener.
/// Anything else goes to `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// One leading `/` and not `//` or `/\` (both mean "another host" to a
/// browser), no backslash, no control character or whitespace (browsers drop
/// tabs and newlines, so `/\t/evil` is `//evil`). Checked again after each
/// round of percent-decoding, in case something downstream decodes.
fn is_local_path(n: &str) -> bool {
    if n.len() > 4096 {
        return false;
    }
    let mut cur = n.to_owned();
    for _ in 0..4 {
        let bad_char = cur
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
        if bad_char || !cur.starts_with('/') || cur[1..].starts_with('/') {
            return false;
        }
        let decoded = percent_decode(&cur);
        if decoded == cur {
            return true;
        }
        cur = decoded;
    }
    // Still changing after four rounds: nothing a real link does.
    false
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for good in [
            "/",
            "/dashboard",
            "/dashboard/",
            "/dashboard/#/search?ip=127.0.0.1&from=-1h",
            "/api/stats?top=3",
            "/a%2Fb",
        ] {
            assert_eq!(safe_next(Some(good)), good, "{good:?}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "\t//evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%252F/evil.example",
            "/%25252F%25252Fevil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            " /dashboard",
            "/dash board",
            "/\n/evil.example",
            "/%0a/evil.example",
            "/%0D%0ALocation:%20//evil",
            "/\u{0}",
            "/\u{85}/evil",
            "/\u{3000}/evil",
            "/%E3%80%80/evil",
            "/%%32%46/evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(5000)))), "/");
    }
}
