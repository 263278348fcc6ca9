//! Suggestions from events in a real SQLite file and in the local PostgreSQL.

use std::sync::Arc;

use super::*;
use crate::store::{Store, open};
use wafer_engine::finding::{Finding, Severity};
use wafer_engine::{Class, Mode};

const NOW: u64 = 1_800_000_000_000;

fn finding(rule_id: u32, part: Part, name: &str, matched: &str) -> Finding {
    Finding {
        rule_id,
        class: Class::Xss,
        severity: Severity::Critical,
        paranoia: 1,
        location: Location::new(part, Some(name)),
        value: matched.into(),
        matched: matched.into(),
        message: "test rule".into(),
        score: 5,
        crs: Vec::new(),
    }
}

fn event(id: &str, ts_ms: u64, ip: &str, path: &str, findings: Vec<Finding>) -> Arc<Event> {
    let score = findings.iter().map(|f| f.score).sum();
    Arc::new(Event {
        id: id.into(),
        ts_ms,
        client_ip: ip.parse().unwrap(),
        method: "POST".into(),
        host: "notes.example".into(),
        site: "default".into(),
        path: path.into(),
        query: String::new(),
        user_agent: "test".into(),
        headers: vec![],
        action: Action::Block,
        status: Some(403),
        score,
        threshold: 5,
        mode: Mode::Block,
        route: None,
        reason: None,
        findings,
        anomaly: None,
        inspect_us: 10,
        dropped_before: 0,
        findings_omitted: 0,
        headers_omitted: 0,
        sampled_before: 0,
    })
}

const BANNED: &str = "198.51.100.99";

/// Three groups and some noise:
/// - rule 941100 in body argument `content` of `/notes/N/save`, 6 clients, nothing else: proposed;
/// - rule 942100 in query argument `q` of `/search`, 6 clients, each request also
///   with 932100 in `cmd`: not proposed;
/// - rule 930100 in `name` of `/files`, 2 clients: not proposed.
fn seed() -> Vec<Arc<Event>> {
    let mut v = Vec::new();
    for i in 0..6u64 {
        let ip = format!("203.0.113.{}", i + 1);
        // Each client twice, on two notes: the path template folds the id.
        for n in 0..2u64 {
            v.push(event(
                &format!("a{i}{n}"),
                NOW - 3_600_000 * (i + 1) - n,
                &ip,
                &format!("/notes/{}/save", 100 + i * 2 + n),
                vec![finding(
                    941100,
                    Part::BodyArg,
                    "content",
                    "<img src=x onerror=",
                )],
            ));
        }
        v.push(event(
            &format!("b{i}"),
            NOW - 7_200_000,
            &format!("192.0.2.{}", i + 1),
            "/search",
            vec![
                finding(942100, Part::QueryArg, "q", "' or 1=1"),
                finding(932100, Part::QueryArg, "cmd", ";cat /etc/passwd"),
            ],
        ));
    }
    // Counter-evidence for the proposed group: one request with something else too.
    v.push(event(
        "a-mixed",
        NOW - 60_000,
        "203.0.113.50",
        "/notes/7/save",
        vec![
            finding(941100, Part::BodyArg, "content", "<img src=x onerror="),
            finding(942100, Part::BodyArg, "title", "' or 1=1"),
        ],
    ));
    // A banned client does not count.
    v.push(event(
        "a-banned",
        NOW - 120_000,
        BANNED,
        "/notes/9/save",
        vec![finding(941100, Part::BodyArg, "content", "<img")],
    ));
    for i in 0..2 {
        v.push(event(
            &format!("c{i}"),
            NOW - 1000,
            &format!("198.51.100.{}", i + 1),
            "/files",
            vec![finding(930100, Part::QueryArg, "name", "../")],
        ));
    }
    // Outside the 7-day window: would make `/old` reach 6 clients if it were read.
    for i in 0..6 {
        v.push(event(
            &format!("old{i}"),
            NOW - 8 * 86_400_000,
            &format!("10.0.0.{}", i + 1),
            "/old",
            vec![finding(941100, Part::QueryArg, "x", "<script")],
        ));
    }
    v
}

fn banned(ip: IpAddr) -> bool {
    ip == BANNED.parse::<IpAddr>().unwrap()
}

