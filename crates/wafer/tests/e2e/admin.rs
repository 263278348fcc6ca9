//! The admin listener end to end: a whole Wafer node (proxy, store, writer,
//! admin) in front of a real origin, driven over loopback HTTP, SSE and
//! WebSocket, with events in a real SQLite file or the local PostgreSQL.

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use wafer::cli::run::{Running, start};
use wafer::config::Config;
use wafer::events::SinkTarget;
use wafer_engine::Engine;

use crate::harness::{Origin, empty, get, send};

pub(crate) struct Node {
    pub(crate) running: Running,
    _dir: tempfile::TempDir,
    pub(crate) data_dir: std::path::PathBuf,
    _origin: Origin,
}

impl Node {
    pub(crate) async fn start(store: Option<String>) -> Node {
        Self::start_with(store, 0.0).await
    }

    async fn start_with(store: Option<String>, record_all: f64) -> Node {
        Self::start_cfg(move |cfg| {
            cfg.store = store.map(|s| s.parse().expect("a store URL"));
            cfg.record_all = record_all;
        })
        .await
    }

    /// A node with its configuration adjusted by `adjust` (store, record_all, anomaly...).
    pub(crate) async fn start_cfg(adjust: impl FnOnce(&mut Config)) -> Node {
        let origin = Origin::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            admin_listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: dir.path().to_owned(),
            events: SinkTarget::None,
            ..Config::default()
        };
        cfg.admin_token = Some("test-admin-token-0123456789".into());
        // A learning period that never ends: the built-in model scores but
        // never flags, so tests count only what signatures decide.
        cfg.learn_requests = 1_000_000;
        cfg.upstream = Some(format!("http://{}", origin.addr).parse().unwrap());
        adjust(&mut cfg);
        // The engine as `wafer run` builds it from the config (profiles included).
        let engine = Engine::build(cfg.engine.clone()).expect("engine builds");
        let running = start(cfg, engine).await.unwrap();
        Node {
            running,
            data_dir: dir.path().to_owned(),
            _dir: dir,
            _origin: origin,
        }
    }

    pub(crate) fn proxy(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.proxy_addr)
    }

    pub(crate) fn admin(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.admin_addr.unwrap())
    }

    pub(crate) async fn api(&self, path: &str) -> (StatusCode, Value) {
        let req = Request::get(self.admin(path))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .body(empty())
            .unwrap();
        let (parts, body) = send(req).await;
        let v = serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
        (parts.status, v)
    }

    pub(crate) async fn raw(&self, path: &str) -> (http::response::Parts, Bytes) {
        send(
            Request::get(self.admin(path))
                .header("authorization", "Bearer test-admin-token-0123456789")
                .body(empty())
                .unwrap(),
        )
        .await
    }

    /// Sends an attack through the proxy; returns its request id.
    pub(crate) async fn attack(&self, path_and_query: &str) -> String {
        let (parts, _) = send(get(&self.proxy(path_and_query)).body(empty()).unwrap()).await;
        assert_eq!(parts.status, StatusCode::FORBIDDEN, "{path_and_query}");
        parts.headers["x-request-id"].to_str().unwrap().to_owned()
    }

    /// Waits until the store holds `n` events.
    pub(crate) async fn stored(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, v) = self.api("/api/events?limit=1000").await;
            let have = v["events"].as_array().map_or(0, Vec::len);
            if have >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {have} of {n} events stored"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) const SQLI: &str = "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--";
const XSS: &str = "/comment?text=%3Cscript%3Ealert(document.cookie)%3C/script%3E";

