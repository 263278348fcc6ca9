//! The anomaly model on a running node: the learning period trains on the
//! site's own traffic and switches to it; models are activated and rolled
//! back while traffic flows, without a failed request; a model of another
//! feature schema is refused and the one in use stays.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use wafer::anomaly::ModelsDir;
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
    let node = Node::start_cfg(|c| c.learn_requests = 300).await;
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
