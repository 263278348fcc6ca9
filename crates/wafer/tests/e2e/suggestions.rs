//! Suggested exclusions end to end: authoring traffic from several clients
//! (behind a trusted proxy, so `X-Forwarded-For` names them) is blocked,
//! recorded, suggested as a narrow exclusion, accepted over the admin API;
//! then the same request passes and the same payload elsewhere is still blocked.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::admin::Node;
use crate::harness::send;

const TOKEN: &str = "Bearer test-admin-token-0123456789";
/// What a CMS editor pastes: a video embed. Two XSS rules fire on it.
pub(crate) const EMBED: &str =
    "%3Ciframe%20src%3D%22https%3A%2F%2Fvideo.example%2Fe%2F1%22%3E%3C%2Fiframe%3E";

/// A form POST to `path` from `client`; the status.
pub(crate) async fn save(node: &Node, client: &str, path: &str, body: &str) -> StatusCode {
    let req = Request::post(node.proxy(path))
        .header("host", "notes.example")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        )
        .header("x-forwarded-for", client)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    send(req).await.0.status
}

async fn post(node: &Node, path: &str, body: Value, auth: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut b = Request::post(node.admin(path)).header("content-type", "application/json");
    for (k, v) in auth {
        b = b.header(*k, *v);
    }
    let (parts, body) = send(b.body(Full::new(Bytes::from(body.to_string()))).unwrap()).await;
    (
        parts.status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Six editors save an embed on their own notes (blocked); two other clients
/// send it with an SQL injection elsewhere in the request. Waits until stored.
pub(crate) async fn seed(node: &Node) {
    let body = format!("title=Trip&content={EMBED}");
    // Six editors, each on their own note.
    for i in 0..6 {
        let status = save(
            node,
            &format!("203.0.113.{}", i + 10),
            &format!("/notes/{}/save", 40 + i),
            &body,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Two clients that also sent something else: evidence against, not for.
    for i in 0..2 {
        let status = save(
            node,
            &format!("198.51.100.{}", i + 1),
            "/notes/7/save",
            &format!("content={EMBED}&q=1%27%20UNION%20SELECT%20password%20FROM%20users--"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    node.stored(8).await;
}

#[tokio::test]
async fn a_suggested_exclusion_is_accepted_and_lets_exactly_that_through() {
    let node = Node::start_cfg(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    seed(&node).await;
    let body = format!("title=Trip&content={EMBED}");

    let (status, v) = node.api("/api/suggestions?min_clients=7").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["suggestions"], json!([]), "six clients are not seven");
    for bad in [
        "min_clients=0",
        "window=soon",
        "max_events=999999999",
        "nope=1",
    ] {
        let (status, v) = node.api(&format!("/api/suggestions?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }

    let (status, v) = node.api("/api/suggestions").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["scanned"], 8, "{v}");
    assert_eq!(v["truncated"], false);
    let list = v["suggestions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v:#}");
    let s = &list[0];
    assert_eq!(s["exclusion"]["path"], "/notes/*/save", "{s:#}");
    assert_eq!(s["exclusion"]["args"], json!(["content"]), "{s:#}");
    assert!(!s["exclusion"]["rules"].as_array().unwrap().is_empty());
    assert_eq!(s["evidence"]["clients"], 6);
    assert_eq!(s["evidence"]["requests"], 6);
    assert_eq!(s["evidence"]["counter_evidence"], 2);
    assert!(
        s["evidence"]["examples"][0]
            .as_str()
            .unwrap()
            .contains("iframe"),
        "{s:#}"
    );
    assert_eq!(s["preview"]["blocked"], 8, "{s:#}");
    assert_eq!(s["preview"]["would_pass"], 6, "{s:#}");
    let id = s["id"].as_str().unwrap().to_owned();

    // With the session cookie from another origin: refused, nothing changes.
    let cookie = crate::admin_guard::session(&node).await;
    let (status, _) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "id": id }),
        &[("cookie", &cookie), ("origin", "http://127.0.0.1:1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(node.api("/api/policy").await.1["exclusions"], json!([]));

    let (status, v) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "id": id }),
        &[("authorization", TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"]["id"], id.as_str());
    assert_eq!(v["policy"]["exclusions"][0], s["exclusion"], "{v:#}");
    let (_, policy) = node.api("/api/policy").await;
    assert_eq!(policy["exclusions"], json!([s["exclusion"]]));
    let saved = std::fs::read_to_string(node.data_dir.join("policies/default.json")).unwrap();
    assert!(saved.contains("\"content\""), "{saved}");

    // The editors' request passes, on any note; the same payload in another
    // argument, or on another path, is still blocked.
    assert_eq!(
        save(&node, "203.0.113.10", "/notes/99/save", &body).await,
        StatusCode::OK
    );
    assert_eq!(
        save(
            &node,
            "203.0.113.10",
            "/notes/99/save",
            &format!("title={EMBED}")
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        save(&node, "203.0.113.10", "/profile/save", &body).await,
        StatusCode::FORBIDDEN
    );

    // Accepted: no longer suggested, and accepting again is a 404.
    let (_, v) = node.api("/api/suggestions").await;
    assert_eq!(v["suggestions"], json!([]), "{v:#}");
    let (status, _) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "id": id }),
        &[("authorization", TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "nope": 1 }),
        &[("authorization", TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    node.running.stop().await.unwrap();
}

/// With several sites, a site's suggestions come from its own events and go
/// into its own policy: the editors' events on `notes` suggest nothing for
/// `other`, and accepting one changes `notes` alone.
#[tokio::test]
async fn suggestions_are_per_site() {
    use wafer::config::sites::{HostPattern, SiteConfig, Sites};
    let node = Node::start_cfg(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        let upstream = c.upstream.clone().unwrap();
        let site = |name: &str| {
            let host = HostPattern::parse(&format!("{name}.example")).unwrap();
            SiteConfig::new(name, vec![host], upstream.clone(), c.engine.policy.clone())
        };
        c.sites = Sites {
            sites: vec![site("other"), site("notes")],
            default: None,
        };
    })
    .await;
    seed(&node).await;
    let (status, v) = node.api("/api/suggestions?site=other").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["scanned"].as_u64(),
            v["suggestions"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "{v}"
    );
    // Without `site`: the primary site (here the first, `other`).
    let (_, v) = node.api("/api/suggestions").await;
    assert_eq!(v["scanned"], 0, "{v}");
    let (status, _) = node.api("/api/suggestions?site=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, v) = node.api("/api/suggestions?site=notes").await;
    assert_eq!(v["scanned"], 8, "{v}");
    let id = v["suggestions"][0]["id"].as_str().unwrap().to_owned();
    // Accepted for the wrong site: not one of its suggestions.
    let (status, _) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "id": id, "site": "other" }),
        &[("authorization", TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = post(
        &node,
        "/api/suggestions/accept",
        json!({ "id": id, "site": "notes" }),
        &[("authorization", TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, notes) = node.api("/api/policy?site=notes").await;
    assert_eq!(notes["exclusions"].as_array().unwrap().len(), 1, "{notes}");
    let (_, other) = node.api("/api/policy?site=other").await;
    assert_eq!(other["exclusions"], json!([]));
    assert!(node.data_dir.join("policies/notes.json").exists());
    assert!(!node.data_dir.join("policies/other.json").exists());
    let body = format!("title=Trip&content={EMBED}");
    assert_eq!(
        save(&node, "203.0.113.10", "/notes/99/save", &body).await,
        StatusCode::OK
    );
    node.running.stop().await.unwrap();
}