async fn proposes_only_what_the_evidence_supports(store: Arc<dyn Store>) {
    store.insert(seed()).await.unwrap();
    let policy = Policy::default();
    let p = Params::new(NOW);
    let r = suggest(&*store, policy.clone(), Arc::new(banned), &p)
        .await
        .unwrap();
    assert_eq!(
        r.scanned,
        seed().len() - 6,
        "the old events are outside the window"
    );
    assert!(!r.truncated);
    assert_eq!(r.suggestions.len(), 1, "{:#?}", r.suggestions);
    let s = &r.suggestions[0];
    assert_eq!(s.rules.len(), 1);
    assert_eq!((s.rules[0].rule_id, s.rules[0].clients), (941100, 6));
    assert_eq!(s.path, "/notes/*/save");
    assert_eq!(s.exclusion.path, "/notes/*/save");
    assert_eq!(s.exclusion.rules, ["941100"]);
    assert_eq!(s.exclusion.args, ["content"]);
    assert!(s.id.starts_with("sg-"));
    assert_eq!(s.evidence.clients, 6);
    assert_eq!(s.evidence.requests, 12);
    assert_eq!(s.evidence.counter_evidence, 1);
    assert_eq!(s.evidence.banned_clients, 1);
    assert_eq!(s.evidence.first_seen_ms, NOW - 6 * 3_600_000 - 1);
    assert_eq!(s.evidence.last_seen_ms, NOW - 3_600_000);
    assert_eq!(s.evidence.examples, ["<img src=x onerror="]);
    // 12 clean + the banned one would pass; the mixed one keeps 5 points of another rule.
    assert_eq!(s.preview.blocked, 14);
    assert_eq!(s.preview.would_pass, 13);
    assert!(s.preview.examples.iter().all(|e| e.score_after == 0));

    // The id is stable across runs.
    let again = suggest(&*store, policy.clone(), Arc::new(banned), &p)
        .await
        .unwrap();
    assert_eq!(again.suggestions[0].id, s.id);

    // Two clients are enough when the owner says so; the mixed group never is.
    let mut low = p.clone();
    low.min_clients = 2;
    let r = suggest(&*store, policy.clone(), Arc::new(banned), &low)
        .await
        .unwrap();
    let rules: Vec<&[String]> = r
        .suggestions
        .iter()
        .map(|s| s.exclusion.rules.as_slice())
        .collect();
    assert_eq!(rules, [["941100"], ["930100"]]);

    // Once the exclusion is in the policy, the group is covered: not proposed.
    let doc = crate::admin::policy::PolicyDoc {
        mode: "block".into(),
        paranoia: 1,
        threshold: 5,
        disabled_rules: vec![],
        routes: vec![],
        exclusions: vec![s.exclusion.clone()],
        ip: Default::default(),
        anomaly: Default::default(),
        inspect_websocket: true,
        apps: None,
        rate_limits: None,
        bans: None,
    };
    let (covered, _, _) = doc.build(&policy, &Default::default()).unwrap();
    let r = suggest(&*store, covered, Arc::new(banned), &p)
        .await
        .unwrap();
    assert!(r.suggestions.is_empty(), "{:#?}", r.suggestions);

    // Bounded: at most max_events read, and the answer says so.
    let mut small = p.clone();
    small.max_events = 5;
    let r = suggest(&*store, policy.clone(), Arc::new(banned), &small)
        .await
        .unwrap();
    assert_eq!((r.scanned, r.truncated), (5, true));
}

#[tokio::test]
async fn sqlite_store_suggests_narrow_exclusions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&crate::store::StoreUrl::Sqlite(dir.path().join("e.db")))
        .await
        .unwrap();
    proposes_only_what_the_evidence_supports(store).await;
}

#[tokio::test]
async fn postgres_store_suggests_narrow_exclusions() {
    let url = crate::testing::postgres_database("suggest").await;
    proposes_only_what_the_evidence_supports(open(&url.parse().unwrap()).await.unwrap()).await;
}

/// Real content trips several rules on one value (an `<iframe>` in a CMS
/// field: two XSS rules): those are one place, one suggestion with both rules,
/// and the preview counts the requests as passing. A rule only one client
/// tripped there is left out of it.
#[test]
fn several_rules_on_one_value_make_one_suggestion() {
    let mut evs: Vec<Event> = (0..5)
        .map(|i| {
            (*event(
                &format!("m{i}"),
                NOW - i,
                &format!("203.0.113.{}", i + 1),
                "/api/cells/3",
                vec![
                    finding(
                        300030,
                        Part::BodyArg,
                        &format!("cells.{i}.source"),
                        "<iframe",
                    ),
                    finding(
                        1205,
                        Part::BodyArg,
                        &format!("cells.{i}.source"),
                        "<iframe src",
                    ),
                ],
            ))
            .clone()
        })
        .collect();
    evs.push(
        (*event(
            "lone",
            NOW,
            "192.0.2.200",
            "/api/cells/4",
            vec![
                finding(300030, Part::BodyArg, "cells.0.source", "<iframe"),
                finding(300001, Part::BodyArg, "cells.0.source", "<script"),
            ],
        ))
        .clone(),
    );
    let r = analyse(&evs, &Policy::default(), &|_| false, 5);
    assert_eq!(r.suggestions.len(), 1);
    let s = &r.suggestions[0];
    assert_eq!(s.exclusion.path, "/api/cells/*");
    assert_eq!(s.exclusion.args, ["cells.*.source"]);
    assert_eq!(s.exclusion.rules, ["1205", "300030"]);
    assert_eq!(s.evidence.clients, 6);
    assert_eq!(s.evidence.counter_evidence, 0);
    // The five pass; the lone one keeps 300001's points.
    assert_eq!((s.preview.blocked, s.preview.would_pass), (6, 5));
}

#[test]
fn places_no_pattern_can_name_are_not_proposed() {
    let evs: Vec<Event> = (0..6)
        .map(|i| {
            (*event(
                &format!("h{i}"),
                NOW,
                &format!("203.0.113.{}", i + 1),
                "/x",
                vec![finding(941100, Part::BodyArg, "header:evil", "<a")],
            ))
            .clone()
        })
        .collect();
    let r = analyse(&evs, &Policy::default(), &|_| false, 5);
    assert!(r.suggestions.is_empty());
}
