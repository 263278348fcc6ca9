//! Two Wafer nodes sharing rate limits through a real Redis (a server of the
//! test's own, so that it can be stopped and started mid-test) and events
//! through one PostgreSQL store.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use wafer::guard::limit::{Limit, LimitKey};
use wafer_engine::PathPattern;

use crate::admin::Node;
use crate::harness::{empty, get, send};

/// A redis-server on its own port, killed on drop.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = RedisServer { port, child: None };
        r.up();
        r
    }

    fn up(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server) must be installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.down();
    }
}

fn limits() -> Vec<Limit> {
    vec![
        Limit::new(
            "api",
            Some(PathPattern::parse("/api/").unwrap()),
            LimitKey::Ip,
            "5/m",
            Some(5),
        )
        .unwrap(),
        Limit::new(
            "keyed",
            Some(PathPattern::parse("/keyed/").unwrap()),
            "header:x-api-key".parse().unwrap(),
            "5/m",
            Some(5),
        )
        .unwrap(),
    ]
}

async fn status(node: &Node, path: &str, key: Option<&str>) -> StatusCode {
    let mut b = get(&node.proxy(path));
    if let Some(k) = key {
        b = b.header("x-api-key", k);
    }
    send(b.body(empty()).unwrap()).await.0.status
}

