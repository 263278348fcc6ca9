//! The anomaly model on a running node: the learning period trains on the
//! site's own traffic and switches to it; models are activated and rolled
//! back while traffic flows, without a failed request; a model of another
//! feature schema is refused and the one in use stays. The learning period
//! is bounded: one client gives at most its share, requests with findings are
//! not learned, a set from too few clients is not trained on, and the samples
//! stay within their byte budget whatever the requests carry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use wafer::anomaly::ModelsDir;
use wafer::anomaly::learn::{LearnLimits, MAX_SAMPLE_COST};
use wafer_engine::anomaly::{ForestParams, Model};

use crate::admin::Node;
use crate::harness::{empty, get, send};

fn normal_target(i: u32) -> String {
    let words = [
        "blue+shoes",
        "red+hat",
        "linen+shirt",
        "wool+socks",
        "rain+coat",
    ];
    if i.is_multiple_of(2) {
        format!("/product/{}?ref=home&page={}", 1000 + i, i % 7)
    } else {
        format!("/search?q={}&page={}", words[i as usize % 5], i % 4)
    }
}

/// Nothing a signature minds, but nothing like it in the site's traffic.
const ODD: &str = "/search?q=Zx9QkLmW3vBt7YpR2sNdZx9QkLmW3vBt7YpR2sNdZx9QkLmW3vBt7YpR2sNdZx9QkLmW3vBt7YpR2sNdZx9QkLmW3vBt7YpR2sNdZx9QkLmW3vBt7YpR2sNd&page=1&dbg=1&trace=on&x1=a&x2=b&x3=c&x4=d";

