//! The same behaviour asked of both stores: a real SQLite file, and the local
//! PostgreSQL server (a database of its own per test run).

use super::*;
use crate::events::Event;
use filter::Dialect;
use std::net::IpAddr;
use wafer_engine::finding::{Finding, Severity};
use wafer_engine::request::{Location, Part};
use wafer_engine::{Action, Class, Mode};

pub(crate) fn event(
    id: &str,
    ts_ms: u64,
    ip: &str,
    action: Action,
    rules: &[(u32, Class)],
) -> Event {
    Event {
        id: id.into(),
        ts_ms,
        client_ip: ip.parse::<IpAddr>().unwrap(),
        method: "GET".into(),
        host: "shop.example".into(),
        site: "default".into(),
        path: format!("/p/{id}"),
        query: "q=1".into(),
        user_agent: "test".into(),
        headers: vec![
            ("host".into(), "shop.example".into()),
            (
                "cookie".into(),
                "sid=\u{2039}redacted, 8 bytes\u{203a}".into(),
            ),
        ],
        action,
        status: (action == Action::Block).then_some(403),
        score: rules.len() as u32 * 5,
        threshold: 5,
        mode: Mode::Block,
        route: None,
        reason: None,
        findings: rules
            .iter()
            .map(|&(rule_id, class)| Finding {
                rule_id,
                class,
                severity: Severity::Critical,
                paranoia: 1,
                location: Location::new(Part::QueryArg, Some("q")),
                value: "1' or '1'='1 50%".into(),
                matched: "or".into(),
                message: "test finding".into(),
                score: 5,
                crs: Vec::new(),
            })
            .collect(),
        anomaly: None,
        inspect_us: 10,
        dropped_before: 0,
        findings_omitted: 0,
        headers_omitted: 0,
        sampled_before: 0,
    }
}

