//! Issue 15, the admin surface as an attacker sees it, over real loopback
//! HTTP against a whole node: the login form's CSRF token and headers, where
//! a login may redirect, the per-client throttle on wrong tokens, the CSRF
//! check on cookie-authenticated writes, the bearer scheme's case, and the
//! policy bounds through the API. (Real Chromium: `browser.rs`.)

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;

use crate::admin::Node;
use crate::harness::{empty, send};

const TOKEN: &str = "test-admin-token-0123456789";

/// A login form as the page gives it: the `wafer_login` cookie pair and the
/// form's `csrf` field.
pub(crate) async fn login_form(node: &Node) -> (String, String) {
    let (parts, body) = send(Request::get(node.admin("/login")).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    let cookie = parts.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = String::from_utf8_lossy(&body);
    let csrf = html
        .split("name=csrf value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_owned();
    (cookie, csrf)
}

fn login_post(node: &Node, cookie: Option<&str>, body: String) -> Request<Full<Bytes>> {
    let mut b = Request::post(node.admin("/login"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Full::new(Bytes::from(body))).unwrap()
}

fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .unwrap()
        .trim_start_matches('=')
        .to_owned()
}

/// Logs in through the form; the session cookie pair.
pub(crate) async fn session(node: &Node) -> String {
    let (cookie, csrf) = login_form(node).await;
    let (parts, _) = send(login_post(
        node,
        Some(&cookie),
        format!("token={TOKEN}&csrf={csrf}"),
    ))
    .await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    parts.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token_and_has_the_dashboard_headers() {
    let node = Node::start(None).await;
    let (parts, _) = send(Request::get(node.admin("/login")).body(empty()).unwrap()).await;
    let h = &parts.headers;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    let set = h["set-cookie"].to_str().unwrap();
    assert!(
        set.starts_with("wafer_login=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/login"),
        "{set}"
    );

    let (cookie, csrf) = login_form(&node).await;
    let (other_cookie, other_csrf) = login_form(&node).await;
    let good = format!("token={TOKEN}&csrf={csrf}");
    // Without the field, without the cookie, with another form's pair mixed,
    // or from another origin: refused, and no session.
    for (cookie, body, origin) in [
        (Some(cookie.as_str()), format!("token={TOKEN}"), None),
        (None, good.clone(), None),
        (Some(other_cookie.as_str()), good.clone(), None),
        (
            Some(cookie.as_str()),
            format!("token={TOKEN}&csrf={other_csrf}"),
            None,
        ),
        (
            Some(cookie.as_str()),
            format!("token={TOKEN}&csrf={}", "0".repeat(64)),
            None,
        ),
        (
            Some(cookie.as_str()),
            good.clone(),
            Some("http://127.0.0.1:1"),
        ),
        (Some(cookie.as_str()), good.clone(), Some("null")),
    ] {
        let mut req = login_post(&node, cookie, body.clone());
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        let (parts, page) = send(req).await;
        assert_eq!(
            parts.status,
            StatusCode::FORBIDDEN,
            "{cookie:?} {body} {origin:?}"
        );
        assert!(parts.headers.get("set-cookie").is_none());
        assert_eq!(parts.headers["x-frame-options"], "DENY");
        assert!(String::from_utf8_lossy(&page).contains("login page"));
    }
    // Both halves, from this origin: a session.
    let mut req = login_post(&node, Some(&cookie), good);
    let origin = node.admin("");
    req.headers_mut()
        .insert("origin", origin.trim_end_matches('/').parse().unwrap());
    let (parts, _) = send(req).await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    assert!(
        parts.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("wafer_session=")
    );
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_login_redirects_only_to_a_path_on_this_listener() {
    let node = Node::start(None).await;
    let (cookie, csrf) = login_form(&node).await;
    let cases = [
        ("/dashboard/", "/dashboard/"),
        ("/dashboard/#/bans", "/dashboard/#/bans"),
        ("/%09/evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("\t//evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/%5C/evil.example", "/"),
        ("/%252F%252Fevil.example", "/"),
        ("https://evil.example", "/"),
        ("/\r\nSet-Cookie:x=1", "/"),
    ];
    for (next, want) in cases {
        let (parts, _) = send(login_post(
            &node,
            Some(&cookie),
            format!("token={TOKEN}&csrf={csrf}&next={}", encode(next)),
        ))
        .await;
        assert_eq!(parts.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(parts.headers["location"], want, "{next:?}");
    }
    // The page itself does not carry a bad `next` into its form either.
    let (_, body) = send(
        Request::get(node.admin("/login?next=%2F%09%2Fevil.example"))
            .body(empty())
            .unwrap(),
    )
    .await;
    assert!(String::from_utf8_lossy(&body).contains("name=next value=\"/\""));
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn wrong_tokens_are_throttled_per_client_and_sessions_keep_working() {
    let node = Node::start(None).await;
    let cookie = session(&node).await;
    let (form_cookie, csrf) = login_form(&node).await;
    // 1,000 wrong tokens on the form, as fast as one connection at a time goes.
    let (mut wrong, mut throttled) = (0, 0);
    let mut retry_after = None;
    for i in 0..1_000 {
        let (parts, _) = send(login_post(
            &node,
            Some(&form_cookie),
            format!("token=wrong-{i}&csrf={csrf}"),
        ))
        .await;
        match parts.status {
            StatusCode::SEE_OTHER => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled += 1;
                retry_after = Some(parts.headers["retry-after"].to_str().unwrap().to_owned());
            }
            s => panic!("attempt {i}: {s}"),
        }
    }
    // Five free, then one more each time a doubling backoff has passed: a
    // handful at most however long the loop took.
    assert!((5..=16).contains(&wrong), "{wrong} wrong tokens were tried");
    assert_eq!(wrong + throttled, 1_000);
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    // The right token is refused too while this client waits, on every path.
    let (parts, _) = send(login_post(
        &node,
        Some(&form_cookie),
        format!("token={TOKEN}&csrf={csrf}"),
    ))
    .await;
    assert_eq!(parts.status, StatusCode::TOO_MANY_REQUESTS);
    let (parts, body) = send(
        Request::get(node.admin("/api/info"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(parts.headers.contains_key("retry-after"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("too many"), "{v}");
    let (parts, _) = send(
        Request::get(node.admin(&format!("/api/info?token={TOKEN}")))
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::TOO_MANY_REQUESTS);
    // A session made before goes on working: the throttle is on guessing.
    let (parts, _) = send(
        Request::get(node.admin("/api/info"))
            .header("cookie", &cookie)
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn wrong_bearer_tokens_and_token_links_count_too() {
    let node = Node::start(None).await;
    let mut statuses = Vec::new();
    for i in 0..20 {
        let req = if i % 2 == 0 {
            Request::get(node.admin("/api/info"))
                .header("authorization", "Bearer wrong-token-0123456789")
                .body(empty())
                .unwrap()
        } else {
            Request::get(node.admin("/api/info?token=wrong-token-0123456789"))
                .body(empty())
                .unwrap()
        };
        statuses.push(send(req).await.0.status.as_u16());
    }
    assert_eq!(&statuses[..5], [401; 5], "{statuses:?}");
    assert!(
        statuses[5..].iter().filter(|s| **s == 429).count() >= 13,
        "{statuses:?}"
    );
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let node = Node::start(None).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (parts, _) = send(
            Request::get(node.admin("/api/info"))
                .header("authorization", format!("{scheme} {TOKEN}"))
                .body(empty())
                .unwrap(),
        )
        .await;
        assert_eq!(parts.status, StatusCode::OK, "{scheme}");
    }
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn cookie_writes_need_json_and_this_origin() {
    let node = Node::start(None).await;
    let cookie = session(&node).await;
    let own = node.admin("").trim_end_matches('/').to_owned();
    let port = node.running.admin_addr.unwrap().port();
    let other = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let (_, before) = node.api("/api/policy").await;
    let write = |method: &str,
                 path: &str,
                 ctype: Option<&str>,
                 origin: Option<&str>,
                 site: Option<&str>,
                 body: &str| {
        let mut b = Request::builder()
            .method(method)
            .uri(node.admin(path))
            .header("cookie", &cookie);
        if let Some(c) = ctype {
            b = b.header("content-type", c);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if let Some(s) = site {
            b = b.header("sec-fetch-site", s);
        }
        b.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
    };
    let allow_all = r#"{"list":"allow","cidr":"0.0.0.0/0"}"#;
    let json = Some("application/json");
    for (what, req) in [
        (
            "text/plain, same origin",
            write(
                "POST",
                "/api/policy/ip",
                Some("text/plain"),
                Some(&own),
                None,
                allow_all,
            ),
        ),
        (
            "form, same origin",
            write(
                "POST",
                "/api/policy/ip",
                Some("application/x-www-form-urlencoded"),
                Some(&own),
                None,
                allow_all,
            ),
        ),
        (
            "no type, same origin",
            write("POST", "/api/policy/ip", None, Some(&own), None, allow_all),
        ),
        (
            "json, another port",
            write(
                "POST",
                "/api/policy/ip",
                json,
                Some(&other),
                None,
                allow_all,
            ),
        ),
        (
            "json, origin null",
            write(
                "POST",
                "/api/policy/ip",
                json,
                Some("null"),
                None,
                allow_all,
            ),
        ),
        (
            // An https origin of this very host and port is taken (a TLS
            // proxy in front of the listener); of another port it is not.
            "json, https on another port",
            write(
                "POST",
                "/api/policy/ip",
                json,
                Some(&other.replace("http:", "https:")),
                None,
                allow_all,
            ),
        ),
        (
            "json, no origin",
            write("POST", "/api/policy/ip", json, None, None, allow_all),
        ),
        (
            "json, same-site",
            write(
                "POST",
                "/api/policy/ip",
                json,
                None,
                Some("same-site"),
                allow_all,
            ),
        ),
        (
            "exclusion, another port",
            write(
                "POST",
                "/api/policy/exclusions",
                json,
                Some(&other),
                None,
                r#"{"path":"/x","rule":"942100"}"#,
            ),
        ),
        (
            "ban, text/plain",
            write(
                "POST",
                "/api/bans",
                Some("text/plain"),
                Some(&own),
                None,
                r#"{"ip":"198.51.100.9"}"#,
            ),
        ),
        (
            "put, another port",
            write(
                "PUT",
                "/api/policy",
                json,
                Some(&other),
                None,
                &before.to_string(),
            ),
        ),
        (
            "lift, another port",
            write(
                "DELETE",
                "/api/bans/198.51.100.9",
                None,
                Some(&other),
                None,
                "",
            ),
        ),
        (
            "model, another port",
            write(
                "POST",
                "/api/model/rollback",
                json,
                Some(&other),
                None,
                "{}",
            ),
        ),
        (
            "logout, another port",
            write("POST", "/logout", None, Some(&other), None, ""),
        ),
    ] {
        let (parts, body) = send(req).await;
        assert_eq!(parts.status, StatusCode::FORBIDDEN, "{what}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            v["error"].as_str().unwrap().starts_with("refused"),
            "{what}: {v}"
        );
    }
    let (_, after) = node.api("/api/policy").await;
    assert_eq!(before, after, "a refused write changed the policy");
    // The session was not logged out by the forged logout.
    let (parts, _) = send(write("GET", "/api/info", None, Some(&other), None, "")).await;
    assert_eq!(parts.status, StatusCode::OK, "reads are not checked");
    // From this origin, or a browser's Sec-Fetch-Site: same-origin, it works.
    let block = |ip: &str| format!(r#"{{"list":"block","cidr":"{ip}"}}"#);
    let (parts, _) = send(write(
        "POST",
        "/api/policy/ip",
        Some("application/json; charset=utf-8"),
        Some(&own),
        None,
        &block("192.0.2.1"),
    ))
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    let (parts, _) = send(write(
        "POST",
        "/api/policy/ip",
        json,
        None,
        Some("same-origin"),
        &block("192.0.2.2"),
    ))
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    let (_, after) = node.api("/api/policy").await;
    assert_eq!(
        after["ip"]["block"],
        serde_json::json!(["192.0.2.1/32", "192.0.2.2/32"])
    );
    // The bearer token needs no Origin (an API client, not a browser).
    let (parts, _) = send(
        Request::post(node.admin("/api/bans"))
            .header("authorization", format!("bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(r#"{"ip":"198.51.100.9"}"#)))
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::CREATED);
    let (parts, _) = send(write("POST", "/logout", None, Some(&own), None, "")).await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    let (parts, _) = send(write("GET", "/api/info", None, None, None, "")).await;
    assert_eq!(parts.status, StatusCode::UNAUTHORIZED, "logged out");
    node.running.stop().await.unwrap();
}

/// The problems `wafer.toml` has with this threshold, globally and on a route.
fn file_refuses(threshold: i64) -> Vec<wafer::config::ConfigError> {
    let text = format!(
        "[inspection]\nthreshold = {threshold}\n[[routes]]\npath = \"/a/\"\nthreshold = {threshold}"
    );
    let file = wafer::config::FileConfig::parse(&text).unwrap();
    let env = std::collections::HashMap::<String, String>::new();
    match wafer::config::resolve(file, &env, &Default::default()) {
        Ok(_) => Vec::new(),
        Err(errs) => errs.0,
    }
}

/// Issue 17: `PUT /api/policy` and `wafer.toml` refuse the same thresholds
/// (including those past the engine's integer types) with the same message,
/// under the same key where the two documents name the value alike
/// (`routes[0].threshold`; the file's `inspection.threshold` is the
/// document's `threshold`).
#[tokio::test]
async fn the_api_keeps_the_config_files_threshold_bounds() {
    let node = Node::start(None).await;
    let (_, doc) = node.api("/api/policy").await;
    for (threshold, want) in [
        (4_294_967_295_i64, StatusCode::BAD_REQUEST),
        (4_294_967_296, StatusCode::BAD_REQUEST),
        (-1, StatusCode::BAD_REQUEST),
        (10_001, StatusCode::BAD_REQUEST),
        (0, StatusCode::BAD_REQUEST),
        (10_000, StatusCode::OK),
    ] {
        let mut d = doc.clone();
        d["threshold"] = threshold.into();
        d["routes"] = serde_json::json!([{"path": "/a/", "threshold": threshold}]);
        let (parts, body) = send(
            Request::put(node.admin("/api/policy"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(d.to_string())))
                .unwrap(),
        )
        .await;
        assert_eq!(parts.status, want, "{threshold}");
        let file = file_refuses(threshold);
        if want == StatusCode::BAD_REQUEST {
            let v: Value = serde_json::from_slice(&body).unwrap();
            let details = v["details"].to_string();
            assert!(
                details.contains("threshold must be a whole number from 1 to 10000"),
                "{v}"
            );
            let keys: Vec<&str> = file.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(keys, ["inspection.threshold", "routes[0].threshold"]);
            let message = &file[0].message;
            assert_eq!(
                v["errors"],
                serde_json::json!([
                    {"key": "threshold", "message": message},
                    {"key": "routes[0].threshold", "message": file[1].message},
                ]),
                "{threshold}"
            );
            assert_eq!(message, &file[1].message);
        } else {
            assert!(file.is_empty(), "{file:?}");
        }
    }
    let (_, doc) = node.api("/api/policy").await;
    assert_eq!(doc["threshold"], 10_000);
    node.running.stop().await.unwrap();
}
