//! Application profiles through a whole node: `[inspection] apps` lets a
//! WordPress editor's post through and not a visitor's, traffic proposes
//! the profiles it looks like (`GET /api/apps`), and a policy edit through
//! the admin API keeps the profiles in force.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::admin::Node;
use crate::harness::{empty, get, send};

/// A block-editor save: a code block with SQL and an analytics snippet.
const POST: &str = r##"{"status":"publish","content":"<!-- wp:code -->\n<pre class=\"wp-block-code\"><code>SELECT id FROM wp_posts WHERE post_status = 'draft' UNION SELECT id FROM wp_pages;</code></pre>\n<!-- /wp:code -->\n<!-- wp:html -->\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-7QX2B1ZK\"></script>\n<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('config', 'G-7QX2B1ZK');</script>\n<!-- /wp:html -->"}"##;

async fn save_post(node: &Node, cookie: bool, nonce: bool) -> StatusCode {
    let mut r = Request::post(node.proxy("/wp-json/wp/v2/posts/42"))
        .header("host", "blog.example")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        )
        .header("accept", "application/json")
        .header("content-type", "application/json");
    if cookie {
        r = r.header(
            "cookie",
            "wordpress_logged_in_5c1d=admin%7C1765400000%7Cq3x",
        );
    }
    if nonce {
        r = r.header("x-wp-nonce", "8e1f2a9c3b");
    }
    let (parts, _) = send(r.body(Full::new(Bytes::from(POST))).unwrap()).await;
    parts.status
}

async fn put_policy(node: &Node, doc: &Value) -> (StatusCode, Value) {
    let (parts, body) = send(
        Request::put(node.admin("/api/policy"))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(doc.to_string())))
            .unwrap(),
    )
    .await;
    (
        parts.status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn app<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn profiles_let_editors_through_are_proposed_by_traffic_and_survive_policy_edits() {
    let node = Node::start_cfg(|cfg| cfg.engine.policy.apps = vec!["wordpress".into()]).await;
    assert_eq!(save_post(&node, true, true).await, StatusCode::OK);
    assert_eq!(save_post(&node, true, false).await, StatusCode::FORBIDDEN);
    assert_eq!(save_post(&node, false, true).await, StatusCode::FORBIDDEN);

    // JupyterLab traffic, never configured: proposed once seen often enough.
    for i in 0..25 {
        let (parts, _) = send(
            get(&node.proxy(&format!("/api/contents/work/n{i}.ipynb?content=0")))
                .body(empty())
                .unwrap(),
        )
        .await;
        assert_eq!(parts.status, StatusCode::OK);
    }
    let (status, apps) = node.api("/api/apps").await;
    assert_eq!(status, StatusCode::OK);
    let wp = app(&apps, "wordpress");
    assert_eq!(
        (wp["enabled"].as_bool(), wp["proposed"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(wp["seen"].as_u64().unwrap() >= 3, "{wp}");
    let jl = app(&apps, "jupyterlab");
    assert_eq!(jl["seen"], 25);
    assert_eq!(jl["proposed"], true);
    assert_eq!(app(&apps, "grafana")["proposed"], false);

    // An edit that does not name the profiles keeps them.
    let (_, mut policy) = node.api("/api/policy").await;
    assert_eq!(policy["apps"], json!(["wordpress"]));
    policy["threshold"] = 6.into();
    policy.as_object_mut().unwrap().remove("apps");
    let (status, now) = put_policy(&node, &policy).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["apps"], json!(["wordpress"]));
    assert_eq!(save_post(&node, true, true).await, StatusCode::OK);

    // Naming them replaces them; an unknown name is refused and changes nothing.
    policy["apps"] = json!(["nope"]);
    let (status, v) = put_policy(&node, &policy).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["details"].to_string().contains("jupyterlab"), "{v}");
    policy["apps"] = json!([]);
    let (status, _) = put_policy(&node, &policy).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(save_post(&node, true, true).await, StatusCode::FORBIDDEN);
    policy["apps"] = json!(["jupyterlab", "wordpress"]);
    let (status, _) = put_policy(&node, &policy).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(save_post(&node, true, true).await, StatusCode::OK);
    let saved = std::fs::read_to_string(node.data_dir.join("policies/default.json")).unwrap();
    assert!(saved.contains("jupyterlab"), "{saved}");
    node.running.stop().await.unwrap();
}