async fn exercise(store: Arc<dyn Store>) {
    let base = 1_700_000_000_000u64;
    let mut evs = Vec::new();
    for i in 0..30u64 {
        let (action, rules): (Action, &[(u32, Class)]) = match i % 3 {
            0 => (
                Action::Block,
                &[(200001, Class::Sqli), (300001, Class::Xss)],
            ),
            1 => (Action::Flag, &[(400001, Class::Rce)]),
            _ => (Action::Allow, &[]),
        };
        let ip = if i < 10 {
            "203.0.113.1"
        } else {
            "198.51.100.7"
        };
        evs.push(Arc::new(event(
            &format!("ev{i:02}"),
            base + i * 1000,
            ip,
            action,
            rules,
        )));
    }
    store.insert(evs[..20].to_vec()).await.unwrap();
    // Re-inserting is harmless: ids are unique.
    store.insert(evs[15..].to_vec()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 30);

    let got = store.get("ev04".into()).await.unwrap().unwrap();
    assert_eq!(*evs[4], got);
    assert!(store.get("nope".into()).await.unwrap().is_none());

    let q = |pairs: &[(&str, &str)]| filter::parse_query(pairs.iter().copied(), &[]).unwrap();
    let ids = |p: &Page| p.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();

    // Newest first, paged by cursor, no event seen twice or skipped.
    let (f, mut page) = q(&[("limit", "7")]);
    let mut seen = Vec::new();
    loop {
        let p = store.query(f.clone(), page.clone()).await.unwrap();
        seen.extend(ids(&p));
        match p.next_cursor {
            Some(c) => page.cursor = Some(Cursor::decode(&c).unwrap()),
            None => break,
        }
    }
    let want: Vec<String> = (0..30).rev().map(|i| format!("ev{i:02}")).collect();
    assert_eq!(seen, want);

    let (f, p) = q(&[("class", "xss"), ("ip", "198.51.100.7")]);
    let r = store.query(f, p).await.unwrap();
    assert_eq!(ids(&r), ["ev27", "ev24", "ev21", "ev18", "ev15", "ev12"]);
    let (f, p) = q(&[("rule", "400001"), ("sort", "ts"), ("limit", "2")]);
    assert_eq!(ids(&store.query(f, p).await.unwrap()), ["ev01", "ev04"]);
    let (f, p) = q(&[("action", "allow"), ("from", &(base + 20_000).to_string())]);
    assert_eq!(
        ids(&store.query(f, p).await.unwrap()),
        ["ev29", "ev26", "ev23", "ev20"]
    );
    let (f, p) = q(&[("path", "/p/ev1"), ("min_score", "10")]);
    assert_eq!(
        ids(&store.query(f, p).await.unwrap()),
        ["ev18", "ev15", "ev12"]
    );
    let (f, p) = q(&[("status", "403"), ("to", &(base + 4_000).to_string())]);
    assert_eq!(ids(&store.query(f, p).await.unwrap()), ["ev03", "ev00"]);
    // Free text, with LIKE's wildcards taken literally.
    let (f, p) = q(&[("q", "1' OR '1'='1 50%"), ("limit", "1")]);
    assert_eq!(ids(&store.query(f, p).await.unwrap()), ["ev28"]);
    let (f, p) = q(&[("q", "_nothing%")]);
    assert!(store.query(f, p).await.unwrap().events.is_empty());
    let (f, p) = q(&[("sort", "-score"), ("limit", "3")]);
    let top = store.query(f, p).await.unwrap();
    assert!(top.events.iter().all(|e| e.score == 10), "{:?}", ids(&top));

    // Resuming a live stream after ev25.
    let after = store
        .since("ev25".into(), Filter::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["ev26", "ev27", "ev28", "ev29"]
    );

    // Traffic rows and stats.
    let minute = |m: u64, requests| TrafficMinute {
        minute_ms: base - base % 60_000 + m * 60_000,
        node: "n1".into(),
        requests,
        allowed: requests - 1,
        blocked: 1,
        latency: vec![0, requests, 0, 0, 1],
        ..TrafficMinute::default()
    };
    store
        .record_traffic(vec![minute(0, 10), minute(1, 20)])
        .await
        .unwrap();
    // The same minute again replaces this process's row.
    store.record_traffic(vec![minute(1, 25)]).await.unwrap();
    let stats = store
        .stats(StatsQuery {
            from_ms: base - base % 60_000,
            to_ms: base + 120_000,
            bucket_ms: 60_000,
            top: 2,
        })
        .await
        .unwrap();
    let reqs: Vec<u64> = stats.series.iter().map(|b| b.requests).collect();
    assert_eq!(&reqs[..2], [10, 25]);
    assert_eq!(stats.series[0].p50_us, Some(100));
    assert_eq!(
        stats.top_ips[0],
        Count {
            key: "198.51.100.7".into(),
            count: 13
        }
    );
    assert_eq!(stats.top_rules[0].key, "200001");
    assert_eq!(stats.top_classes.len(), 2);
    let bands: u64 = stats.score_histogram.iter().map(|c| c.count).sum();
    assert_eq!(bands, 20);

    // Retention by count, then by age.
    let removed = store
        .prune(
            Retention {
                max_age_ms: 0,
                max_events: 25,
                max_bytes: 0,
            },
            base,
        )
        .await
        .unwrap();
    assert_eq!(removed, 5);
    assert!(store.get("ev04".into()).await.unwrap().is_none());
    assert!(store.get("ev05".into()).await.unwrap().is_some());
    let removed = store
        .prune(
            Retention {
                max_age_ms: 10_000,
                max_events: 0,
                max_bytes: 0,
            },
            base + 30_000,
        )
        .await
        .unwrap();
    assert_eq!(removed, 15);
    assert_eq!(store.count().await.unwrap(), 10);
    let (f, p) = q(&[("rule", "200001")]);
    assert_eq!(store.query(f, p).await.unwrap().events.len(), 3);
}

