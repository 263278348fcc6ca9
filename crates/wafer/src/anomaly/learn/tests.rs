use super::*;
use wafer_engine::Request;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sample(i: usize) -> Sample {
    Sample::of(&Request::new("GET", &format!("/p/{i}?a=1")).header("Host", "h"))
}

/// 64 arguments with the longest names: a sample near `Sample::MAX_BYTES`.
fn fat(i: usize) -> Sample {
    let q: String = (0..64)
        .map(|k| format!("{}{k}=v&", "n".repeat(200)))
        .collect();
    Sample::of(&Request::new("GET", &format!("/f/{i}?{q}")))
}

fn limits(share: f64, min_clients: usize) -> LearnLimits {
    LearnLimits {
        client_share_pct: share,
        min_clients,
        ..LearnLimits::default()
    }
}

/// Offers as the proxy does: asks first, then offers the clean sample.
fn feed(l: &Learner, client: &str, s: Sample) -> Option<Vec<Sample>> {
    if !l.takes(ip(client)) {
        return None;
    }
    l.offer(ip(client), s, true)
}

#[test]
fn one_client_gives_at_most_its_share() {
    let l = Learner::new(100, limits(5.0, 1), "unused".into());
    for i in 0..50 {
        assert!(feed(&l, "192.0.2.1", sample(i)).is_none());
    }
    // An IPv6 client is its /64: other addresses in it are the same client.
    for i in 0..50 {
        let addr = format!("2001:db8:1:2::{:x}", i + 1);
        assert!(feed(&l, &addr, sample(i)).is_none());
    }
    let s = l.status();
    assert_eq!((s.requests, s.clients, s.max_per_client), (10, 2, 5));
    assert_eq!(s.skipped_share, 90);
    assert_eq!(s.state, "collecting");
    assert!(s.reason.contains("10 of 100"), "{}", s.reason);
}

#[test]
fn requests_with_findings_are_not_kept() {
    let l = Learner::new(100, limits(100.0, 1), "unused".into());
    assert!(l.takes(ip("192.0.2.1")));
    assert!(l.offer(ip("192.0.2.1"), sample(1), false).is_none());
    let s = l.status();
    assert_eq!((s.requests, s.skipped_findings, s.bytes), (0, 1, 0));
}

#[test]
fn a_set_from_too_few_clients_waits_and_new_clients_replace() {
    let l = Learner::new(10, limits(50.0, 3), "unused".into());
    for i in 0..20 {
        let client = if i % 2 == 0 { "192.0.2.1" } else { "192.0.2.2" };
        assert!(
            feed(&l, client, sample(i)).is_none(),
            "trained on 2 clients"
        );
    }
    let s = l.status();
    assert_eq!(
        (s.state, s.requests, s.clients),
        ("waiting_for_clients", 10, 2)
    );
    assert!(
        s.reason.contains("2 distinct clients") && s.reason.contains("at least 3"),
        "{}",
        s.reason
    );
    assert!(l.wants(), "learning goes on");
    // A client already in the set is not taken again.
    assert!(!l.takes(ip("192.0.2.1")));
    let set = feed(&l, "198.51.100.7", sample(99)).expect("a third client completes it");
    assert_eq!(set.len(), 10, "a replacement, not an addition");
    assert!(set.contains(&sample(99)));
    let s = l.status();
    assert_eq!((s.state, s.requests, s.clients), ("training", 10, 3));
    assert!(!l.wants() && !l.takes(ip("203.0.113.1")));
    assert!(
        l.offer(ip("203.0.113.1"), sample(1), true).is_none(),
        "only once"
    );
}

#[test]
fn the_byte_budget_holds() {
    let max_bytes = 8 * MAX_SAMPLE_COST + 100;
    let l = Learner::new(
        1000,
        LearnLimits {
            max_bytes,
            client_share_pct: 100.0,
            min_clients: 1,
        },
        "unused".into(),
    );
    assert!(fat(0).bytes() > Sample::MAX_BYTES / 2, "{}", fat(0).bytes());
    let mut set = None;
    for i in 0..100 {
        let client = format!("192.0.2.{}", i % 50 + 1);
        if let Some(s) = feed(&l, &client, fat(i)) {
            set = Some(s);
            break;
        }
        assert!(l.status().bytes <= max_bytes);
    }
    let set = set.expect("complete when no more room");
    let s = l.status();
    assert!(
        s.bytes <= max_bytes && s.bytes + MAX_SAMPLE_COST > max_bytes,
        "{s:?}"
    );
    assert_eq!(set.len(), s.requests);
    assert!(set.len() < 1000);
}

#[test]
fn zero_turns_learning_off() {
    let l = Learner::new(0, LearnLimits::default(), "unused".into());
    assert!(!l.wants() && !l.takes(ip("192.0.2.1")));
    assert_eq!(l.status().state, "off");
}