#[tokio::test]
async fn every_admin_route_refuses_a_missing_or_wrong_token() {
    let node = Node::start(None).await;
    let routes = [
        ("GET", "/"),
        ("GET", "/dashboard/"),
        ("GET", "/dashboard/index.html"),
        ("GET", "/api/info"),
        ("GET", "/api/model"),
        ("POST", "/api/policy/exclusions"),
        ("POST", "/api/policy/ip"),
        ("GET", "/api/suggestions"),
        ("POST", "/api/suggestions/accept"),
        ("GET", "/api/events"),
        ("GET", "/api/events/abc"),
        ("GET", "/api/stats"),
        ("GET", "/api/export"),
        ("GET", "/api/policy"),
        ("PUT", "/api/policy"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/sites"),
        ("GET", "/api/rules"),
        ("GET", "/events"),
        ("GET", "/ws"),
        ("GET", "/metrics"),
        ("POST", "/logout"),
    ];
    for (method, path) in routes {
        for auth in [
            None,
            Some("Bearer wrong-token-0123456789"),
            Some("Basic dGVzdA=="),
        ] {
            let mut b = Request::builder().method(method).uri(node.admin(path));
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            let (parts, body) = send(b.body(empty()).unwrap()).await;
            // After five wrong tokens this client waits (429); see admin_guard.rs.
            let throttled = auth.is_some_and(|a| a.starts_with("Bearer"))
                && parts.status == StatusCode::TOO_MANY_REQUESTS;
            assert!(
                parts.status == StatusCode::UNAUTHORIZED || throttled,
                "{method} {path} with {auth:?}: {}",
                parts.status
            );
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert!(v["error"].as_str().unwrap().contains("token"), "{v}");
        }
    }
    // A browser without a session is sent to the login page instead.
    let (parts, _) = send(
        Request::get(node.admin("/api/events"))
            .header("accept", "text/html")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    assert!(
        parts.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // The admin API is not on the proxy port: that path goes to the application.
    let (parts, _) = send(get(&node.proxy("/api/events")).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.headers["x-upstream"], "1");
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn login_and_token_links_set_a_session() {
    let node = Node::start(None).await;
    let (login_cookie, csrf) = crate::admin_guard::login_form(&node).await;
    // Wrong token on the form: back to the login page.
    let form = |token: &str| {
        Request::post(node.admin("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &login_cookie)
            .body(Full::new(Bytes::from(format!(
                "token={token}&next=%2Fapi%2Fpolicy&csrf={csrf}"
            ))))
            .unwrap()
    };
    let (parts, _) = send(form("nope")).await;
    assert!(
        parts.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?error=1")
    );
    assert!(parts.headers.get("set-cookie").is_none());
    let (parts, _) = send(form("test-admin-token-0123456789")).await;
    assert_eq!(parts.headers["location"], "/api/policy");
    let cookie = parts.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (parts, _) = send(
        Request::get(node.admin("/api/policy"))
            .header("cookie", &cookie)
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::OK);
    // ?token= once: a cookie, and the same address without the token.
    let (parts, _) = send(
        Request::get(node.admin("/api/stats?token=test-admin-token-0123456789&top=3"))
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, StatusCode::SEE_OTHER);
    assert_eq!(parts.headers["location"], "/api/stats?top=3");
    assert!(
        parts.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn events_are_stored_filtered_paged_and_exported() {
    let node = Node::start(None).await;
    let mut sqli_ids = Vec::new();
    for i in 0..5 {
        sqli_ids.push(node.attack(&format!("{SQLI}&n={i}")).await);
    }
    let xss_id = node.attack(XSS).await;
    let (ok, _) = send(
        get(&node.proxy("/search?q=blue+shoes"))
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    node.stored(6).await;

    let (s, v) = node.api("/api/events?class=xss").await;
    assert_eq!(s, StatusCode::OK);
    let evs = v["events"].as_array().unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["id"], xss_id.as_str());

    // Pages of two, newest first, by cursor: every sqli event once.
    let mut seen = Vec::new();
    let mut url = "/api/events?class=sqli&limit=2".to_owned();
    loop {
        let (_, v) = node.api(&url).await;
        seen.extend(
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => url = format!("/api/events?class=sqli&limit=2&cursor={c}"),
            None => break,
        }
    }
    // Same-millisecond events are ordered by id, so compare as sets, and no repeats.
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    let mut want = sqli_ids.clone();
    want.sort();
    assert_eq!(sorted, want);
    assert_eq!(seen.len(), 5);

    // One event in full, with its findings explained.
    let (s, ev) = node.api(&format!("/api/events/{}", sqli_ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["action"], "block");
    let f = &ev["findings"][0];
    assert!(
        f["rule_id"].as_u64().is_some()
            && f["message"].as_str().is_some()
            && f["value"].as_str().is_some()
    );
    let (s, _) = node.api("/api/events/0000000000000000").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bad filters: 400 naming the parameter.
    for (q, name) in [
        ("ip=banana", "ip"),
        ("action=maybe", "action"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
    ] {
        let (s, v) = node.api(&format!("/api/events?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert!(v["error"].as_str().unwrap().contains(name), "{q}: {v}");
    }

    // Export: the same filter, as JSON lines and as CSV.
    let (parts, body) = node.raw("/api/export?class=sqli&format=jsonl").await;
    assert_eq!(parts.status, StatusCode::OK);
    let lines: Vec<Value> = std::str::from_utf8(&body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let (parts, body) = node.raw("/api/export?format=csv").await;
    assert!(
        parts.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.starts_with("id,time_ms,client_ip"));
    assert_eq!(text.lines().count(), 7, "{text}");
    let (parts, _) = node.raw("/api/export?format=xml").await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);

    // Statistics: top lists from the events, series from all traffic.
    let (s, st) = node.api("/api/stats?from=-1h&top=5").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["top_ips"][0]["key"], "127.0.0.1");
    assert_eq!(st["top_ips"][0]["count"], 6);
    assert!(
        st["top_classes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "xss")
    );
    let (s, _) = node.api("/api/stats?bucket=5s").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Hostile ranges get an answer or a 400, never a crash.
    let (s, st) = node.api("/api/stats?from=0&to=18446744073709551615").await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let (s, _) = node
        .api("/api/stats?to=999999999999999999-01-01T00:00:00Z")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = node.api("/api/events?from=-99999999999999999999d").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Metrics count every request, the allowed one too.
    let (_, body) = node.raw("/metrics").await;
    let m = std::str::from_utf8(&body).unwrap();
    assert!(
        m.contains("wafer_requests_total{action=\"block\"} 6"),
        "{m}"
    );
    assert!(
        m.contains("wafer_requests_total{action=\"allow\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("wafer_requests_by_class_total{class=\"sqli\"} 5"),
        "{m}"
    );
    assert!(
        m.contains("wafer_anomaly_model_info{version=\"default\",learning=\"true\"} 1"),
        "{m}"
    );
    // Every inspected request is scored (while learning, none is called anomalous).
    assert!(m.contains("wafer_anomaly_scored_total 7"), "{m}");
    assert!(m.contains("wafer_anomaly_anomalous_total 0"), "{m}");
    assert!(
        m.contains("wafer_inspection_duration_seconds_count 7"),
        "{m}"
    );
    let (s, doc) = node.api("/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/events"]["get"].is_object());

    // The per-minute traffic rows reach the store within the ticker's period.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, st) = node.api("/api/stats?from=-10m").await;
        let total: u64 = st["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["requests"].as_u64().unwrap())
            .sum();
        if total >= 7 {
            let blocked: u64 = st["series"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["blocked"].as_u64().unwrap())
                .sum();
            assert_eq!(blocked, 6);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "traffic series never showed the requests: {st}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    node.running.stop().await.unwrap();
}

/// Reads an SSE response until `want` event ids have arrived (or 5 s pass).
async fn sse_ids(
    node: &Node,
    path: &str,
    last_id: Option<&str>,
    want: usize,
    during: impl std::future::Future<Output = ()>,
) -> Vec<String> {
    let stream = TcpStream::connect(node.running.admin_addr.unwrap())
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut b = Request::get(path)
        .header("host", "admin")
        .header("authorization", "Bearer test-admin-token-0123456789");
    if let Some(id) = last_id {
        b = b.header("last-event-id", id);
    }
    let resp = sender.send_request(b.body(empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    during.await;
    let mut text = String::new();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ids.len() < want {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else { break };
        if let Some(d) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(d));
        }
        ids = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            .map(|s| s.trim().to_owned())
            .collect();
    }
    ids
}

#[tokio::test]
async fn live_streams_deliver_events_within_a_second_and_resume() {
    let node = Node::start(None).await;
    // SSE, filtered to sqli: the xss attack must not arrive.
    let started = Instant::now();
    let mut sent = String::new();
    let ids = sse_ids(&node, "/events?class=sqli", None, 1, async {
        node.attack(XSS).await;
        sent = node.attack(SQLI).await;
    })
    .await;
    assert_eq!(ids, [sent.clone()]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    // Resume after `sent`: the two sqli events since then are replayed from the store.
    let a = node.attack(&format!("{SQLI}&r=1")).await;
    let b = node.attack(&format!("{SQLI}&r=2")).await;
    node.stored(4).await;
    let mut ids = sse_ids(&node, "/events?class=sqli", Some(&sent), 2, async {}).await;
    // Both, oldest first; within one millisecond the store cannot tell which came first.
    let (ts_a, ts_b) = (
        node.api(&format!("/api/events/{a}")).await.1["ts_ms"].as_u64(),
        node.api(&format!("/api/events/{b}")).await.1["ts_ms"].as_u64(),
    );
    if ts_a == ts_b {
        ids.sort();
        let mut want = [a, b];
        want.sort();
        assert_eq!(ids, want);
    } else {
        assert_eq!(ids, [a, b]);
    }

    // Resume at once after new events, without waiting for the store: events
    // published before the stream subscribed are still replayed (the stream
    // waits for the store to take them), none is missed.
    let mut fresh = Vec::new();
    for r in 3..8 {
        fresh.push(node.attack(&format!("{SQLI}&r={r}")).await);
    }
    let got = sse_ids(&node, "/events?class=sqli", Some(&sent), 7, async {}).await;
    for id in &fresh {
        assert!(
            got.contains(id),
            "{id}, published just before a resume, was missed: {got:?}"
        );
    }

    // The WebSocket tap: events and per-second telemetry.
    let url = format!("ws://{}/ws", node.running.admin_addr.unwrap());
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut().insert(
        "authorization",
        "Bearer test-admin-token-0123456789".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let id = node.attack(XSS).await;
    let mut got_event = false;
    let mut got_telemetry = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(got_event && got_telemetry) {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("websocket messages")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match v["type"].as_str() {
            Some("event") => {
                assert_eq!(v["event"]["id"], id.as_str());
                got_event = true;
            }
            Some("telemetry") => {
                assert!(v["requests"].as_u64().is_some());
                got_telemetry = true;
            }
            other => panic!("unexpected message {other:?}: {v}"),
        }
    }
    drop(ws);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_policy_change_applies_at_once_and_is_saved() {
    let node = Node::start(None).await;
    let id = node.attack(SQLI).await;
    node.stored(1).await;
    let (_, ev) = node.api(&format!("/api/events/{id}")).await;
    let rules: Vec<String> = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].to_string())
        .collect();

    let (_, mut policy) = node.api("/api/policy").await;
    assert_eq!(policy["mode"], "block");
    policy["exclusions"] = serde_json::json!([{"path": "/search", "rules": rules}]);
    let put = |body: Value| {
        Request::put(node.admin("/api/policy"))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let (parts, body) = send(put(policy.clone())).await;
    assert_eq!(
        parts.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body)
    );
    // The same request now reaches the application; elsewhere the rules still hold.
    let (parts, _) = send(get(&node.proxy(SQLI)).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK);
    node.attack(&SQLI.replace("/search", "/other")).await;
    assert!(node.data_dir.join("policies/default.json").exists());

    // A bad document changes nothing and says what is wrong.
    let mut bad = policy.clone();
    bad["paranoia"] = 7.into();
    bad["ip"]["block"] = serde_json::json!(["not-an-ip"]);
    let (parts, body) = send(put(bad)).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let details = v["details"].to_string();
    assert!(
        details.contains("paranoia") && details.contains("ip.block"),
        "{v}"
    );
    let (parts, _) = send(put(Value::String("nonsense".into()))).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    let (_, now) = node.api("/api/policy").await;
    assert_eq!(now, policy);

    // Blocking an IP through the API takes effect on the next request.
    let mut block = policy.clone();
    block["ip"]["block"] = serde_json::json!(["127.0.0.1"]);
    let (parts, _) = send(put(block)).await;
    assert_eq!(parts.status, StatusCode::OK);
    let (parts, _) = send(get(&node.proxy("/search?q=blue")).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_node_on_postgres_stores_and_serves_events() {
    let url = wafer::testing::postgres_database("e2e").await;
    let node = Node::start(Some(url)).await;
    let id = node.attack(SQLI).await;
    node.stored(1).await;
    let (s, ev) = node.api(&format!("/api/events/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["path"], "/search");
    let rule = ev["findings"][0]["rule_id"].as_u64().unwrap();
    let (_, v) = node
        .api(&format!("/api/events?rule={rule}&action=block&class=sqli"))
        .await;
    let ids: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let (_, st) = node.api("/api/stats?from=-1h").await;
    assert_eq!(st["top_ips"][0]["count"], 1);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn record_all_keeps_allowed_requests_too() {
    let node = Node::start_with(None, 1.0).await;
    for i in 0..3 {
        let (parts, _) = send(
            get(&node.proxy(&format!("/search?q=shoes&n={i}")))
                .body(empty())
                .unwrap(),
        )
        .await;
        assert_eq!(parts.status, StatusCode::OK);
    }
    node.attack(SQLI).await;
    node.stored(4).await;
    let (_, v) = node.api("/api/events?action=allow").await;
    let allowed = v["events"].as_array().unwrap();
    assert_eq!(allowed.len(), 3);
    assert!(
        allowed
            .iter()
            .all(|e| e["findings"].as_array().unwrap().is_empty() && e["path"] == "/search")
    );
    node.running.stop().await.unwrap();

    // Off (the default): only the attack is kept.
    let node = Node::start(None).await;
    send(get(&node.proxy("/search?q=shoes")).body(empty()).unwrap()).await;
    node.attack(SQLI).await;
    node.stored(1).await;
    let (_, v) = node.api("/api/events").await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    assert_eq!(v["events"][0]["action"], "block");
    node.running.stop().await.unwrap();
}

/// Findings name their CRS counterparts, and an exclusion written with
/// those CRS ids (as a ModSecurity user writes theirs) lets the request
/// through on that path only.
#[tokio::test]
async fn an_exclusion_by_crs_ids_reaches_the_rules_mapped_to_them() {
    let node = Node::start(None).await;
    let id = node.attack(SQLI).await;
    node.stored(1).await;
    let (_, ev) = node.api(&format!("/api/events/{id}")).await;
    let mut crs: Vec<String> = Vec::new();
    for f in ev["findings"].as_array().unwrap() {
        for c in f["crs"].as_array().into_iter().flatten() {
            crs.push(c.to_string());
        }
    }
    assert!(crs.iter().any(|c| c.starts_with("942")), "{ev}");
    let (_, mut policy) = node.api("/api/policy").await;
    policy["exclusions"] = serde_json::json!([{"path": "/search", "rules": crs}]);
    let put = Request::put(node.admin("/api/policy"))
        .header("authorization", "Bearer test-admin-token-0123456789")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(policy.to_string())))
        .unwrap();
    let (parts, body) = send(put).await;
    assert_eq!(
        parts.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (parts, _) = send(get(&node.proxy(SQLI)).body(empty()).unwrap()).await;
    assert_eq!(parts.status, StatusCode::OK, "excluded by its CRS ids");
    node.attack(&SQLI.replace("/search", "/other")).await;
    node.running.stop().await.unwrap();
}
