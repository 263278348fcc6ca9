//! What the dashboard needs from the admin listener: the page itself (built
//! in, gzip, CSP), the one-click policy changes it makes from an event, the
//! ETag that keeps two editors from overwriting each other, and the request
//! headers an event shows (credentials redacted).

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::admin::{Node, SQLI};
use crate::harness::{empty, get, send};

const TOKEN: &str = "Bearer test-admin-token-0123456789";

fn write(node: &Node, method: &str, path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(node.admin(path))
        .header("authorization", TOKEN)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn json_of(req: Request<Full<Bytes>>) -> (http::response::Parts, Value) {
    let (parts, body) = send(req).await;
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (parts, v)
}

#[tokio::test]
async fn the_dashboard_is_served_from_the_binary_with_a_strict_policy() {
    let node = Node::start(None).await;
    // A browser without a session is sent to log in, and back afterwards.
    let (parts, _) = send(
        Request::get(node.admin("/dashboard/"))
            .header("accept", "text/html")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    assert_eq!(parts.headers["location"], "/login?next=%2Fdashboard%2F");

    let (parts, _) = node.raw("/").await;
    assert_eq!(parts.headers["location"], "/dashboard/");
    let (parts, _) = node.raw("/dashboard").await;
    assert_eq!(parts.headers["location"], "/dashboard/");

    let (parts, html) = node.raw("/dashboard/").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(
        parts.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = parts.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(parts.headers["x-frame-options"], "DENY");
    assert_eq!(parts.headers["cache-control"], "no-cache");
    let html = String::from_utf8_lossy(&html).into_owned();

    // Every script and stylesheet the page names is served, hashed names cached for good.
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/dashboard/assets/"))
        .collect();
    assert!(!assets.is_empty(), "{html}");
    for a in &assets {
        let (parts, body) = send(
            Request::get(node.admin(a))
                .header("authorization", TOKEN)
                .header("accept-encoding", "gzip")
                .body(empty())
                .unwrap(),
        )
        .await;
        assert_eq!(parts.status, StatusCode::OK, "{a}");
        assert!(
            parts.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(parts.headers["content-encoding"], "gzip", "{a}");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{a} is not gzip");
        // Without gzip on offer, the plain file.
        let (parts, body) = node.raw(a).await;
        assert!(parts.headers.get("content-encoding").is_none());
        assert!(!body.is_empty());
    }
    let (parts, v) = node.api("/dashboard/assets/nope.js").await;
    assert_eq!(parts, StatusCode::NOT_FOUND, "{v}");
    // Only built files: no way out of the table.
    for path in [
        "/dashboard/%2e%2e/Cargo.toml",
        "/dashboard/assets/../../build.rs",
    ] {
        let (parts, _) = node.raw(path).await;
        assert_eq!(parts.status, StatusCode::NOT_FOUND, "{path}");
    }

    let (_, info) = node.api("/api/info").await;
    assert_eq!(info["store"], "sqlite");
    assert!(info["rules"].as_u64().unwrap() > 100, "{info}");
    let (_, model) = node.api("/api/model").await;
    assert_eq!(model["available"], true);
    assert_eq!(model["active"]["info"]["version"], "default");
    assert_eq!(model["learning"], true, "{model}");
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn one_click_exclusion_and_ip_lists_apply_at_once() {
    let node = Node::start(None).await;
    let id = node.attack(SQLI).await;
    node.stored(1).await;
    let (_, ev) = node.api(&format!("/api/events/{id}")).await;
    let mut rules: Vec<String> = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].to_string())
        .collect();
    rules.dedup();
    for rule in &rules {
        let body = json!({"path": "/search", "rule": rule}).to_string();
        let (parts, v) = json_of(write(&node, "POST", "/api/policy/exclusions", &body)).await;
        assert_eq!(parts.status, StatusCode::OK, "{v}");
    }
    // Twice is the same as once.
    let body = json!({"path": "/search", "rule": rules[0]}).to_string();
    let (_, v) = json_of(write(&node, "POST", "/api/policy/exclusions", &body)).await;
    let excl = v["exclusions"].as_array().unwrap();
    assert_eq!(excl.len(), 1, "{v}");
    assert_eq!(
        excl[0]["rules"].as_array().unwrap().len(),
        rules.len(),
        "{v}"
    );
    let (parts, _) = send(get(&node.proxy(SQLI)).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK, "excluded on /search");
    node.attack(&SQLI.replace("/search", "/other")).await;

    // Bad input is refused with the reason and changes nothing.
    for (path, body, says) in [
        (
            "/api/policy/exclusions",
            r#"{"path":"/x","rule":"abc"}"#,
            "rules",
        ),
        (
            "/api/policy/exclusions",
            r#"{"path":"nope","rule":"1"}"#,
            "path",
        ),
        ("/api/policy/exclusions", r#"{"path":"/x"}"#, "rule"),
        (
            "/api/policy/ip",
            r#"{"list":"block","cidr":"300.0.0.1"}"#,
            "cidr",
        ),
        (
            "/api/policy/ip",
            r#"{"list":"deny","cidr":"10.0.0.1"}"#,
            "list",
        ),
        ("/api/policy/ip", "[1,2]", "ip list entry"),
    ] {
        let (parts, v) = json_of(write(&node, "POST", path, body)).await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(v.to_string().contains(says), "{body}: {v}");
    }
    let (_, policy) = node.api("/api/policy").await;
    assert_eq!(policy["exclusions"], v["exclusions"]);
    assert_eq!(policy["ip"]["block"], json!([]));

    let body = r#"{"list":"block","cidr":"127.0.0.1"}"#;
    let (parts, v) = json_of(write(&node, "POST", "/api/policy/ip", body)).await;
    assert_eq!(parts.status, StatusCode::OK, "{v}");
    assert_eq!(v["ip"]["block"], json!(["127.0.0.1/32"]));
    let (parts, _) = send(get(&node.proxy("/search?q=blue")).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    // The allow list wins over the block list.
    let body = r#"{"list":"allow","cidr":"127.0.0.0/8"}"#;
    let (parts, _) = json_of(write(&node, "POST", "/api/policy/ip", body)).await;
    assert_eq!(parts.status, StatusCode::OK);
    let (parts, _) = send(get(&node.proxy("/search?q=blue")).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    // And all of it was saved for the next start.
    let saved: Value = serde_json::from_slice(
        &std::fs::read(node.data_dir.join("policies/default.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["ip"]["allow"], json!(["127.0.0.0/8"]));
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_stale_policy_edit_is_refused_not_lost() {
    let node = Node::start(None).await;
    let (parts, _) = node.raw("/api/policy").await;
    let tag = parts.headers["etag"].to_str().unwrap().to_owned();
    let (_, mut doc) = node.api("/api/policy").await;

    // Someone else changes the policy meanwhile.
    let body = r#"{"path":"/a","rule":"200001"}"#;
    let (parts, _) = json_of(write(&node, "POST", "/api/policy/exclusions", body)).await;
    assert_eq!(parts.status, StatusCode::OK);
    let fresh = parts.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(tag, fresh);

    doc["threshold"] = 10.into();
    let put = |tag: &str| {
        let mut r = write(&node, "PUT", "/api/policy", &doc.to_string());
        r.headers_mut().insert("if-match", tag.parse().unwrap());
        r
    };
    let (parts, v) = json_of(put(&tag)).await;
    assert_eq!(parts.status, StatusCode::PRECONDITION_FAILED, "{v}");
    let (_, now) = node.api("/api/policy").await;
    assert_eq!(now["threshold"], 5);
    assert_eq!(now["exclusions"][0]["path"], "/a");

    // With the current tag it goes through.
    let (parts, v) = json_of(put(&fresh)).await;
    assert_eq!(parts.status, StatusCode::OK, "{v}");
    assert_eq!(v["threshold"], 10);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn events_show_request_headers_without_credentials() {
    let node = Node::start(None).await;
    let (parts, _) = send(
        get(&node.proxy(SQLI))
            .header("authorization", "Bearer sk-live-secret-value")
            .header("cookie", "sid=s3cr3t-session; theme=dark")
            .header("x-trace", "visible")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    let id = parts.headers["x-request-id"].to_str().unwrap().to_owned();
    node.stored(1).await;
    let (_, ev) = node.api(&format!("/api/events/{id}")).await;
    let text = ev["headers"].to_string();
    assert!(
        !text.contains("sk-live") && !text.contains("s3cr3t"),
        "{text}"
    );
    let header = |name: &str| {
        ev["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_owned())
    };
    assert_eq!(header("x-trace").as_deref(), Some("visible"));
    let cookie = header("cookie").unwrap();
    assert!(
        cookie.starts_with("sid=") && cookie.contains("theme="),
        "{cookie}"
    );
    assert!(header("authorization").unwrap().contains("redacted"));
    node.running.stop().await.unwrap();
}
