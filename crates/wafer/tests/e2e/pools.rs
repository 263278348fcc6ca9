//! A site with several upstream servers: requests spread by weight, a server
//! that stops answering is skipped (the request that found it down is sent
//! to another), and it takes requests again once its health check passes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wafer::config::sites::{HostPattern, SiteConfig, Sites};
use wafer::guard::IpLists;
use wafer::proxy::pool::{Balance, Ejection, HealthCheck};

use crate::admin::Node;
use crate::harness::{empty, send};

/// An upstream server that closes every connection after its answer (so no
/// pooled connection outlives it) and can be stopped and started on its port.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(addr: SocketAddr, hits: Arc<AtomicUsize>) -> Server {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counter = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            if req.uri().path() != "/health" {
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                            async move {
                                Ok::<_, std::convert::Infallible>(
                                    http::Response::builder()
                                        .header("connection", "close")
                                        .body(Full::new(Bytes::from_static(b"ok")))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server {
            addr,
            hits,
            task: Some(task),
        }
    }

    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

async fn metric(node: &Node, line: &str) -> bool {
    let (_, body) = node.raw("/metrics").await;
    String::from_utf8_lossy(&body).lines().any(|l| l == line)
}

#[tokio::test]
async fn a_pool_spreads_skips_a_dead_server_and_takes_it_back_when_healthy() {
    let mut a = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).await;
    let mut b = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).await;
    let (a_addr, b_addr) = (a.addr, b.addr);
    let node = Node::start_cfg(move |cfg| {
        cfg.sites = Sites {
            sites: vec![SiteConfig {
                name: "shop".into(),
                hosts: vec![HostPattern::parse("shop.example").unwrap()],
                upstream: format!("http://{a_addr}").parse().unwrap(),
                policy: cfg.engine.policy.clone(),
                ip_lists: IpLists::default(),
                throttle: Default::default(),
                tls: None,
                acme: false,
                https_redirect: false,
                hsts: None,
                servers: vec![
                    (format!("http://{a_addr}").parse().unwrap(), 1),
                    (format!("http://{b_addr}").parse().unwrap(), 1),
                ],
                balance: Balance::RoundRobin,
                ejection: Ejection {
                    after: 1,
                    for_ms: 600_000,
                },
                health: Some(HealthCheck {
                    path: "/health".into(),
                    interval: Duration::from_millis(300),
                    timeout: Duration::from_secs(1),
                    fall: 1,
                    rise: 1,
                }),
                upstream_tls: Default::default(),
            }],
            default: Some("shop".into()),
        };
    })
    .await;
    let get = |path: &str| {
        http::Request::get(node.proxy(path))
            .header("host", "shop.example")
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(empty())
            .unwrap()
    };
    for k in 0..6 {
        let (p, _) = send(get(&format!("/p{k}"))).await;
        assert_eq!(p.status, 200);
    }
    assert_eq!(
        (a.hits(), b.hits()),
        (3, 3),
        "round robin over two equal servers"
    );

    // B stops. Every request still succeeds: the one that finds B down is
    // sent to A, and B is out from then on.
    b.stop();
    for k in 0..6 {
        let (p, _) = send(get(&format!("/q{k}"))).await;
        assert_eq!(p.status, 200, "request {k} with B down");
    }
    assert_eq!((a.hits(), b.hits()), (9, 3));
    let b_label = format!("server=\"http://{b_addr}/\"");
    assert!(
        metric(
            &node,
            &format!("wafer_upstream_server_up{{site=\"shop\",{b_label}}} 0")
        )
        .await
    );
    let (_, m) = node.raw("/metrics").await;
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.lines().any(|l| l.starts_with(&format!(
            "wafer_upstream_failures_total{{site=\"shop\",{b_label}}}"
        )) && !l.ends_with(" 0")),
        "{m}"
    );

    // The admin API says the same, per server, for the dashboard.
    let (_, sites) = node.api("/api/sites").await;
    let shop = &sites["sites"][0];
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["default"], true);
    let states: Vec<(String, String)> = shop["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["url"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&(format!("http://{a_addr}/"), "up".to_owned())),
        "{sites}"
    );
    assert!(
        states
            .iter()
            .any(|(u, st)| *u == format!("http://{b_addr}/") && st != "up"),
        "{sites}"
    );

    // B comes back on its port; its health check brings it in again (the
    // ejection alone would have kept it out for ten minutes).
    b = Server::start(b_addr, Arc::clone(&b.hits)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metric(
        &node,
        &format!("wafer_upstream_server_up{{site=\"shop\",{b_label}}} 1"),
    )
    .await
    {
        assert!(Instant::now() < deadline, "B never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for k in 0..6 {
        let (p, _) = send(get(&format!("/r{k}"))).await;
        assert_eq!(p.status, 200);
    }
    assert_eq!((a.hits(), b.hits()), (12, 6), "both take requests again");
    a.stop();
    b.stop();
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_that_cannot_be_sent_twice_is_not_retried() {
    // One server that refuses connections, one that answers: a POST that
    // meets the dead one gets 502; a GET in its place is sent to the other.
    let alive = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).await;
    let dead: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let alive_addr = alive.addr;
    let node = Node::start_cfg(move |cfg| {
        cfg.sites = Sites {
            sites: vec![SiteConfig {
                name: "shop".into(),
                hosts: vec![HostPattern::parse("shop.example").unwrap()],
                upstream: format!("http://{dead}").parse().unwrap(),
                policy: cfg.engine.policy.clone(),
                ip_lists: IpLists::default(),
                throttle: Default::default(),
                tls: None,
                acme: false,
                https_redirect: false,
                hsts: None,
                // The dead server first in the rotation, never ejected: each
                // round trip starts there.
                servers: vec![
                    (format!("http://{dead}").parse().unwrap(), 1),
                    (format!("http://{alive_addr}").parse().unwrap(), 1),
                ],
                balance: Balance::RoundRobin,
                ejection: Ejection {
                    after: 0,
                    for_ms: 0,
                },
                health: None,
                upstream_tls: Default::default(),
            }],
            default: Some("shop".into()),
        };
    })
    .await;
    let mut statuses = Vec::new();
    for method in ["POST", "POST", "GET", "GET"] {
        let mut req = http::Request::builder()
            .method(method)
            .uri(node.proxy("/order"))
            .header("host", "shop.example")
            .header("user-agent", "Mozilla/5.0 Firefox/133.0");
        let body = if method == "POST" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Bytes::from_static(b"item=1")
        } else {
            Bytes::new()
        };
        let req = req.body(Full::new(body)).unwrap();
        statuses.push((method, send(req).await.0.status.as_u16()));
    }
    // Round robin alternates: one POST met the dead server (502, not resent),
    // one reached the live one; both GETs were answered, by retry if needed.
    let posts: Vec<u16> = statuses
        .iter()
        .filter(|(m, _)| *m == "POST")
        .map(|(_, s)| *s)
        .collect();
    let mut sorted = posts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 502], "{statuses:?}");
    assert!(
        statuses
            .iter()
            .filter(|(m, _)| *m == "GET")
            .all(|(_, s)| *s == 200),
        "{statuses:?}"
    );
    assert_eq!(
        alive.hits(),
        3,
        "one POST and two GETs reached the live server"
    );
    node.running.stop().await.unwrap();
}
