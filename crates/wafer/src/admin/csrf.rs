//! Cross-site request forgery. A session cookie is ambient authority: the
//! browser attaches it to requests that other pages make. `SameSite=Strict`
//! does not help against a page on another port of the same host (ports are
//! the same site), so a write that rides on the cookie must prove it comes
//! from the dashboard's own origin:
//!
//! - a body, if any, is `application/json`: an HTML form or a `no-cors` fetch
//!   cannot send that type without a CORS preflight, which we never grant;
//! - `Origin` names this listener (host and port, as the request's own
//!   `Host` gives them), or, without `Origin`, `Sec-Fetch-Site` says
//!   `same-origin`. The listener speaks plain HTTP, but an operator may put
//!   a TLS-terminating proxy in front of it, whose pages have an `https`
//!   origin; so either scheme is taken, each with its default port when
//!   the `Host` names none. A page of the other scheme on the very same
//!   host and port cannot exist beside this listener.
//!
//! Requests with the bearer token are not checked: a browser never adds that
//! header on its own, so there is nothing ambient to forge.
//!
//! The login form has no session yet, so it carries its own token: an HMAC,
//! under a key made at start, of a random value kept in a short-lived cookie
//! on `/login`. Another origin can neither read the field nor compute it.

use axum::http::{HeaderMap, Method, Uri, header};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The login form's cookie, sent back only to `/login`.
pub(crate) const LOGIN_COOKIE: &str = "wafer_login";
/// How long a login form stays valid.
pub(crate) const LOGIN_FORM_MS: u64 = 3_600_000;

/// Why a cookie-authenticated write was refused (the 403's message).
pub(crate) fn check_write(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), &'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if has_body(headers) && !is_json(headers) {
        return Err(
            "refused: a change made with the session cookie must send Content-Type: application/json",
        );
    }
    same_origin(uri, headers)
}

/// `Origin` (or, without it, `Sec-Fetch-Site`) says the request comes from
/// this listener's own pages.
pub(crate) fn same_origin(uri: &Uri, headers: &HeaderMap) -> Result<(), &'static str> {
    // `Origin: null` says nothing (a privacy setting or a sandboxed frame):
    // judged like no Origin, by Sec-Fetch-Site, which pages cannot set.
    let origin = headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null");
    match origin {
        Some(origin) => {
            let own = own_authority(uri, headers);
            match (origin.to_str().ok().and_then(parse_origin), own) {
                (Some(o), Some(own)) if matches_own(&o, &own) => Ok(()),
                _ => Err("refused: cross-origin change (Origin is not this admin listener)"),
            }
        }
        None => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") => Ok(()),
            _ => Err(
                "refused: a change made with the session cookie must come from the dashboard \
                 (no Origin or Origin null, and Sec-Fetch-Site is not same-origin); API clients send \
                 Authorization: Bearer TOKEN",
            ),
        },
    }
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

/// (host, port) of an authority, the host lowercased, the port as given.
fn host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let a: axum::http::uri::Authority = authority.parse().ok()?;
    if authority.contains('@') {
        return None;
    }
    Some((a.host().to_ascii_lowercase(), a.port_u16()))
}

/// This listener as the client addressed it: `Host`, or the h2 `:authority`.
fn own_authority(uri: &Uri, headers: &HeaderMap) -> Option<(String, Option<u16>)> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))?;
    host_port(host)
}

/// (host, port) of an `http` or `https` origin, the port defaulted by scheme.
fn parse_origin(origin: &str) -> Option<(String, u16)> {
    let (rest, default_port) = if let Some(rest) = origin.strip_prefix("http://") {
        (rest, 80)
    } else {
        (origin.strip_prefix("https://")?, 443)
    };
    // An origin is scheme://host[:port] and nothing else.
    if rest.is_empty() || rest.contains(['/', '?', '#']) {
        return None;
    }
    let (host, port) = host_port(rest)?;
    Some((host, port.unwrap_or(default_port)))
}

/// The origin's port must be the one the `Host` names; a `Host` without a
/// port was reached on the default port of the origin's own scheme.
fn matches_own((host, port): &(String, u16), (own_host, own_port): &(String, Option<u16>)) -> bool {
    host == own_host
        && match own_port {
            Some(own) => own == port,
            None => *port == 80 || *port == 443,
        }
}

/// Signs and checks the login form's token.
pub(crate) struct LoginForms {
    key: [u8; 32],
}

impl LoginForms {
    pub(crate) fn new() -> LoginForms {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        LoginForms { key }
    }

