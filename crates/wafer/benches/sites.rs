//! The cost of routing a request to its site by host name, with few sites and
//! with many (exact names, wildcards, and names no site lists), and of
//! choosing one of a site's servers.
//!
//!     cargo bench -p wafer --bench sites

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use wafer::config::sites::HostPattern;
use wafer::protection::Live;
use wafer::proxy::{Site, Sites};

fn sites(n: usize, engine: &wafer_engine::Engine) -> Sites {
    let live = Arc::new(Live::new(
        engine.with_policy(engine.policy().clone()),
        wafer::guard::IpLists::default(),
    ));
    let mut all: Vec<Site> = (0..n)
        .map(|i| {
            Site::new(
                &format!("site{i}"),
                vec![
                    HostPattern::parse(&format!("shop{i}.example")).unwrap(),
                    HostPattern::parse(&format!("*.shop{i}.example")).unwrap(),
                ],
                "http://127.0.0.1:9000".parse().unwrap(),
                Arc::clone(&live),
            )
        })
        .collect();
    all.push(Site::new(
        "fallback",
        Vec::new(),
        "http://127.0.0.1:9000".parse().unwrap(),
        live,
    ));
    Sites::new(all, Some("fallback")).unwrap()
}

fn bench(c: &mut Criterion) {
    let engine = wafer_engine::Engine::builtin();
    let mut g = c.benchmark_group("route");
    for n in [3, 1000] {
        let s = sites(n, &engine);
        let last = n - 1;
        let exact = format!("shop{last}.example");
        let wildcard = format!("www.eu.shop{last}.example:8443");
        for (what, host) in [
            ("exact", exact.as_str()),
            ("wildcard", wildcard.as_str()),
            ("unknown", "cdn.other.example"),
        ] {
            g.bench_function(format!("{n}_sites/{what}"), |b| {
                b.iter(|| s.route(Some(std::hint::black_box(host.as_bytes()))))
            });
        }
    }
    g.finish();

    use wafer::proxy::pool::{Balance, Ejection, Pool, Server};
    let mut g = c.benchmark_group("pick");
    let mut headers = http::HeaderMap::new();
    headers.insert("x-session", "a1b2c3d4e5f6".parse().unwrap());
    for n in [3usize, 20] {
        for (what, balance) in [
            ("round_robin", Balance::RoundRobin),
            ("least_connections", Balance::LeastConnections),
            ("hash_client", Balance::HashClient),
            (
                "hash_header",
                Balance::HashHeader(http::HeaderName::from_static("x-session")),
            ),
        ] {
            let servers = (0..n)
                .map(|i| {
                    Server::new(
                        format!("http://10.0.0.{i}:8000").parse().unwrap(),
                        1 + (i % 3) as u32,
                    )
                })
                .collect();
            let pool = Pool::new(servers, balance, Ejection::default());
            let mut k = 0u32;
            g.bench_function(format!("{n}_servers/{what}"), |b| {
                b.iter(|| {
                    k = k.wrapping_add(1);
                    let ip = std::net::IpAddr::from(k.to_be_bytes());
                    pool.pick(ip, &headers, &[])
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
