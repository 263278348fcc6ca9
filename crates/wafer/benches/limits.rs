//! The cost of one rate-limit check: in process, and through Redis (the local
//! server at 127.0.0.1:6379, or WAFER_BENCH_REDIS), as the proxy makes it.
//!
//!     cargo bench -p wafer --bench limits

use std::net::IpAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wafer::guard::limit::shared::Limiter;
use wafer::guard::limit::{Limit, LimitKey};
use wafer::guard::redis::RedisLink;

fn limits() -> Vec<Limit> {
    // Generous enough that every check passes: the cost measured is the check.
    vec![Limit::new("bench", None, LimitKey::Ip, "1000000/s", Some(1_000_000)).unwrap()]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let headers = http::HeaderMap::new();
    let limits = limits();
    let mut g = c.benchmark_group("rate_limit");
    let local = Limiter::new(None);
    let mut i = 0u32;
    g.bench_function("local", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let ip = IpAddr::from((i % 1000).to_be_bytes());
            rt.block_on(local.check("bench", &limits, "/api/x", ip, &headers))
        })
    });

    let url = std::env::var("WAFER_BENCH_REDIS").unwrap_or("redis://127.0.0.1:6379/0".into());
    let link = RedisLink::open(&url).unwrap();
    let shared = Limiter::new(Some(link.clone()));
    rt.block_on(async {
        link.connect();
        for _ in 0..50 {
            if link.up() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert!(link.up(), "no redis at {url}");
    g.bench_function("redis", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let ip = IpAddr::from((i % 1000).to_be_bytes());
            rt.block_on(shared.check("bench", &limits, "/api/x", ip, &headers))
        })
    });
    g.finish();
    assert_eq!(
        shared
            .stats
            .fallbacks
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "every redis check went to redis"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
