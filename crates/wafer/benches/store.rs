//! Sustained event writes into the SQLite store, in the writer's batch size,
//! events with two findings each (as a typical blocked request has).
//! `cargo bench -p wafer --bench store`; criterion reports events/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::net::IpAddr;
use std::sync::Arc;
use wafer::events::Event;
use wafer::store::{self, writer::BATCH};
use wafer_engine::finding::{Finding, Severity};
use wafer_engine::request::{Location, Part};
use wafer_engine::{Action, Class, Mode};

fn event(i: u64, blocked: bool) -> Arc<Event> {
    let finding = |rule_id, class| Finding {
        rule_id,
        class,
        severity: Severity::Critical,
        paranoia: 1,
        location: Location::new(Part::QueryArg, Some("q")),
        value: "' UNION SELECT password FROM users--".into(),
        matched: "UNION SELECT".into(),
        message: "UNION SELECT after comment removal".into(),
        score: 5,
        crs: Vec::new(),
    };
    Arc::new(Event {
        id: format!("{i:016x}"),
        ts_ms: 1_796_000_000_000 + i,
        client_ip: IpAddr::from([203, 0, 113, (i % 250) as u8]),
        method: "GET".into(),
        host: "shop.example".into(),
        site: "default".into(),
        path: "/search".into(),
        query: "q=%27%20UNION%20SELECT%20password%20FROM%20users--".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0".into(),
        headers: browser_headers(),
        action: if blocked {
            Action::Block
        } else {
            Action::Allow
        },
        status: blocked.then_some(403),
        score: 10,
        threshold: 5,
        mode: Mode::Block,
        route: None,
        reason: None,
        findings: if blocked {
            vec![finding(200002, Class::Sqli), finding(1101, Class::Sqli)]
        } else {
            Vec::new()
        },
        anomaly: None,
        inspect_us: 40,
        dropped_before: 0,
        findings_omitted: 0,
        headers_omitted: 0,
        sampled_before: 0,
    })
}

fn sqlite_inserts(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("sqlite:{}", dir.path().join("bench.db").display());
    let store = rt.block_on(store::open(&spec.parse().unwrap())).unwrap();
    let mut next = 0u64;
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    // Blocked requests (two findings each), and allowed ones as "record all" stores them.
    for (name, blocked) in [
        ("sqlite_insert_batch", true),
        ("sqlite_insert_batch_allowed", false),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let batch: Vec<Arc<Event>> = (next..next + BATCH as u64)
                    .map(|i| event(i, blocked))
                    .collect();
                next += BATCH as u64;
                rt.block_on(store.insert(batch)).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, sqlite_inserts);
criterion_main!(benches);

/// What a browser GET carries, as events keep it (cookie values redacted).
fn browser_headers() -> Vec<(String, String)> {
    [
        ("host", "shop.example"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-language", "en-GB,en;q=0.9"),
        ("accept-encoding", "gzip, deflate, br"),
        ("referer", "https://shop.example/"),
        (
            "cookie",
            "sid=\u{2039}redacted, 32 bytes\u{203a}; theme=\u{2039}redacted, 4 bytes\u{203a}",
        ),
        ("sec-fetch-mode", "navigate"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