async fn metric(node: &Node, name: &str) -> Option<u64> {
    let (_, body) = node.raw("/metrics").await;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn wait_redis_up(node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(node, "wafer_redis_up").await != Some(1) {
        assert!(
            Instant::now() < deadline,
            "the node never connected to redis"
        );
        // A check is what brings the connection back after a failure.
        let _ = status(node, "/keyed/warmup", Some("warmup")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Five allowed across the two nodes, then both refuse the same client.
async fn shared_limit_holds(a: &Node, b: &Node, path: &str, key: Option<&str>) {
    for node in [a, a, a, b, b] {
        assert_eq!(
            status(node, path, key).await,
            StatusCode::OK,
            "{path} within the limit"
        );
    }
    let (parts, _) = {
        let mut r = get(&b.proxy(path));
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        send(r.body(empty()).unwrap()).await
    };
    assert_eq!(
        parts.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{path}: the sixth, through the other node"
    );
    let retry: u64 = parts.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "Retry-After {retry}");
    assert_eq!(status(a, path, key).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_limits_through_redis_and_survive_its_restart() {
    let mut redis = RedisServer::start();
    let pg = wafer::testing::postgres_database("cluster").await;
    let start = |url: String, pg: String| async move {
        Node::start_cfg(move |c| {
            c.throttle.rate_limits = limits();
            c.redis_url = Some(url);
            c.store = Some(pg.parse().expect("a store URL"));
        })
        .await
    };
    let a = start(redis.url(), pg.clone()).await;
    let b = start(redis.url(), pg.clone()).await;
    wait_redis_up(&a).await;
    wait_redis_up(&b).await;

    shared_limit_holds(&a, &b, "/api/orders", None).await;
    // Other paths are not limited.
    assert_eq!(status(&a, "/search?q=shoes", None).await, StatusCode::OK);

    // One event per limited client per node (not one per request), all in one store.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = a.api("/api/events?status=429").await;
        let n = v["events"].as_array().map_or(0, Vec::len);
        if n == 2 {
            let reasons: Vec<_> = v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["reason"].clone())
                .collect();
            assert!(
                reasons
                    .iter()
                    .all(|r| r.as_str().unwrap().contains("rate limit api")),
                "{reasons:?}"
            );
            break;
        }
        assert!(n < 2 && Instant::now() < deadline, "{n} limit events: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, from_b) = b.api("/api/events?status=429").await;
    assert_eq!(
        from_b["events"].as_array().unwrap().len(),
        2,
        "both nodes read the same store"
    );

    // Redis goes away: no request fails because of it; each node limits alone.
    redis.down();
    for i in 0..12 {
        for node in [&a, &b] {
            let s = status(node, "/search?q=socks", None).await;
            assert_eq!(s, StatusCode::OK, "request {i} failed while redis was down");
            let s = status(node, "/keyed/x", Some(&format!("while-down-{i}"))).await;
            assert_eq!(s, StatusCode::OK, "keyed request {i} while redis was down");
        }
    }
    assert!(
        metric(&a, "wafer_rate_limit_fallbacks_total")
            .await
            .unwrap()
            > 0
    );
    assert_eq!(metric(&a, "wafer_redis_up").await, Some(0));

    // It comes back: both nodes use it again, and the limit is shared again.
    redis.up();
    wait_redis_up(&a).await;
    wait_redis_up(&b).await;
    shared_limit_holds(&a, &b, "/keyed/x", Some("after-restart")).await;
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

const SQLI: &str = "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--";

async fn admin_call(node: &Node, method: &str, path: &str, body: &str) -> StatusCode {
    let req = http::Request::builder()
        .method(method)
        .uri(node.admin(path))
        .header("authorization", "Bearer test-admin-token-0123456789")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap();
    send(req).await.0.status
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(6);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_earned_on_one_node_holds_on_the_other_and_survives_redis_going_away() {
    let mut redis = RedisServer::start();
    let start = |url: String| async move {
        Node::start_cfg(move |c| {
            c.throttle.bans = wafer::guard::bans::BanPolicy {
                after: 3,
                within_ms: 60_000,
                duration_ms: 600_000,
            };
            c.redis_url = Some(url);
        })
        .await
    };
    let a = start(redis.url()).await;
    let b = start(redis.url()).await;
    wait_redis_up(&a).await;
    wait_redis_up(&b).await;

    // Three blocked requests through A earn the client a ban; B refuses it too.
    let mut last = String::new();
    for _ in 0..3 {
        let (parts, _) = send(get(&a.proxy(SQLI)).body(empty()).unwrap()).await;
        assert_eq!(parts.status, StatusCode::FORBIDDEN);
        last = parts.headers["x-request-id"].to_str().unwrap().to_owned();
    }
    a.stored(3).await;
    let (_, ev) = a.api(&format!("/api/events/{last}")).await;
    assert!(
        ev["reason"]
            .as_str()
            .unwrap_or("")
            .contains("banned for 10 min"),
        "{ev}"
    );
    assert_eq!(
        status(&a, "/search?q=shoes", None).await,
        StatusCode::FORBIDDEN,
        "banned on A"
    );
    eventually("the ban did not reach node B", async || {
        status(&b, "/search?q=shoes", None).await == StatusCode::FORBIDDEN
    })
    .await;
    let (_, list) = b.api("/api/bans").await;
    assert_eq!(list["bans"][0]["ip"], "127.0.0.1", "{list}");
    assert_eq!(list["shared"], true);

    // Lifted through B: A lets the client in again.
    assert_eq!(
        admin_call(&b, "DELETE", "/api/bans/127.0.0.1", "").await,
        StatusCode::NO_CONTENT
    );
    eventually("the lift did not reach node A", async || {
        status(&a, "/search?q=shoes", None).await == StatusCode::OK
    })
    .await;
    assert_eq!(
        admin_call(&b, "DELETE", "/api/bans/127.0.0.1", "").await,
        StatusCode::NOT_FOUND
    );
    for bad in [r#"{"ip":"nope"}"#, r#"{"ip":"10.0.0.1","minutes":0}"#, "[]"] {
        assert_eq!(
            admin_call(&a, "POST", "/api/bans", bad).await,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    // A ban added through A's API; B knows it, and keeps it while Redis is away.
    let body = r#"{"ip":"127.0.0.1","minutes":5,"reason":"manual"}"#;
    assert_eq!(
        admin_call(&a, "POST", "/api/bans", body).await,
        StatusCode::CREATED
    );
    eventually("the manual ban did not reach node B", async || {
        status(&b, "/search?q=shoes", None).await == StatusCode::FORBIDDEN
    })
    .await;
    redis.down();
    for _ in 0..5 {
        assert_eq!(
            status(&b, "/search?q=shoes", None).await,
            StatusCode::FORBIDDEN,
            "cached ban"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The restarted Redis is empty: the nodes write their bans back (within a
    // sync or two; a lift in that window could be undone, see guard::bans).
    redis.up();
    wait_redis_up(&a).await;
    wait_redis_up(&b).await;
    let port = redis.port.to_string();
    eventually("the nodes did not write their bans back", async || {
        let out = Command::new("redis-cli")
            .args(["-p", &port, "EXISTS", "wafer:ban:127.0.0.1"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        admin_call(&b, "DELETE", "/api/bans/127.0.0.1", "").await,
        StatusCode::NO_CONTENT
    );
    eventually(
        "the lift after the restart did not reach node A",
        async || status(&a, "/search?q=shoes", None).await == StatusCode::OK,
    )
    .await;
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_on_one_node_applies_on_the_other_and_a_new_node_adopts_it() {
    let redis = RedisServer::start();
    let start =
        |url: String| async move { Node::start_cfg(move |c| c.redis_url = Some(url)).await };
    let a = start(redis.url()).await;
    let b = start(redis.url()).await;
    wait_redis_up(&a).await;
    wait_redis_up(&b).await;
    assert_eq!(status(&b, "/search?q=shoes", None).await, StatusCode::OK);

    // The client's address on the block list, through A's API only.
    let body = r#"{"list":"block","cidr":"127.0.0.1"}"#;
    assert_eq!(
        admin_call(&a, "POST", "/api/policy/ip", body).await,
        StatusCode::OK
    );
    eventually("B did not take the block list from A", async || {
        status(&b, "/search?q=shoes", None).await == StatusCode::FORBIDDEN
    })
    .await;
    let (_, policy) = b.api("/api/policy").await;
    assert_eq!(policy["ip"]["block"], serde_json::json!(["127.0.0.1/32"]));
    assert!(
        b.data_dir.join("policies/default.json").exists(),
        "B saved it for its next start"
    );

    // A node that joins later adopts the cluster's policy.
    let c = start(redis.url()).await;
    eventually(
        "a new node did not adopt the cluster's policy",
        async || status(&c, "/search?q=shoes", None).await == StatusCode::FORBIDDEN,
    )
    .await;

    // Taken back through B: A and C follow.
    let (_, mut doc) = b.api("/api/policy").await;
    doc["ip"]["block"] = serde_json::json!([]);
    assert_eq!(
        admin_call(&b, "PUT", "/api/policy", &doc.to_string()).await,
        StatusCode::OK
    );
    for node in [&a, &c] {
        eventually(
            "the change through B did not reach the others",
            async || status(node, "/search?q=shoes", None).await == StatusCode::OK,
        )
        .await;
    }
    for n in [a, b, c] {
        n.running.stop().await.unwrap();
    }
}
