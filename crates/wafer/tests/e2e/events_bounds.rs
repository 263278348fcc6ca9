//! Event amplification end to end: a whole Wafer node with a real SQLite
//! store, flooded over raw sockets by one client whose every request carries a
//! 120 KiB argument name of attack tokens. Every request is blocked; the
//! events are bounded in size, the client's flood is sampled and counted.

use serde_json::Value;

use crate::admin::Node;
use crate::recorder::{send_raw, statuses};

/// A form POST of 124 KiB (within the 128 KiB Wafer parses into named
/// arguments) whose argument name is 120 KiB of attack tokens. The tokens hold
/// no `&`, `=`, `+` or `%`: only spaces need encoding.
fn hostile_post() -> Vec<u8> {
    let token = "' UNION SELECT password FROM users-- <script>alert(1)</script> ../../etc/passwd ";
    let name = token.repeat(120 * 1024 / token.len());
    let body = format!("{name}={}", token.repeat(16)).replace(' ', "+");
    let mut req = format!(
        "POST /search HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in metrics"))
}

#[tokio::test]
async fn a_flood_of_huge_hostile_requests_makes_bounded_sampled_events() {
    let node = Node::start_cfg(|cfg| {
        cfg.event_bounds.sample.per_sec = 1;
        cfg.event_bounds.sample.burst = 5;
        cfg.event_bounds.sample.one_in = 10;
    })
    .await;
    let req = hostile_post();
    assert!(req.len() > 120 * 1024 && req.len() < 128 * 1024);
    for i in 0..40 {
        let resp = send_raw(node.running.proxy_addr, &req).await;
        assert_eq!(
            statuses(&resp),
            [403],
            "request {i}: {}",
            &resp[..resp.len().min(200)]
        );
    }
    // The burst of 5, then one in 10 of the other 35, plus a token a second
    // for however long the 40 requests took.
    node.stored(8).await;
    let (_, v) = node.api("/api/events?limit=100").await;
    let events = v["events"].as_array().unwrap();
    assert!((8..=25).contains(&events.len()), "{} events", events.len());
    let (_, metrics) = node.raw("/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics);
    let sampled = metric(&metrics, "wafer_events_sampled_total");
    assert_eq!(sampled + events.len() as u64, 40, "{metrics}");
    let noted: u64 = events
        .iter()
        .map(|e| e["sampled_before"].as_u64().unwrap_or(0))
        .sum();
    // Each kept event says how many went before it; only the last few
    // (fewer than one in 10) wait for a next kept event to be told.
    assert!(
        noted <= sampled && sampled - noted < 10,
        "noted {noted} of {sampled}"
    );
    for e in events {
        let doc = serde_json::to_string(e).unwrap();
        assert!(doc.len() < 20 * 1024, "an event of {} bytes", doc.len());
        let findings = e["findings"].as_array().unwrap();
        assert!(!findings.is_empty());
        for f in findings {
            let name = f["location"]["name"].as_str().unwrap_or_default();
            assert!(
                name.len() <= 128 + 32,
                "argument name of {} bytes",
                name.len()
            );
        }
        let cut = findings.iter().any(|f| {
            f["location"]["name"]
                .as_str()
                .is_some_and(|n| n.contains("\u{2026}[+"))
        });
        assert!(cut, "a cut name says so: {}", &doc[..doc.len().min(600)]);
        assert_eq!(e["action"], Value::from("block"));
    }
}