/// Ids are random, so within one millisecond an event published later can
/// sort first: resuming after one must still bring every other of that
/// millisecond, and all later ones.
async fn resume_loses_nothing_within_a_millisecond(store: Arc<dyn Store>) {
    let ts = 1_700_000_000_000u64;
    let ev = |id: &str, ts| Arc::new(event(id, ts, "203.0.113.9", Action::Block, &[]));
    // Published in this order: "m" (seen last by the client), then "a" and "z".
    store
        .insert(vec![
            ev("m0", ts),
            ev("a0", ts),
            ev("z0", ts),
            ev("b1", ts + 1),
        ])
        .await
        .unwrap();
    let got = store
        .since("m0".into(), Filter::default(), 100)
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a0", "z0", "b1"]);
    let got = store
        .since("m0".into(), Filter::default(), 2)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn both_stores_resume_without_losing_same_millisecond_events() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = open(&crate::store::StoreUrl::Sqlite(dir.path().join("e.db")))
        .await
        .unwrap();
    resume_loses_nothing_within_a_millisecond(sqlite).await;
    let url = crate::testing::postgres_database("resume").await;
    resume_loses_nothing_within_a_millisecond(open(&url.parse().unwrap()).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_store_keeps_filters_pages_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("events.db");
    let store = open(&format!("sqlite:{}", path.display()).parse().unwrap())
        .await
        .unwrap();
    assert_eq!(store.kind(), "sqlite");
    exercise(store).await;
    // Reopening finds the same rows.
    let again = open(&StoreUrl::Sqlite(path.clone())).await.unwrap();
    assert_eq!(again.count().await.unwrap(), 10);
}

#[tokio::test]
async fn postgres_store_keeps_filters_pages_and_prunes() {
    let url = crate::testing::postgres_database("store").await;
    let store = open(&url.parse().unwrap()).await.unwrap();
    assert_eq!(store.kind(), "postgres");
    exercise(store).await;
}

/// 40 MB of events in a store bounded to 16 MiB: the oldest go, the newest
/// stay, and the store's size is within the bound afterwards.
async fn bounded_in_bytes(store: Arc<dyn Store>) {
    let max = 16u64 << 20;
    for b in 0..10u64 {
        let batch = (0..500u64)
            .map(|i| {
                let n = b * 500 + i;
                let mut e = event(
                    &format!("b{n:05}"),
                    1_000 + n,
                    "192.0.2.1",
                    Action::Block,
                    &[(1, Class::Sqli)],
                );
                e.query = format!("{n:08x}").repeat(1000);
                Arc::new(e)
            })
            .collect();
        store.insert(batch).await.unwrap();
    }
    assert!(store.size_bytes().await.unwrap() > max);
    let r = Retention {
        max_age_ms: 0,
        max_events: 0,
        max_bytes: max,
    };
    let removed = store.prune(r.clone(), 0).await.unwrap();
    let size = store.size_bytes().await.unwrap();
    assert!(size <= max, "{size} > {max} after removing {removed}");
    assert!(removed > 2_000 && removed < 5_000, "removed {removed}");
    assert!(store.get("b00000".into()).await.unwrap().is_none());
    assert!(store.get("b04999".into()).await.unwrap().is_some());
    assert_eq!(store.count().await.unwrap(), 5_000 - removed);
    // Within the bound: nothing more goes.
    assert_eq!(store.prune(r, 0).await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_store_is_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&crate::store::StoreUrl::Sqlite(dir.path().join("e.db")))
        .await
        .unwrap();
    bounded_in_bytes(store).await;
}

#[tokio::test]
async fn postgres_store_is_bounded_in_bytes() {
    let url = crate::testing::postgres_database("store_bytes").await;
    bounded_in_bytes(open(&url.parse().unwrap()).await.unwrap()).await;
}

#[tokio::test]
async fn writer_stores_every_accepted_event_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&crate::store::StoreUrl::Sqlite(dir.path().join("e.db")))
        .await
        .unwrap();
    let bus = crate::events::Publisher::disabled();
    let stats = Arc::clone(bus.stats());
    let (writer, tx) = writer::StoreWriter::start(
        Arc::clone(&store),
        Arc::clone(&stats),
        writer::WriterOptions::default(),
    );
    let bus = bus.with_store(tx);
    for i in 0..5000 {
        bus.publish(event(
            &format!("w{i}"),
            1000 + i,
            "192.0.2.1",
            Action::Block,
            &[(1, Class::Sqli)],
        ));
    }
    writer.close().await;
    assert_eq!(store.count().await.unwrap(), 5000);
    assert_eq!(
        stats.stored.load(std::sync::atomic::Ordering::Relaxed),
        5000
    );
    // After close, publishing is refused and counted, never blocking.
    bus.publish(event("late", 1, "192.0.2.1", Action::Block, &[]));
    assert_eq!(
        stats
            .store_dropped
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// The tables as schema version 1 made them: today's without `events.site`.
fn version_1_ddl(d: Dialect) -> String {
    let ddl = schema::ddl(d);
    let v1 = ddl.replace("    site TEXT NOT NULL DEFAULT '',\n", "");
    assert_ne!(v1, ddl, "the site column is where this test expects it");
    v1
}

/// An event as version 1 stored it: no `site` in the row or the document.
fn version_1_doc() -> String {
    let mut doc = serde_json::to_value(event(
        "old",
        1_700_000_000_000,
        "203.0.113.9",
        Action::Block,
        &[(200001, Class::Sqli)],
    ))
    .unwrap();
    doc.as_object_mut().unwrap().remove("site");
    doc.to_string()
}

/// After an upgrade: the old event reads with an empty site, new events
/// keep theirs, and `site=` filters in SQL as the live streams do.
async fn filters_by_site_after_upgrade(store: Arc<dyn Store>) {
    let old = store
        .get("old".into())
        .await
        .unwrap()
        .expect("the old event survives");
    assert_eq!(old.site, "");
    let mut evs = Vec::new();
    for (i, site) in ["shop", "api", "shop", "default"].iter().enumerate() {
        let mut e = event(
            &format!("s{i}"),
            1_700_000_001_000 + i as u64,
            "198.51.100.1",
            Action::Block,
            &[(300001, Class::Xss)],
        );
        e.site = (*site).to_owned();
        evs.push(Arc::new(e));
    }
    store.insert(evs.clone()).await.unwrap();
    let (f, p) = filter::parse_query([("site", "shop"), ("sort", "ts")], &[]).unwrap();
    let got: Vec<String> = store
        .query(f.clone(), p)
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(got, ["s0", "s2"]);
    let live: Vec<&str> = evs
        .iter()
        .filter(|e| f.matches(e))
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(live, ["s0", "s2"]);
    assert_eq!(store.get("s1".into()).await.unwrap().unwrap().site, "api");
}

#[tokio::test]
async fn a_version_1_sqlite_store_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&version_1_ddl(Dialect::Sqlite)).unwrap();
        c.execute(
            "INSERT INTO wafer_meta (key, value) VALUES ('schema', '1')",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO events (id, ts_ms, client_ip, method, host, path, action, status, score, doc)
             VALUES ('old', 1700000000000, '203.0.113.9', 'GET', 'shop.example', '/p/old', 'block', 403, 5, ?1)",
            [version_1_doc()],
        )
        .unwrap();
    }
    let store = open(&StoreUrl::Sqlite(path.clone())).await.unwrap();
    filters_by_site_after_upgrade(store).await;
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: String = c
        .query_row(
            "SELECT value FROM wafer_meta WHERE key = 'schema'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, schema::VERSION.to_string());
    // Opening again is a no-op, not a second ALTER.
    open(&StoreUrl::Sqlite(path)).await.unwrap();
}

#[tokio::test]
async fn a_version_1_postgres_store_is_upgraded_in_place() {
    let url = crate::testing::postgres_database("upgrade").await;
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.batch_execute(&version_1_ddl(Dialect::Postgres))
        .await
        .unwrap();
    c.execute(
        "INSERT INTO wafer_meta (key, value) VALUES ('schema', '1')",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO events (id, ts_ms, client_ip, method, host, path, action, status, score, doc)
         VALUES ('old', 1700000000000, '203.0.113.9', 'GET', 'shop.example', '/p/old', 'block', 403, 5, $1)",
        &[&version_1_doc()],
    )
    .await
    .unwrap();
    // Two nodes starting at once both see version 1: both upgrade, neither fails.
    let parsed: StoreUrl = url.parse().unwrap();
    let (a, b) = tokio::join!(open(&parsed), open(&parsed));
    drop(b.unwrap());
    filters_by_site_after_upgrade(a.unwrap()).await;
    let v: String = c
        .query_one("SELECT value FROM wafer_meta WHERE key = 'schema'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, schema::VERSION.to_string());
}
