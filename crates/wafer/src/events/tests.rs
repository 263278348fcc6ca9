//! What a hostile request can make of an event, and what a flood can make of
//! the queues behind the bus.

use super::*;
use wafer_engine::{Engine, Request};

/// A 128 KiB argument name of attack tokens, as in the amplification report.
fn flood_target() -> String {
    let token = "' UNION SELECT password FROM users-- <script>alert(1)</script> ../../etc/passwd ";
    let name = token.repeat(128 * 1024 / token.len());
    format!(
        "/search?{}={}",
        urlencode(&name),
        urlencode(&token.repeat(64))
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn verdict_event(target: &str, headers: &http::HeaderMap) -> (Verdict, Event) {
    let engine = Engine::builtin();
    let verdict = engine.inspect(&Request::new("GET", target));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let facts = RequestFacts {
        id: "r1".into(),
        ts_ms: 1_000,
        client_ip: "203.0.113.7".parse().unwrap(),
        method: "GET".into(),
        host: "shop.example".into(),
        site: "default".into(),
        path: path.into(),
        query: query.into(),
        user_agent: "sqlmap ".repeat(10_000),
    };
    let ev = Event::from_verdict(&facts, headers, 1, &verdict);
    (verdict, ev)
}

#[test]
fn a_huge_argument_name_makes_a_small_event_with_markers() {
    let mut headers = http::HeaderMap::new();
    for i in 0..200 {
        headers.insert(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
            http::HeaderValue::from_str(&"v".repeat(60_000)).unwrap(),
        );
    }
    let (verdict, mut ev) = verdict_event(&flood_target(), &headers);
    assert!(verdict.findings.len() > 2, "{}", verdict.findings.len());
    let whole: usize = verdict
        .findings
        .iter()
        .map(|f| f.location.name.as_ref().map_or(0, String::len))
        .sum();
    assert!(
        whole >= 128 * 1024,
        "the engine's findings carry the name: {whole}"
    );
    let size = bounds::fit(&mut ev, bounds::DEFAULT_MAX_EVENT_BYTES);
    let json = serde_json::to_string(&ev).unwrap();
    assert!(
        json.len() <= bounds::DEFAULT_MAX_EVENT_BYTES + 4096,
        "{}",
        json.len()
    );
    assert!(size <= bounds::DEFAULT_MAX_EVENT_BYTES, "{size}");
    // Every cut says so, and how much was left out.
    let name = ev
        .findings
        .iter()
        .filter_map(|f| f.location.name.as_deref())
        .max_by_key(|n| n.len())
        .unwrap();
    assert!(name.len() < 200 && name.contains("\u{2026}[+"), "{name}");
    assert!(ev.query.contains("\u{2026}[+"), "{}", &ev.query[..40]);
    assert!(ev.user_agent.ends_with(" bytes]"));
    assert!(ev.headers.len() < 64);
    assert_eq!(ev.headers.len() as u32 + ev.headers_omitted, 200);
    assert!(
        ev.headers[0].1.contains("[+59488 bytes]"),
        "{}",
        ev.headers[0].1
    );
    assert_eq!(
        ev.findings.len() as u32 + ev.findings_omitted,
        verdict.findings.len() as u32
    );
    // The score is the verdict's, findings left out included.
    assert_eq!(ev.score, verdict.score);
}

#[test]
fn findings_are_capped_with_every_rule_named_first() {
    let engine = Engine::builtin();
    let v = engine.inspect(&Request::new("GET", "/?q=%27%20UNION%20SELECT%201--"));
    let f = v.findings.first().cloned().expect("a finding");
    let mut many: Vec<_> = std::iter::repeat_n(f.clone(), 500).collect();
    let mut other = f;
    other.rule_id = 999_999;
    many.push(other);
    let (kept, omitted) = bounds::pick_findings(&many);
    assert_eq!(kept.len(), bounds::FINDINGS_MAX);
    assert_eq!(omitted as usize, 501 - bounds::FINDINGS_MAX);
    assert!(kept.iter().any(|f| f.rule_id == 999_999));
}

#[test]
fn cookies_keep_names_not_values_and_long_cookie_headers_stay_bounded() {
    let mut headers = http::HeaderMap::new();
    let cookie = (0..5_000)
        .map(|i| format!("c{i}={}", "s".repeat(20)))
        .collect::<Vec<_>>()
        .join("; ");
    headers.insert("cookie", http::HeaderValue::from_str(&cookie).unwrap());
    let h = capture_headers(&headers);
    assert!(
        h[0].1
            .starts_with("c0=\u{2039}redacted, 20 bytes\u{203a}; c1=")
    );
    assert!(
        h[0].1.len() < bounds::HEADER_VALUE_MAX + 200,
        "{}",
        h[0].1.len()
    );
    assert!(!h[0].1.contains("sss"));
}

fn small_event(base: &Event, id: u64, ip: &str) -> Event {
    let mut ev = base.clone();
    ev.id = format!("e{id}");
    ev.ts_ms = 1_000;
    ev.client_ip = ip.parse().unwrap();
    ev
}

#[test]
fn a_flooding_client_is_sampled_and_counted_another_is_not() {
    let bus = Publisher::new(EventBounds {
        sample: SampleRate {
            per_sec: 10,
            burst: 10,
            one_in: 100,
            max_clients: 1000,
        },
        ..EventBounds::default()
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(100_000);
    let bus = bus.with_file(
        Queue::new(tx, ByteBudget::new(1 << 30)),
        Arc::new(EventStats::default()),
    );
    let (_, base) = verdict_event("/?q=%27%20UNION%20SELECT%201--", &http::HeaderMap::new());
    for i in 0..1_010 {
        bus.publish(small_event(&base, i, "203.0.113.7"));
    }
    bus.publish(small_event(&base, 5_000, "198.51.100.1"));
    let got: Vec<Queued> = rx.try_iter().collect();
    let s = bus.stats();
    assert_eq!(got.len(), 10 + 10 + 1);
    assert_eq!(s.published.load(Ordering::Relaxed), 21);
    assert_eq!(s.sampled.load(Ordering::Relaxed), 990);
    // Each kept event past the burst says how many of this client's went before it.
    assert_eq!(got[10].event.sampled_before, 99);
    assert_eq!(got[20].event.client_ip.to_string(), "198.51.100.1");
    assert_eq!(got[20].event.sampled_before, 0);
}

#[test]
fn queues_are_bounded_in_bytes_and_drops_counted() {
    let bus = Publisher::disabled();
    let (tx, rx) = std::sync::mpsc::sync_channel(100_000);
    let budget = ByteBudget::new(1 << 20);
    let bus = bus.with_file(
        Queue::new(tx, Arc::clone(&budget)),
        Arc::new(EventStats::default()),
    );
    let mut headers = http::HeaderMap::new();
    for i in 0..64 {
        headers.insert(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
            http::HeaderValue::from_str(&"v".repeat(1000)).unwrap(),
        );
    }
    let (_, big) = verdict_event(&flood_target(), &headers);
    for i in 0..1_000 {
        let mut e = big.clone();
        e.id = format!("b{i}");
        bus.publish(e);
    }
    let queued: Vec<Queued> = rx.try_iter().collect();
    let bytes: usize = queued.iter().map(|q| q.bytes).sum();
    assert!(bytes <= 1 << 20, "{bytes}");
    assert_eq!(budget.used(), bytes);
    let s = bus.stats();
    assert!(queued.len() < 100, "{}", queued.len());
    assert_eq!(
        s.file_dropped.load(Ordering::Relaxed) + queued.len() as u64,
        1_000
    );
}
