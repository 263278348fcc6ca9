//! Each site's policy through the admin API: read, changed and saved per site
//! (rate limits and ban settings included), applied to that site's traffic
//! only, kept across a reload, and shared through Redis in a cluster. Traffic
//! goes as raw bytes over a real socket; what each upstream received is asserted.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::admin::Node;
use crate::harness::{Origin, raw, send};
use wafer::config::sites::{HostPattern, SiteConfig, Sites};
use wafer::guard::limit::{Limit, LimitKey};

const TOKEN: &str = "Bearer test-admin-token-0123456789";
const ATTACK: &str = "/search?q=1%27%20union%20select%20password%20from%20users--";

fn get(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n").into_bytes()
}

fn status(resp: &str) -> &str {
    resp.get(9..12).unwrap_or("")
}

fn paths(o: &Origin) -> Vec<String> {
    o.seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.uri.clone())
        .collect()
}

async fn put(node: &Node, url: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::put(node.admin(url))
        .header("authorization", TOKEN)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let (parts, body) = send(req).await;
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (parts.status, v)
}

/// A site named `name`, for `name.example`, in front of `addr`.
fn site(name: &str, addr: std::net::SocketAddr, policy: &wafer_engine::Policy) -> SiteConfig {
    SiteConfig::new(
        name,
        vec![HostPattern::parse(&format!("{name}.example")).unwrap()],
        format!("http://{addr}").parse().unwrap(),
        policy.clone(),
    )
}

/// Two sites, `shop` (first: the primary one) and `blog`; `shop` has a rate
/// limit from the configuration, `blog` none.
async fn two_sites(shop: &Origin, blog: &Origin, redis: Option<&str>) -> Node {
    let (shop_addr, blog_addr) = (shop.addr, blog.addr);
    let redis = redis.map(str::to_owned);
    Node::start_cfg(move |cfg| {
        cfg.redis_url = redis;
        let mut shop = site("shop", shop_addr, &cfg.engine.policy);
        shop.throttle.rate_limits =
            vec![Limit::new("pages", None, LimitKey::Ip, "100/s", Some(100)).unwrap()];
        cfg.sites = Sites {
            sites: vec![shop, site("blog", blog_addr, &cfg.engine.policy)],
            default: None,
        };
    })
    .await
}

