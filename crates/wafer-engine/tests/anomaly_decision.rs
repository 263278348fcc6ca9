//! The anomaly model in the decision: its own contribution with its own
//! threshold and mode, per route, and tunable like a rule (1900).

use wafer_engine::anomaly::{ForestParams, Model};
use wafer_engine::policy::{ANOMALY_RULE, Exclusion, PathPattern, Route, RuleRange};
use wafer_engine::{Action, Class, Engine, EngineConfig, Mode, Policy, Request};

/// A small shop's normal traffic: product pages with numeric ids, searches with words.
fn normal(i: u32) -> Request {
    let words = [
        "blue shoes",
        "red hat",
        "linen shirt",
        "wool socks",
        "rain coat",
    ];
    let target = if i.is_multiple_of(2) {
        format!("/product/{}?ref=home&page={}", 1000 + i, i % 7)
    } else {
        format!(
            "/search?q={}&page={}",
            words[i as usize % 5].replace(' ', "+"),
            i % 4
        )
    };
    Request::new("GET", &target)
        .header("Host", "shop.example")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        )
        .header("Accept", "text/html")
}

fn model() -> Model {
    let train: Vec<Request> = (0..600).map(normal).collect();
    Model::train(&train, &ForestParams::default(), 0.01, 0).unwrap()
}

/// No signature fires on it, but nothing like it was ever seen on this site.
fn odd() -> Request {
    let blob = "Zx9QkLmW3vBt7YpR2sNd".repeat(40);
    Request::new(
        "GET",
        &format!("/search?q={blob}&page=1&dbg=1&trace=on&x1=a&x2=b&x3=c"),
    )
    .header("Host", "shop.example")
}

fn engine(policy: Policy) -> Engine {
    Engine::build(EngineConfig {
        policy,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn decide(e: &Engine, m: &Model, req: &Request) -> wafer_engine::Verdict {
    let mut tx = e.transaction();
    let _ = tx.on_request_head(req.clone());
    let _ = tx.on_request_body_end();
    tx.score_anomaly(m, "test-model");
    tx.finish()
}

#[test]
fn an_anomalous_request_is_flagged_by_default_and_blocked_when_asked() {
    let m = model();
    let e = engine(Policy::default());
    assert_eq!(
        e.inspect(&odd()).action,
        Action::Allow,
        "no signature fires on it"
    );

    let v = decide(&e, &m, &odd());
    let a = v.anomaly.as_ref().unwrap();
    assert!(a.anomalous, "score {} threshold {}", a.score, a.threshold);
    assert_eq!((v.action, a.mode), (Action::Flag, Mode::Detect));
    assert!(!a.top.is_empty());
    let f = v
        .findings
        .iter()
        .find(|f| f.rule_id == ANOMALY_RULE)
        .unwrap();
    assert_eq!((f.class, f.score), (Class::Anomaly, 0));
    assert_eq!(v.score, 0, "the model adds no signature points");

    let normal_v = decide(&e, &m, &normal(3));
    assert_eq!(normal_v.action, Action::Allow);
    assert!(!normal_v.anomaly.unwrap().anomalous);

    let mut p = Policy::default();
    p.anomaly.mode = Mode::Block;
    let v = decide(&engine(p), &m, &odd());
    assert_eq!((v.action, v.status), (Action::Block, Some(403)));
}

#[test]
fn routes_thresholds_exclusions_and_off_apply() {
    let m = model();
    let mut p = Policy::default();
    p.anomaly.mode = Mode::Block;
    p.routes.push(Route {
        path: PathPattern::parse("/search").unwrap(),
        mode: None,
        threshold: None,
        paranoia: None,
        disabled_rules: vec![],
        anomaly_mode: Some(Mode::Detect),
        anomaly_threshold: None,
        inspect_websocket: None,
    });
    let v = decide(&engine(p.clone()), &m, &odd());
    assert_eq!(v.action, Action::Flag, "the route only flags");

    // A threshold no score reaches.
    p.routes[0].anomaly_threshold = Some(0.999);
    let v = decide(&engine(p.clone()), &m, &odd());
    assert_eq!(v.action, Action::Allow);
    assert_eq!(v.anomaly.unwrap().threshold, 0.999);

    // Excluding rule 1900 on the path: not scored at all.
    let mut q = Policy::default();
    q.exclusions.push(Exclusion::new(
        PathPattern::parse("/search").unwrap(),
        vec![RuleRange::ids(ANOMALY_RULE, ANOMALY_RULE)],
    ));
    let v = decide(&engine(q), &m, &odd());
    assert!(v.anomaly.is_none());
    assert_eq!(v.action, Action::Allow);

    let mut off = Policy::default();
    off.anomaly.mode = Mode::Off;
    assert!(decide(&engine(off), &m, &odd()).anomaly.is_none());
}
