//! Several sites on one listener: each host name reaches its own upstream
//! under its own policy, over raw bytes on a real socket; what each upstream
//! received is asserted, not only the status.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::{Origin, Setup, Wafer, empty, raw};
use wafer::config::sites::HostPattern;
use wafer::guard::IpLists;
use wafer::protection::Live;
use wafer::proxy::{Site, Sites};
use wafer_engine::{Engine, EngineConfig, Mode, Policy};

const ATTACK: &str = "/search?q=1%27%20union%20select%20password%20from%20users--";

fn site(name: &str, hosts: &[&str], upstream: String, mode: Mode, block: &[&str]) -> Site {
    let engine = Engine::build(EngineConfig {
        policy: Policy {
            mode,
            ..Policy::default()
        },
        ..EngineConfig::default()
    })
    .unwrap();
    let lists = IpLists {
        allow: Vec::new(),
        block: block.iter().map(|n| n.parse().unwrap()).collect(),
    };
    Site::new(
        name,
        hosts
            .iter()
            .map(|h| HostPattern::parse(h).unwrap())
            .collect(),
        upstream.parse().unwrap(),
        Arc::new(Live::new(engine, lists)),
    )
}

fn get(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n").into_bytes()
}

fn status(resp: &str) -> &str {
    resp.get(9..12).unwrap_or("")
}