#[tokio::test]
async fn each_site_has_its_own_policy_rate_limits_and_bans_through_the_api() {
    let (shop, blog) = (Origin::start().await, Origin::start().await);
    let node = two_sites(&shop, &blog, None).await;
    let addr = node.running.proxy_addr;
    let wait = Duration::from_secs(5);

    // Each site's document; without `site`, the primary one (named in a header).
    let (s, v) = node.api("/api/policy?site=shop").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["rate_limits"][0]["name"], "pages", "{v}");
    assert_eq!(v["rate_limits"][0]["rate"], "100/s");
    let (parts, _) = node.raw("/api/policy").await;
    assert_eq!(parts.headers["x-wafer-site"], "shop");
    let (s, mut doc) = node.api("/api/policy?site=blog").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["rate_limits"], json!([]));
    assert_eq!(doc["bans"]["after"], 0);
    let (s, v) = node.api("/api/policy?site=nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // A bad limit is refused under its key, and changes nothing.
    doc["rate_limits"] = json!([{"name": "posts", "rate": "2/d"}]);
    let (s, v) = put(&node, "/api/policy?site=blog", &doc).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["details"].to_string().contains("rate_limits[0].rate"),
        "{v}"
    );
    let (_, unchanged) = node.api("/api/policy?site=blog").await;
    assert_eq!(unchanged["rate_limits"], json!([]));

    // The blog gets two requests at once per minute, and one block bans.
    doc["rate_limits"] = json!([{"name": "posts", "rate": "1/m", "burst": 2}]);
    doc["bans"] = json!({"after": 1, "minutes": 5});
    let (s, v) = put(&node, "/api/policy?site=blog", &doc).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rate_limits"][0]["burst"], 2);
    assert_eq!(
        v["bans"],
        json!({"after": 1, "within_secs": 60, "minutes": 5})
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(node.data_dir.join("policies/blog.json")).unwrap())
            .unwrap();
    assert_eq!(saved["rate_limits"][0]["name"], "posts");
    assert!(!node.data_dir.join("policies/shop.json").exists());

    for i in 0..3 {
        let r = raw(addr, &get(&format!("/post/{i}"), "blog.example"), wait).await;
        assert_eq!(status(&r), if i < 2 { "200" } else { "429" }, "{r}");
    }
    assert_eq!(
        paths(&blog),
        ["/post/0", "/post/1"],
        "the third never reached the blog"
    );
    // The shop keeps its own limit (100/s): three pass.
    for i in 0..3 {
        let r = raw(addr, &get(&format!("/item/{i}"), "shop.example"), wait).await;
        assert_eq!(status(&r), "200", "{r}");
    }
    assert_eq!(paths(&shop).len(), 3);

    // The shop's policy has no bans: blocks there ban no one.
    for _ in 0..3 {
        let r = raw(addr, &get(ATTACK, "shop.example"), wait).await;
        assert_eq!(status(&r), "403");
    }
    let r = raw(addr, &get("/item/ok", "shop.example"), wait).await;
    assert_eq!(status(&r), "200", "not banned by the shop's blocks");

    // On the blog one block bans the client, at every site.
    let (_, mut doc) = node.api("/api/policy?site=blog").await;
    doc["rate_limits"] = json!([]);
    let (s, _) = put(&node, "/api/policy?site=blog", &doc).await;
    assert_eq!(s, StatusCode::OK);
    let r = raw(addr, &get(ATTACK, "blog.example"), wait).await;
    assert_eq!(status(&r), "403");
    let (_, bans) = node.api("/api/bans").await;
    assert_eq!(bans["bans"].as_array().unwrap().len(), 1, "{bans}");
    let until = bans["bans"][0]["until_ms"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        (until - now) > 4 * 60_000 && (until - now) <= 5 * 60_000,
        "the blog's ban length"
    );
    let before = paths(&shop).len();
    let r = raw(addr, &get("/item/banned", "shop.example"), wait).await;
    assert_eq!(status(&r), "403", "{r}");
    assert_eq!(paths(&shop).len(), before);
    let lift = Request::delete(node.admin("/api/bans/127.0.0.1"))
        .header("authorization", TOKEN)
        .body(crate::harness::empty())
        .unwrap();
    assert_eq!(send(lift).await.0.status, StatusCode::NO_CONTENT);
    let r = raw(addr, &get("/item/back", "shop.example"), wait).await;
    assert_eq!(status(&r), "200", "{r}");

    // A reload keeps each site's saved policy.
    let cfg = {
        let (shop_addr, blog_addr) = (shop.addr, blog.addr);
        let mut cfg = wafer::config::Config {
            data_dir: node.data_dir.clone(),
            ..Default::default()
        };
        cfg.sites = Sites {
            sites: vec![
                site("shop", shop_addr, &cfg.engine.policy),
                site("blog", blog_addr, &cfg.engine.policy),
            ],
            default: None,
        };
        cfg
    };
    node.running.reload(cfg).await.unwrap();
    let (_, v) = node.api("/api/policy?site=blog").await;
    assert_eq!(v["bans"]["after"], 1, "saved: {v}");
    let (_, v) = node.api("/api/policy?site=shop").await;
    assert_eq!(
        v["rate_limits"],
        json!([]),
        "the file's, now without a limit: {v}"
    );
    node.running.stop().await.unwrap();
}

/// A node that starts with a policy saved before sites had their own keeps it
/// for its primary site.
#[tokio::test]
async fn a_policy_saved_before_sites_still_applies_to_the_primary_site() {
    let origin = Origin::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"mode":"block","paranoia":1,"threshold":5,"ip":{"block":["127.0.0.1"]}}"#,
    )
    .unwrap();
    let data_dir = dir.path().to_owned();
    let origin_addr = origin.addr;
    let node = Node::start_cfg(move |cfg| {
        cfg.data_dir = data_dir;
        cfg.upstream = Some(format!("http://{origin_addr}").parse().unwrap());
    })
    .await;
    let r = raw(
        node.running.proxy_addr,
        &get("/hello", "any.example"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status(&r), "403", "{r}");
    assert!(paths(&origin).is_empty());
    node.running.stop().await.unwrap();
}

/// In a cluster, a change to one site's policy through one node reaches the
/// same site on the other, and no other site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_policy_change_reaches_the_other_node_through_redis() {
    let redis = crate::cluster::RedisServer::start();
    let (shop, blog) = (Origin::start().await, Origin::start().await);
    let a = two_sites(&shop, &blog, Some(&redis.url())).await;
    let b = two_sites(&shop, &blog, Some(&redis.url())).await;
    let (_, mut doc) = a.api("/api/policy?site=blog").await;
    doc["ip"]["block"] = json!(["127.0.0.1"]);
    let (s, _) = put(&a, "/api/policy?site=blog", &doc).await;
    assert_eq!(s, StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = b.api("/api/policy?site=blog").await;
        if v["ip"]["block"] == json!(["127.0.0.1/32"]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not shared: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wait = Duration::from_secs(5);
    let r = raw(b.running.proxy_addr, &get("/p", "blog.example"), wait).await;
    assert_eq!(status(&r), "403");
    let r = raw(b.running.proxy_addr, &get("/p", "shop.example"), wait).await;
    assert_eq!(status(&r), "200", "the shop's lists did not change");
    let (_, v) = b.api("/api/policy?site=shop").await;
    assert_eq!(v["ip"]["block"], json!([]));
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}