    fn mac(&self, cookie: &str) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        m.update(b"wafer login form\0");
        m.update(cookie.as_bytes());
        m
    }

    /// A new cookie value: when it was made, and a random part.
    pub(crate) fn new_cookie(&self, now_ms: u64) -> String {
        use rand::RngCore;
        let mut r = [0u8; 16];
        rand::rng().fill_bytes(&mut r);
        let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
        format!("{now_ms:x}.{hex}")
    }

    /// Whether a cookie value is one of ours and still fresh.
    pub(crate) fn cookie_fresh(&self, cookie: &str, now_ms: u64) -> bool {
        let Some((ms, random)) = cookie.split_once('.') else {
            return false;
        };
        if random.len() != 32 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        u64::from_str_radix(ms, 16).is_ok_and(|made| {
            made <= now_ms.saturating_add(60_000) && now_ms.saturating_sub(made) <= LOGIN_FORM_MS
        })
    }

    /// The form field that goes with `cookie`.
    pub(crate) fn field(&self, cookie: &str) -> String {
        self.mac(cookie)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `field` was made by [`Self::field`] for `cookie`, and is fresh.
    pub(crate) fn valid(&self, cookie: &str, field: &str, now_ms: u64) -> bool {
        if !self.cookie_fresh(cookie, now_ms) || field.len() != 64 {
            return false;
        }
        let Some(tag) = (0..32)
            .map(|i| u8::from_str_radix(field.get(i * 2..i * 2 + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        self.mac(cookie).verify_slice(&tag).is_ok()
    }
}

impl Default for LoginForms {
    fn default() -> Self {
        Self::new()
    }
}

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn writes_need_json_and_the_same_origin() {
        let uri: Uri = "/api/bans".parse().unwrap();
        let post = Method::POST;
        let ok = [
            ("host", "127.0.0.1:9443"),
            ("origin", "http://127.0.0.1:9443"),
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", "2"),
        ];
        assert!(check_write(&post, &uri, &req(&ok)).is_ok());
        // Reads are not checked.
        assert!(check_write(&Method::GET, &uri, &req(&[])).is_ok());
        // No body: no type needed (DELETE, logout).
        assert!(
            check_write(
                &Method::DELETE,
                &uri,
                &req(&[
                    ("host", "127.0.0.1:9443"),
                    ("origin", "http://127.0.0.1:9443")
                ])
            )
            .is_ok()
        );
        // Host names compare without case; port 80 is the default.
        assert!(
            same_origin(
                &uri,
                &req(&[
                    ("host", "Admin.Example"),
                    ("origin", "http://admin.example:80")
                ])
            )
            .is_ok()
        );
        // A TLS-terminating proxy in front: the pages' origin is https.
        for (host, origin) in [
            ("admin.example", "https://admin.example"),
            ("admin.example", "https://admin.example:443"),
            ("admin.example:8443", "https://admin.example:8443"),
            ("127.0.0.1:9443", "https://127.0.0.1:9443"),
        ] {
            assert!(
                same_origin(&uri, &req(&[("host", host), ("origin", origin)])).is_ok(),
                "{host} {origin}"
            );
        }
        for bad in [
            vec![
                ("host", "127.0.0.1:9443"),
                ("origin", "http://127.0.0.1:8000"),
            ],
            vec![
                ("host", "127.0.0.1:9443"),
                ("origin", "https://127.0.0.1:8443"),
            ],
            // Behind a TLS proxy, the Host names no port: only a default one.
            vec![
                ("host", "admin.example"),
                ("origin", "https://admin.example:8443"),
            ],
            vec![
                ("host", "admin.example"),
                ("origin", "https://evil.example"),
            ],
            vec![("host", "127.0.0.1:9443"), ("origin", "null")],
            vec![
                ("host", "127.0.0.1:9443"),
                ("origin", "http://127.0.0.1:9443/x"),
            ],
            vec![
                ("host", "127.0.0.1:9443"),
                ("origin", "http://evil@127.0.0.1:9443"),
            ],
            vec![("origin", "http://127.0.0.1:9443")],
            vec![("host", "127.0.0.1:9443")],
            vec![("host", "127.0.0.1:9443"), ("sec-fetch-site", "same-site")],
            vec![("host", "127.0.0.1:9443"), ("sec-fetch-site", "cross-site")],
        ] {
            assert!(same_origin(&uri, &req(&bad)).is_err(), "{bad:?}");
        }
        assert!(
            same_origin(
                &uri,
                &req(&[
                    ("host", "127.0.0.1:9443"),
                    ("sec-fetch-site", "same-origin")
                ])
            )
            .is_ok()
        );
        let null_same = [
            ("host", "127.0.0.1:9443"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert!(same_origin(&uri, &req(&null_same)).is_ok());
        let null_site = [
            ("host", "127.0.0.1:9443"),
            ("origin", "null"),
            ("sec-fetch-site", "same-site"),
        ];
        assert!(same_origin(&uri, &req(&null_site)).is_err());
        for ctype in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
        ] {
            let h = req(&[
                ("host", "127.0.0.1:9443"),
                ("origin", "http://127.0.0.1:9443"),
                ("content-type", ctype),
                ("content-length", "5"),
            ]);
            assert!(check_write(&post, &uri, &h).is_err(), "{ctype}");
        }
        let chunked_untyped = req(&[
            ("host", "127.0.0.1:9443"),
            ("origin", "http://127.0.0.1:9443"),
            ("transfer-encoding", "chunked"),
        ]);
        assert!(check_write(&post, &uri, &chunked_untyped).is_err());
    }

    #[test]
    fn login_form_tokens_are_bound_to_their_cookie_and_expire() {
        let f = LoginForms::new();
        let now = 1_700_000_000_000;
        let c = f.new_cookie(now);
        let field = f.field(&c);
        assert!(f.valid(&c, &field, now));
        assert!(f.valid(&c, &field, now + LOGIN_FORM_MS));
        assert!(!f.valid(&c, &field, now + LOGIN_FORM_MS + 1));
        let other = f.new_cookie(now);
        assert!(!f.valid(&other, &field, now), "another cookie");
        assert!(!f.valid(&c, &f.field(&other), now));
        assert!(!f.valid(&c, "", now));
        assert!(!f.valid(&c, &"0".repeat(64), now));
        assert!(!f.valid("junk", &f.field("junk"), now));
        // Another process (another key) cannot make them.
        assert!(!LoginForms::new().valid(&c, &field, now));
        // Multi-byte text where hex is expected is refused, not a panic.
        assert!(!f.valid(&c, &"é".repeat(32), now));
    }
}