fn seen(o: &Origin) -> Vec<(String, String)> {
    o.seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| {
            let host = s.headers.get("host").map_or("", |h| h.to_str().unwrap());
            (s.uri.clone(), host.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn each_host_name_reaches_its_own_site_under_its_own_policy() {
    let (shop, blog, private, fallback) = (
        Origin::start().await,
        Origin::start().await,
        Origin::start().await,
        Origin::start().await,
    );
    let url = |o: &Origin| format!("http://{}", o.addr);
    let sites = Sites::new(
        vec![
            site(
                "shop",
                &["shop.example", "*.shop.example"],
                url(&shop),
                Mode::Block,
                &[],
            ),
            site(
                "blog",
                &["blog.example"],
                format!("{}/app", url(&blog)),
                Mode::Detect,
                &[],
            ),
            // Loopback is on this site's block list: the test client is refused there only.
            site(
                "private",
                &["intranet.example"],
                url(&private),
                Mode::Block,
                &["127.0.0.0/8"],
            ),
            site("fallback", &[], url(&fallback), Mode::Block, &[]),
        ],
        Some("fallback"),
    )
    .unwrap();
    let wafer = Wafer::start_sites(sites, Setup::default()).await;
    let w = Duration::from_secs(2);

    // The attack is blocked on the shop (mode block) and reaches nobody...
    let r = raw(wafer.addr, &get(ATTACK, "shop.example"), w).await;
    assert_eq!(status(&r), "403", "{r}");
    // ...and is flagged but forwarded on the blog (mode detect), under the
    // blog's path prefix and with the name it was routed by.
    let r = raw(wafer.addr, &get(ATTACK, "Blog.Example.:8080"), w).await;
    assert_eq!(status(&r), "200", "{r}");
    // A wildcard name, any case, with a port.
    let r = raw(wafer.addr, &get("/cart", "WWW.shop.example:8080"), w).await;
    assert_eq!(status(&r), "200", "{r}");
    // The site's own block list applies on that site only.
    let r = raw(wafer.addr, &get("/", "intranet.example"), w).await;
    assert_eq!(status(&r), "403", "{r}");
    // A name no site lists goes to the default site.
    let r = raw(wafer.addr, &get("/hello", "other.example"), w).await;
    assert_eq!(status(&r), "200", "{r}");
    // HTTP/2 routes by `:authority`: the blog's, though the connection is Wafer's address.
    let status_h2 = h2_to(wafer.addr, "http://blog.example/h2").await;
    assert_eq!(status_h2, 200);

    assert_eq!(
        seen(&shop),
        [("/cart".into(), "WWW.shop.example:8080".into())]
    );
    assert_eq!(
        seen(&blog),
        [
            (format!("/app{ATTACK}"), "Blog.Example.:8080".to_owned()),
            ("/app/h2".into(), "blog.example".into())
        ]
    );
    assert!(seen(&private).is_empty());
    assert_eq!(seen(&fallback), [("/hello".into(), "other.example".into())]);

    let events = wafer.stop().await;
    let site_of = |path: &str, status: Option<u16>| {
        events
            .iter()
            .find(|e| e.path == path && e.status == status)
            .map(|e| e.site.clone())
    };
    assert_eq!(site_of("/search", Some(403)).as_deref(), Some("shop"));
    assert_eq!(site_of("/search", None).as_deref(), Some("blog"));
    assert_eq!(site_of("/", Some(403)).as_deref(), Some("private"));
}

#[tokio::test]
async fn without_a_default_site_other_names_get_421_and_reach_no_upstream() {
    let shop = Origin::start().await;
    let sites = Sites::new(
        vec![site(
            "shop",
            &["shop.example"],
            format!("http://{}", shop.addr),
            Mode::Block,
            &[],
        )],
        None,
    )
    .unwrap();
    let wafer = Wafer::start_sites(sites, Setup::default()).await;
    let w = Duration::from_secs(2);
    let r = raw(wafer.addr, &get("/", "evil.example"), w).await;
    assert_eq!(status(&r), "421", "{r}");
    assert!(r.contains("does not serve the host name"), "{r}");
    // No Host at all (HTTP/1.0).
    let r = raw(wafer.addr, b"GET / HTTP/1.0\r\n\r\n", w).await;
    assert_eq!(status(&r), "421", "{r}");
    // An absolute-form target naming the shop does not carry another Host to
    // it: the request is routed by the Host it is forwarded with.
    let r = raw(
        wafer.addr,
        b"GET http://shop.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        w,
    )
    .await;
    assert_eq!(status(&r), "421", "{r}");
    let r = raw(
        wafer.addr,
        b"GET http://evil.example/y HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n",
        w,
    )
    .await;
    assert_eq!(status(&r), "200", "{r}");
    // Keep-alive: a second request on the same connection for another name is routed on its own.
    let r = raw(
        wafer.addr,
        b"GET /a HTTP/1.1\r\nHost: shop.example\r\n\r\nGET /b HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        w,
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("HTTP/1.1 421"), "{r}");
    assert_eq!(
        seen(&shop),
        [
            ("/y".to_owned(), "shop.example".to_owned()),
            ("/a".into(), "shop.example".into())
        ]
    );
    // Misdirected requests are not events (a scan of names would fill the store).
    assert!(wafer.stop().await.is_empty());
}

/// One h2c request to `addr` for `url` (its authority is `:authority`, not where it connects).
async fn h2_to(addr: std::net::SocketAddr, url: &str) -> http::StatusCode {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(url)
        .header("user-agent", "Mozilla/5.0 Firefox/133.0")
        .body(empty())
        .unwrap();
    sender.send_request(req).await.unwrap().status()
}

/// The whole node (`wafer run`'s start): per-site counters in `/metrics`,
/// `site=` in the events API, and the admin API's policy edits applying to
/// the default site only.
#[tokio::test]
async fn a_node_with_sites_counts_stores_and_edits_per_site() {
    use crate::admin::{Node, SQLI};
    use crate::harness::send;
    let shop_origin = Origin::start().await;
    let shop_addr = shop_origin.addr;
    let node = Node::start_cfg(move |cfg| {
        let mut shop_policy = cfg.engine.policy.clone();
        shop_policy.mode = Mode::Block;
        cfg.sites = wafer::config::sites::Sites {
            sites: vec![
                wafer::config::sites::SiteConfig {
                    name: "shop".into(),
                    hosts: vec![HostPattern::parse("shop.example").unwrap()],
                    upstream: format!("http://{shop_addr}").parse().unwrap(),
                    policy: shop_policy,
                    ip_lists: IpLists::default(),
                    throttle: Default::default(),
                    tls: None,
                    acme: false,
                    https_redirect: false,
                    hsts: None,
                    servers: Vec::new(),
                    balance: wafer::proxy::pool::Balance::RoundRobin,
                    ejection: Default::default(),
                    health: None,
                    upstream_tls: Default::default(),
                },
                wafer::config::sites::SiteConfig {
                    name: "default".into(),
                    hosts: Vec::new(),
                    upstream: cfg.upstream.clone().unwrap(),
                    policy: cfg.engine.policy.clone(),
                    ip_lists: IpLists::default(),
                    throttle: Default::default(),
                    tls: None,
                    acme: false,
                    https_redirect: false,
                    hsts: None,
                    servers: Vec::new(),
                    balance: wafer::proxy::pool::Balance::RoundRobin,
                    ejection: Default::default(),
                    health: None,
                    upstream_tls: Default::default(),
                },
            ],
            default: Some("default".into()),
        };
    })
    .await;
    let req = |path: &str, host: &str| {
        http::Request::get(node.proxy(path))
            .header("host", host)
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(empty())
            .unwrap()
    };
    let (p, _) = send(req(SQLI, "shop.example")).await;
    assert_eq!(p.status, 403);
    let (p, _) = send(req("/hello", "other.example")).await;
    assert_eq!(p.status, 200);
    assert_eq!(shop_origin.seen.lock().unwrap().len(), 0);

    let (_, metrics) = node.raw("/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics);
    for line in [
        "wafer_site_requests_total{site=\"shop\",action=\"block\"} 1",
        "wafer_site_requests_total{site=\"default\",action=\"allow\"} 1",
        "wafer_site_requests_total{site=\"default\",action=\"block\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in:\n{metrics}"
        );
    }
    node.stored(1).await;
    let (_, v) = node.api("/api/events?site=shop").await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["site"], "shop");
    let (_, v) = node.api("/api/events?site=default").await;
    assert_eq!(v["events"].as_array().unwrap().len(), 0, "{v}");

    // Blocking loopback through the admin API applies to the default site...
    let (p, body) = send(
        http::Request::post(node.admin("/api/policy/ip"))
            .header("authorization", "Bearer test-admin-token-0123456789")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"list":"block","cidr":"127.0.0.1"}"#,
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, 200, "{body:?}");
    let (p, _) = send(req("/hello", "other.example")).await;
    assert_eq!(p.status, 403);
    // ...and not to the shop, which keeps the policy its config gives it.
    let (p, _) = send(req("/cart", "shop.example")).await;
    assert_eq!(p.status, 200);
    assert_eq!(shop_origin.seen.lock().unwrap().len(), 1);
    node.running.stop().await.unwrap();
}
