//! Reloading the configuration under load: sites, upstreams and policies
//! swapped five times while clients keep sending requests on keep-alive
//! connections, and not one request fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use wafer::config::Config;
use wafer::config::sites::{HostPattern, SiteConfig, Sites};
use wafer_engine::Mode;

use crate::admin::{Node, SQLI};
use crate::harness::{Origin, empty};

fn site(
    cfg: &Config,
    name: &str,
    host: &str,
    upstreams: &[std::net::SocketAddr],
    mode: Mode,
) -> SiteConfig {
    let mut policy = cfg.engine.policy.clone();
    policy.mode = mode;
    SiteConfig {
        servers: upstreams
            .iter()
            .map(|a| (format!("http://{a}").parse().unwrap(), 1))
            .collect(),
        ..SiteConfig::new(
            name,
            vec![HostPattern::parse(host).unwrap()],
            format!("http://{}", upstreams[0]).parse().unwrap(),
            policy,
        )
    }
}

/// Waits until `f` holds (at most 10 s).
async fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client on one keep-alive connection, sending GETs for `host` until `stop`.
async fn client(
    addr: std::net::SocketAddr,
    host: &'static str,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let req = http::Request::get(format!("/load/{k}"))
            .header("host", host)
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(empty())
            .unwrap();
        match sender.send_request(req).await {
            Ok(resp) => {
                let status = resp.status();
                let _ = resp.into_body().collect().await;
                if status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.lock().unwrap().push(format!("{host} {k}: {status}"));
                }
            }
            Err(e) => {
                failed.lock().unwrap().push(format!("{host} {k}: {e}"));
                return;
            }
        }
    }
}

#[tokio::test]
async fn reloads_under_load_swap_sites_and_drop_no_request() {
    let (a, b, c) = (
        Origin::start().await,
        Origin::start().await,
        Origin::start().await,
    );
    let (a_addr, b_addr, c_addr) = (a.addr, b.addr, c.addr);
    let base = std::sync::Mutex::new(None::<Config>);
    let node = Node::start_cfg(|cfg| {
        cfg.sites = Sites {
            sites: vec![site(cfg, "shop", "shop.example", &[a_addr], Mode::Block)],
            default: Some("shop".into()),
        };
        *base.lock().unwrap() = Some(cfg.clone());
    })
    .await;
    let base = base.into_inner().unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for host in [
        "shop.example",
        "shop.example",
        "blog.example",
        "blog.example",
    ] {
        clients.push(tokio::spawn(client(
            node.running.proxy_addr,
            host,
            Arc::clone(&stop),
            Arc::clone(&ok),
            Arc::clone(&failed),
        )));
    }
    let seen = |o: &Origin| o.seen.lock().unwrap().len();
    wait_for("traffic reaches A", || seen(&a) > 20).await;

    // 1: the shop moves to B; blog.example still goes to the shop (default).
    let mut cfg = base.clone();
    cfg.sites.sites = vec![site(&base, "shop", "shop.example", &[b_addr], Mode::Block)];
    assert!(node.running.reload(cfg).await.unwrap().is_empty());
    let b_before = seen(&b);
    wait_for("traffic reaches B", || seen(&b) > b_before + 20).await;
    let a_after = seen(&a);

    // 2: a blog site of its own on C, in detect mode; the shop on A and B.
    let mut cfg = base.clone();
    cfg.sites.sites = vec![
        site(
            &base,
            "shop",
            "shop.example",
            &[a_addr, b_addr],
            Mode::Block,
        ),
        site(&base, "blog", "blog.example", &[c_addr], Mode::Detect),
    ];
    node.running.reload(cfg.clone()).await.unwrap();
    wait_for("the blog's traffic reaches C", || seen(&c) > 20).await;
    wait_for("the shop's traffic reaches A again", || {
        seen(&a) > a_after + 20
    })
    .await;

    // 3-5: reloads back to back while the load goes on.
    for _ in 0..3 {
        node.running.reload(cfg.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The policies are the new ones: an attack is flagged on the blog (detect), blocked on the shop.
    let attack = |host: &str| {
        http::Request::get(node.proxy(SQLI))
            .header("host", host)
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(empty())
            .unwrap()
    };
    assert_eq!(
        crate::harness::send(attack("blog.example")).await.0.status,
        200
    );
    assert_eq!(
        crate::harness::send(attack("shop.example")).await.0.status,
        403
    );

    // Something that needs a restart is said, and the rest still applies.
    let mut later = cfg.clone();
    later.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    let said = node.running.reload(later).await.unwrap();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("trusted_proxies"), "{said:?}");

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "failed requests across reloads: {failed:?}"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 200,
        "too little load to mean anything"
    );
    node.running.stop().await.unwrap();
}