async fn post(node: &Node, path: &str, body: Value) -> (StatusCode, Value) {
    let (parts, body) = send(
        Request::post(node.admin(path))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap(),
    )
    .await;
    (
        parts.status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn active_version(node: &Node) -> String {
    let (_, m) = node.api("/api/model").await;
    m["active"]["info"]["version"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn the_learning_period_trains_on_this_site_and_then_flags() {
    // One test client: the share and distinct-client bounds are lifted here
    // (they have their own tests below).
    let node = Node::start_cfg(|c| {
        c.learn_requests = 300;
        c.learn_limits = LearnLimits {
            client_share_pct: 100.0,
            min_clients: 1,
            ..LearnLimits::default()
        };
    })
    .await;
    let (_, m) = node.api("/api/model").await;
    assert_eq!(
        (
            m["learning"].as_bool(),
            m["active"]["info"]["version"].as_str()
        ),
        (Some(true), Some("default"))
    );
    for i in 0..300 {
        let (parts, _) = send(get(&node.proxy(&normal_target(i))).body(empty()).unwrap()).await;
        assert_eq!(parts.status, StatusCode::OK);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while active_version(&node).await == "default" {
        assert!(Instant::now() < deadline, "no model learned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let version = active_version(&node).await;
    let dir = ModelsDir::new(node.data_dir.join("models"));
    assert_eq!(
        dir.active().unwrap().as_deref(),
        Some(version.as_str()),
        "saved and active"
    );
    let (_, m) = node.api("/api/model").await;
    assert_eq!(m["learning"], false);
    assert_eq!(m["active"]["info"]["samples"], 300, "{m}");

    // Now the odd request is flagged (detect mode: it still passes), with the features that drove it.
    let (parts, _) = send(get(&node.proxy(ODD)).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    let id = parts.headers["x-request-id"].to_str().unwrap().to_owned();
    let (parts, _) = send(get(&node.proxy(&normal_target(7))).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    node.stored(1).await;
    let (_, events) = node.api("/api/events?class=anomaly").await;
    let evs = events["events"].as_array().unwrap();
    assert_eq!(evs.len(), 1, "only the odd request is flagged: {events}");
    let ev = &evs[0];
    assert_eq!(ev["id"], id.as_str());
    assert_eq!(ev["action"], "flag");
    assert_eq!(ev["anomaly"]["model"], version.as_str());
    assert!(
        ev["anomaly"]["score"].as_f64().unwrap() > ev["anomaly"]["threshold"].as_f64().unwrap()
    );
    assert!(!ev["anomaly"]["top"].as_array().unwrap().is_empty());
    assert_eq!(ev["findings"][0]["rule_id"], 1900);

    // Blocking on the model is one policy change away.
    let (_, mut policy) = node.api("/api/policy").await;
    assert_eq!(policy["anomaly"]["mode"], "detect");
    policy["anomaly"]["mode"] = "block".into();
    let (parts, body) = send(
        Request::put(node.admin("/api/policy"))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(policy.to_string())))
            .unwrap(),
    )
    .await;
    assert_eq!(
        parts.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (parts, _) = send(get(&node.proxy(ODD)).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    let (parts, _) = send(get(&node.proxy(&normal_target(9))).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    node.running.stop().await.unwrap();
}

fn trained(seed: u64, created_ms: u64) -> Model {
    let reqs: Vec<_> = (0..400)
        .map(|i| {
            wafer_engine::Request::new("GET", &normal_target(i)).header("Host", "shop.example")
        })
        .collect();
    let params = ForestParams {
        seed,
        ..ForestParams::default()
    };
    Model::train(&reqs, &params, 0.01, created_ms).unwrap()
}

#[tokio::test]
async fn models_switch_and_roll_back_under_load_without_a_failed_request() {
    let node = Node::start(None).await;
    let dir = ModelsDir::new(node.data_dir.join("models"));
    let a = dir.save(&trained(1, 1_796_000_000_000)).unwrap();
    let b = dir.save(&trained(2, 1_796_000_100_000)).unwrap();
    assert_ne!(a, b);

    let failures = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for w in 0..4 {
        let (failures, sent, stop) = (failures.clone(), sent.clone(), stop.clone());
        let url = node.proxy("");
        load.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let (parts, _) = send(
                    get(&format!("{url}{}", normal_target(i)))
                        .body(empty())
                        .unwrap(),
                )
                .await;
                if parts.status != StatusCode::OK {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                sent.fetch_add(1, Ordering::Relaxed);
                i += 4;
                // Each request is a new connection: pace them, or the machine runs out of ports.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    // Through the API: at once.
    let (status, m) = post(&node, "/api/model/activate", json!({"version": a})).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["active"]["info"]["version"], a.as_str());
    // Through the files, as `wafer model activate` does: within the 2 s poll.
    dir.activate(&b).unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    while active_version(&node).await != b {
        assert!(
            Instant::now() < deadline,
            "the file change was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, m) = post(&node, "/api/model/rollback", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["active"]["info"]["version"], a.as_str());
    assert_eq!(dir.active().unwrap().as_deref(), Some(a.as_str()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert!(sent.load(Ordering::Relaxed) > 50, "the load ran");
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "a request failed during a swap"
    );
    let (_, m) = node.api("/api/model").await;
    assert_eq!(m["models"].as_array().unwrap().len(), 2);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_model_of_another_schema_is_refused_and_the_current_one_stays() {
    let node = Node::start(None).await;
    let dir = ModelsDir::new(node.data_dir.join("models"));
    let good = dir.save(&trained(3, 1_796_000_000_000)).unwrap();
    let (status, _) = post(&node, "/api/model/activate", json!({"version": good})).await;
    assert_eq!(status, StatusCode::OK);

    let mut doc: Value = serde_json::from_str(&trained(4, 1_796_000_200_000).to_json()).unwrap();
    doc["schema_version"] = 999.into();
    std::fs::write(dir.path().join("future.json"), doc.to_string()).unwrap();
    let (status, v) = post(&node, "/api/model/activate", json!({"version": "future"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains("999") && msg.contains("schema"), "{msg}");
    assert_eq!(active_version(&node).await, good);
    assert_eq!(
        dir.active().unwrap().as_deref(),
        Some(good.as_str()),
        "ACTIVE untouched"
    );

    for (body, code) in [
        (
            json!({"version": "../../etc/passwd"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"version": "nope"}), StatusCode::NOT_FOUND),
        (json!({"v": 1}), StatusCode::BAD_REQUEST),
    ] {
        let (status, v) = post(&node, "/api/model/activate", body.clone()).await;
        assert_eq!(status, code, "{body}: {v}");
    }
    // Written behind the API's back, it is refused by the reloader too.
    std::fs::write(dir.path().join("ACTIVE"), "future\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(active_version(&node).await, good);
    node.running.stop().await.unwrap();
}

/// Loopback is a trusted proxy in these tests, so `X-Forwarded-For` names the client.
fn learning_node(
    learn_requests: usize,
    limits: LearnLimits,
) -> impl std::future::Future<Output = Node> {
    Node::start_cfg(move |c| {
        c.learn_requests = learn_requests;
        c.learn_limits = limits;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
}

/// A GET from `client` (through the trusted proxy), with `extra` headers.
async fn from(node: &Node, client: &str, target: &str, extra: &[(&str, &str)]) -> StatusCode {
    let mut req = get(&node.proxy(target)).header("x-forwarded-for", client);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send(req.body(empty()).unwrap()).await.0.status
}

async fn learned(node: &Node) -> Value {
    node.api("/api/model").await.1["learned"].clone()
}

async fn wait_for_model(node: &Node) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = active_version(node).await;
        if v != "default" {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no model learned: {}",
            learned(node).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn one_client_flooding_the_learning_period_gives_only_its_share() {
    // 200 requests, at most 5 % (10) from one client, at least 20 clients.
    let node = learning_node(200, LearnLimits::default()).await;
    let big = "b".repeat(60 * 1024);
    for i in 0..120 {
        let status = from(&node, "203.0.113.66", &normal_target(i), &[("x-big", &big)]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let l = learned(&node).await;
    assert_eq!(l["state"], "collecting", "{l}");
    assert_eq!(
        (l["requests"].as_u64(), l["clients"].as_u64()),
        (Some(10), Some(1)),
        "{l}"
    );
    assert_eq!(l["skipped_share"], 110, "{l}");
    assert_eq!(l["max_per_client"], 10, "{l}");
    // Samples, not requests: a 60 KiB header costs nothing in the set.
    let per_sample = l["bytes"].as_u64().unwrap() / 10;
    assert!(per_sample < 1024, "{per_sample} bytes per sample: {l}");
    assert!(l["reason"].as_str().unwrap().contains("10 of 200"), "{l}");
    assert_eq!(active_version(&node).await, "default");

    // Nineteen more clients complete the set: trained on 20 clients, 10 each.
    for c in 1..20 {
        for i in 0..10 {
            let status = from(
                &node,
                &format!("198.51.100.{c}"),
                &normal_target(c * 10 + i),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let version = wait_for_model(&node).await;
    let (_, m) = node.api("/api/model").await;
    assert_eq!(m["active"]["info"]["samples"], 200, "{m}");
    assert_eq!(m["learning"], false);
    let l = &m["learned"];
    assert_eq!(
        (l["state"].as_str(), l["clients"].as_u64()),
        (Some("done"), Some(20)),
        "{l}"
    );
    assert!(l["reason"].as_str().unwrap().contains(&version), "{l}");
    node.running.stop().await.unwrap();
}

const SQLI: &str = "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--";
const XSS: &str = "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E";

#[tokio::test]
async fn requests_with_findings_are_not_learned() {
    let lifted = LearnLimits {
        client_share_pct: 100.0,
        min_clients: 1,
        ..LearnLimits::default()
    };
    let node = learning_node(40, lifted).await;
    // Blocked (the default mode is block).
    for (i, attack) in [SQLI, XSS, SQLI].iter().enumerate() {
        assert_eq!(
            from(&node, "192.0.2.1", attack, &[]).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            from(&node, "192.0.2.1", &normal_target(i as u32), &[]).await,
            StatusCode::OK
        );
    }
    // Flagged but let through (detect mode): findings all the same.
    let (_, mut policy) = node.api("/api/policy").await;
    policy["mode"] = "detect".into();
    let (parts, body) = send(
        Request::put(node.admin("/api/policy"))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(policy.to_string())))
            .unwrap(),
    )
    .await;
    assert_eq!(
        parts.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body)
    );
    for attack in [SQLI, XSS] {
        assert_eq!(from(&node, "192.0.2.2", attack, &[]).await, StatusCode::OK);
    }
    let l = learned(&node).await;
    assert_eq!(
        (l["requests"].as_u64(), l["skipped_findings"].as_u64()),
        (Some(3), Some(5)),
        "{l}"
    );
    for i in 3..40 {
        assert_eq!(
            from(&node, "192.0.2.3", &normal_target(i), &[]).await,
            StatusCode::OK
        );
    }
    wait_for_model(&node).await;
    let (_, m) = node.api("/api/model").await;
    assert_eq!(
        m["active"]["info"]["samples"], 40,
        "only the clean requests: {m}"
    );
    assert_eq!(m["learned"]["skipped_findings"], 5, "{m}");
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_model_from_too_few_clients_is_not_activated_and_the_status_says_why() {
    let limits = LearnLimits {
        client_share_pct: 50.0,
        min_clients: 3,
        ..LearnLimits::default()
    };
    let node = learning_node(40, limits).await;
    for i in 0..60 {
        let client = if i % 2 == 0 {
            "192.0.2.10"
        } else {
            "192.0.2.20"
        };
        assert_eq!(
            from(&node, client, &normal_target(i), &[]).await,
            StatusCode::OK
        );
    }
    let (_, m) = node.api("/api/model").await;
    let l = &m["learned"];
    assert_eq!(l["state"], "waiting_for_clients", "{m}");
    assert_eq!(
        (l["requests"].as_u64(), l["clients"].as_u64()),
        (Some(40), Some(2)),
        "{l}"
    );
    let reason = l["reason"].as_str().unwrap();
    assert!(
        reason.contains("2 distinct clients") && reason.contains("at least 3"),
        "{reason}"
    );
    assert_eq!(m["learning"], true);
    assert_eq!(m["active"]["info"]["version"], "default");
    // Nothing trained, nothing saved: the models directory has no model.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = ModelsDir::new(node.data_dir.join("models"));
    assert!(dir.list().unwrap().is_empty());
    assert_eq!(dir.active().unwrap(), None);

    // A third client: its request takes the place of one of the others', and the model is trained.
    assert_eq!(
        from(&node, "198.51.100.30", &normal_target(61), &[]).await,
        StatusCode::OK
    );
    let version = wait_for_model(&node).await;
    assert_eq!(dir.active().unwrap().as_deref(), Some(version.as_str()));
    let (_, m) = node.api("/api/model").await;
    assert_eq!(m["active"]["info"]["samples"], 40, "{m}");
    assert_eq!(m["learned"]["clients"], 3, "{m}");
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_byte_budget_holds_with_large_headers() {
    let max_bytes = 30 * MAX_SAMPLE_COST;
    let limits = LearnLimits {
        max_bytes,
        client_share_pct: 100.0,
        min_clients: 1,
    };
    let node = learning_node(10_000, limits).await;
    let big = "b".repeat(60 * 1024);
    // 64 arguments with long names: the largest samples there are.
    let q: String = (0..64)
        .map(|k| format!("{}{k}=v&", "n".repeat(120)))
        .collect();
    let mut i = 0u32;
    while active_version(&node).await == "default" {
        assert!(
            i < 300,
            "the budget never completed the set: {}",
            learned(&node).await
        );
        // Turn about (both in one head would pass the 64 KiB header limit).
        let status = if i.is_multiple_of(2) {
            from(&node, "192.0.2.5", &normal_target(i), &[("x-big", &big)]).await
        } else {
            from(&node, "192.0.2.5", &format!("/form?{q}"), &[]).await
        };
        assert_eq!(status, StatusCode::OK);
        let l = learned(&node).await;
        assert!(l["bytes"].as_u64().unwrap() as usize <= max_bytes, "{l}");
        i += 1;
    }
    let (_, m) = node.api("/api/model").await;
    let samples = m["active"]["info"]["samples"].as_u64().unwrap();
    // No sample costs more than MAX_SAMPLE_COST, so at least 29 fit; half of
    // them near that size, far fewer than the 10,000 asked for.
    assert!((29..100).contains(&samples), "{samples}: {m}");
    let bytes = m["learned"]["bytes"].as_u64().unwrap() as usize;
    assert!(
        bytes <= max_bytes && bytes + MAX_SAMPLE_COST > max_bytes,
        "{m}"
    );
    node.running.stop().await.unwrap();
}
