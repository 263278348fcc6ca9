//! The transaction's phases and the policy's decisions, with rules made for the test.

use wafer_engine::decode::Transform;
use wafer_engine::{
    Action, BodyOverflow, BodyPlan, Class, Engine, EngineConfig, Flow, Limits, Mode, PathPattern,
    Policy, Request, Route, RuleSpec, Severity,
};

fn rule(
    id: u32,
    severity: Severity,
    paranoia: u8,
    targets: &[&str],
    pattern: &str,
) -> (String, RuleSpec) {
    (
        "test.toml".into(),
        RuleSpec {
            id,
            class: Class::Generic,
            severity,
            paranoia,
            targets: targets.iter().map(|s| s.to_string()).collect(),
            transforms: vec![Transform::Decode],
            pattern: pattern.into(),
            case_sensitive: false,
            description: format!("test rule {id}"),
            tags: vec![],
            weak: false,
            crs: None,
        },
    )
}

fn engine(policy: Policy, limits: Limits) -> Engine {
    Engine::build(EngineConfig {
        policy,
        limits,
        extra_rules: vec![
            rule(
                990001,
                Severity::Critical,
                1,
                &["args", "body"],
                "zzattackzz",
            ),
            rule(990002, Severity::Warning, 1, &["args"], "zzwarnzz"),
            rule(990003, Severity::Critical, 2, &["args"], "zzstrictzz"),
            rule(
                990004,
                Severity::Critical,
                1,
                &["header:x-probe"],
                "zzheaderzz",
            ),
            rule(
                990005,
                Severity::Critical,
                2,
                &["header:x-probe"],
                "zzstricthdrzz",
            ),
        ],
    })
    .expect("test rules compile")
}

fn get(target: &str) -> Request {
    Request::new("GET", target)
        .header("Host", "h")
        .header("User-Agent", "t")
        .header("Accept", "*/*")
}

fn post(target: &str, content_type: &str, body: &[u8]) -> Request {
    Request::new("POST", target)
        .header("Host", "h")
        .header("User-Agent", "t")
        .header("Accept", "*/*")
        .header("Content-Type", content_type)
        .header("Content-Length", &body.len().to_string())
        .body(body.to_vec())
}

fn ids(e: &Engine, r: &Request) -> Vec<u32> {
    e.inspect(r).findings.iter().map(|f| f.rule_id).collect()
}

#[test]
fn a_bad_head_stops_before_the_body() {
    let e = engine(Policy::default(), Limits::default());
    let mut tx = e.transaction();
    let head = post(
        "/?a=zzattackzz",
        "application/x-www-form-urlencoded",
        b"b=1",
    );
    assert_eq!(tx.on_request_head(head), Flow::Stop);
    assert_eq!(tx.body_plan(), BodyPlan::Skip);
    let v = tx.finish();
    assert_eq!((v.action, v.status), (Action::Block, Some(403)));
    assert_eq!(v.findings[0].location.to_string(), "query_arg:a");
}

#[test]
fn body_chunks_are_inspected_at_body_end() {
    let e = engine(Policy::default(), Limits::default());
    let mut tx = e.transaction();
    // The head announces the body; the chunks come later.
    let head = Request::new("POST", "/")
        .header("Host", "h")
        .header("User-Agent", "t")
        .header("Accept", "*/*")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Content-Length", "14");
    assert_eq!(tx.on_request_head(head), Flow::Continue);
    assert!(matches!(tx.body_plan(), BodyPlan::Inspect { limit } if limit == 128 * 1024));
    assert_eq!(tx.on_request_chunk(b"x=zzatt"), Flow::Continue);
    assert_eq!(tx.on_request_chunk(b"ackzz&y"), Flow::Continue);
    assert_eq!(tx.on_request_body_end(), Flow::Stop);
    let v = tx.finish();
    assert_eq!(v.action, Action::Block);
    assert_eq!(v.findings[0].location.to_string(), "body_arg:x");
}

#[test]
fn detect_mode_flags_and_forwards() {
    let e = engine(
        Policy {
            mode: Mode::Detect,
            ..Policy::default()
        },
        Limits::default(),
    );
    let v = e.inspect(&get("/?a=zzattackzz"));
    assert_eq!(
        (v.action, v.status, v.would_block),
        (Action::Flag, None, true)
    );
}

#[test]
fn off_mode_inspects_nothing() {
    let e = engine(
        Policy {
            mode: Mode::Off,
            ..Policy::default()
        },
        Limits::default(),
    );
    let v = e.inspect(&get("/?a=zzattackzz"));
    assert_eq!(
        (v.action, v.findings.len(), v.would_block),
        (Action::Allow, 0, false)
    );
}

#[test]
fn below_the_threshold_is_flagged_not_blocked() {
    let e = engine(Policy::default(), Limits::default());
    let v = e.inspect(&get("/?a=zzwarnzz"));
    assert_eq!((v.action, v.score), (Action::Flag, 3));
    let clean = e.inspect(&get("/?a=hello"));
    assert_eq!(clean.action, Action::Allow);
}

#[test]
fn a_rule_scores_once_however_many_values_it_matches() {
    let e = engine(Policy::default(), Limits::default());
    let v = e.inspect(&get("/?a=zzwarnzz&b=zzwarnzz&c=zzwarnzz"));
    assert_eq!(v.findings.len(), 3);
    assert_eq!(
        v.score, 3,
        "three matches of one warning rule stay below the threshold"
    );
    assert_eq!(v.action, Action::Flag);
}

#[test]
fn paranoia_gates_rules() {
    let pl1 = engine(Policy::default(), Limits::default());
    assert!(ids(&pl1, &get("/?a=zzstrictzz")).is_empty());
    let pl2 = engine(
        Policy {
            paranoia: 2,
            ..Policy::default()
        },
        Limits::default(),
    );
    assert_eq!(ids(&pl2, &get("/?a=zzstrictzz")), vec![990003]);
}

#[test]
fn routes_override_mode_threshold_and_rules() {
    let policy = Policy {
        routes: vec![
            Route {
                path: PathPattern::parse("/upload/*").unwrap(),
                mode: None,
                threshold: Some(100),
                paranoia: None,
                disabled_rules: vec![],
                anomaly_mode: None,
                anomaly_threshold: None,
                inspect_websocket: None,
            },
            Route {
                path: PathPattern::parse("/search").unwrap(),
                mode: None,
                threshold: None,
                paranoia: None,
                disabled_rules: vec!["990001".parse().unwrap()],
                anomaly_mode: None,
                anomaly_threshold: None,
                inspect_websocket: None,
            },
        ],
        disabled_rules: vec!["990004".parse().unwrap()],
        ..Policy::default()
    };
    let e = engine(policy, Limits::default());
    let up = e.inspect(&get("/upload/x?a=zzattackzz"));
    assert_eq!(
        (up.action, up.route.as_deref()),
        (Action::Flag, Some("/upload/*"))
    );
    assert_eq!(
        e.inspect(&get("/search?q=zzattackzz")).action,
        Action::Allow
    );
    assert_eq!(e.inspect(&get("/other?q=zzattackzz")).action, Action::Block);
    let probe = get("/").header("X-Probe", "zzheaderzz");
    assert_eq!(
        e.inspect(&probe).action,
        Action::Allow,
        "globally disabled rule"
    );
}

#[test]
fn routes_match_the_decoded_canonical_path() {
    let policy = Policy {
        routes: vec![Route {
            path: PathPattern::parse("/admin").unwrap(),
            mode: Some(Mode::Block),
            threshold: Some(1),
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: None,
        }],
        mode: Mode::Detect,
        ..Policy::default()
    };
    let e = engine(policy, Limits::default());
    let v = e.inspect(&get("/%61dmin?a=zzwarnzz"));
    assert_eq!(
        v.route.as_deref(),
        Some("/admin"),
        "an encoded path cannot dodge its route"
    );
    assert_eq!(v.action, Action::Block);
}

#[test]
fn oversize_body_under_reject_is_413() {
    let limits = Limits {
        body_inspect_bytes: 16,
        body_overflow: BodyOverflow::Reject,
        ..Limits::default()
    };
    let e = engine(Policy::default(), limits);
    let v = e.inspect(&post("/", "text/plain", &[b'a'; 64]));
    assert_eq!((v.action, v.status), (Action::Block, Some(413)));
    assert!(
        v.findings
            .iter()
            .any(|f| f.rule_id == wafer_engine::detect::protocol::BODY_OVER_LIMIT)
    );
}

#[test]
fn a_body_past_the_buffer_is_inspected_to_its_last_byte() {
    let limits = Limits {
        body_inspect_bytes: 32,
        ..Limits::default()
    };
    let e = engine(Policy::default(), limits);
    for body in [
        format!("a=zzattackzz&pad={}", "x".repeat(100)),
        format!("pad={}&a=zzattackzz", "x".repeat(100)),
        format!("pad={}&a=zzattackzz", "x".repeat(200_000)),
    ] {
        // Whole, and fed in chunks of every shape.
        let ct = "application/x-www-form-urlencoded";
        assert_eq!(
            e.inspect(&post("/", ct, body.as_bytes())).action,
            Action::Block
        );
        for n in [1, 7, 31, 32, 33, 4096] {
            let mut tx = e.transaction();
            assert_eq!(
                tx.on_request_head(post("/", ct, body.as_bytes())),
                Flow::Continue
            );
            assert!(matches!(tx.body_plan(), BodyPlan::Inspect { .. }));
            let mut flow = Flow::Continue;
            for c in body.as_bytes().chunks(n) {
                flow = tx.on_request_chunk(c);
                if flow == Flow::Stop {
                    break;
                }
            }
            if flow == Flow::Continue {
                flow = tx.on_request_body_end();
            }
            assert_eq!(flow, Flow::Stop, "chunks of {n}, body {}", body.len());
            assert_eq!(tx.finish().action, Action::Block);
        }
    }
    let clean = format!("pad={}&a=fine", "x".repeat(100));
    assert_eq!(
        e.inspect(&post(
            "/",
            "application/x-www-form-urlencoded",
            clean.as_bytes()
        ))
        .action,
        Action::Allow
    );
}

#[test]
fn a_body_past_the_largest_accepted_is_413() {
    let limits = Limits {
        body_inspect_bytes: 32,
        max_body_bytes: 100,
        ..Limits::default()
    };
    let e = engine(Policy::default(), limits);
    let v = e.inspect(&post("/", "text/plain", &[b'a'; 101]));
    assert_eq!((v.action, v.status), (Action::Block, Some(413)));
    assert!(
        v.findings
            .iter()
            .any(|f| f.rule_id == wafer_engine::detect::protocol::BODY_TOO_LARGE)
    );
    assert_eq!(
        e.inspect(&post("/", "text/plain", &[b'a'; 100])).action,
        Action::Allow
    );
}

#[test]
fn declared_binary_bodies_are_inspected_by_what_they_are() {
    let e = engine(Policy::default(), Limits::default());
    for ct in [
        "image/png",
        "application/octet-stream",
        "application/grpc",
        "application/zip",
    ] {
        let mut tx = e.transaction();
        let head = post("/upload", ct, b"q=zzattackzz");
        assert_eq!(tx.on_request_head(head), Flow::Continue);
        assert!(matches!(tx.body_plan(), BodyPlan::Inspect { .. }), "{ct}");
        let v = e.inspect(&post("/upload", ct, b"q=zzattackzz"));
        assert_eq!(v.action, Action::Block, "{ct}");
    }
    // Real binary data passes; a gRPC message's strings are read, and so
    // is a script hidden in an image.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
    assert_eq!(
        e.inspect(&post("/upload", "image/png", &png)).action,
        Action::Allow
    );
    let mut grpc = b"\x00\x00\x00\x00\x10\x0a\x0c".to_vec();
    grpc.extend_from_slice(b"q=zzattackzz\x10\x01");
    assert_eq!(
        e.inspect(&post("/rpc", "application/grpc", &grpc)).action,
        Action::Block
    );
    // Past the parse buffer, in one piece or many, an image is still an image.
    let mut big = png.clone();
    big.extend((0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
    big.extend_from_slice(b"\x00zzattackzz\x00");
    assert_eq!(
        e.inspect(&post("/upload", "image/png", &big)).action,
        Action::Allow
    );
    png.extend_from_slice(b"<?php system($_GET[1]); ?>");
    assert_eq!(
        e.inspect(&post("/upload", "image/png", &png)).action,
        Action::Block
    );
}

#[test]
fn findings_carry_the_decoded_value_and_why() {
    let e = engine(Policy::default(), Limits::default());
    let v = e.inspect(&get("/?q=%257a%257aattackzz"));
    let f = &v.findings[0];
    assert_eq!(f.value, "zzattackzz");
    assert_eq!(f.matched, "zzattackzz");
    assert_eq!(f.message, "test rule 990001");
    assert_eq!(f.score, 5);
}

#[test]
fn a_nul_hidden_under_encodings_is_still_a_nul() {
    let e = engine(Policy::default(), Limits::default());
    for q in ["/?f=a%00b", "/?f=a%2500b", "/?f=a%26%230%3Bb"] {
        assert!(
            ids(&e, &get(q)).contains(&1007),
            "{q}: {:?}",
            e.inspect(&get(q)).findings
        );
    }
}

#[test]
fn query_arguments_past_the_limit_are_a_finding() {
    let mut limits = Limits::default();
    limits.body.max_args = 10;
    let e = engine(Policy::default(), limits);
    let q: Vec<String> = (0..11).map(|i| format!("a{i}=1")).collect();
    assert!(ids(&e, &get(&format!("/?{}", q.join("&")))).contains(&1012));
    assert!(!ids(&e, &get(&format!("/?{}", q[..10].join("&")))).contains(&1012));
}

#[test]
fn binary_data_in_a_text_body_is_not_a_nul_attack_but_nul_in_args_is() {
    let e = engine(Policy::default(), Limits::default());
    let protobuf = b"\x0a\x05hello\x10\x00\x1a\x03\x00\x01\x02".to_vec();
    let v = e.inspect(&post("/rpc", "text/plain", &protobuf));
    assert_eq!(v.action, Action::Allow, "{:?}", v.findings);
    let v = e.inspect(&post(
        "/form",
        "application/x-www-form-urlencoded",
        b"a=x%00y",
    ));
    assert!(
        v.findings.iter().any(|f| f.rule_id == 1007),
        "{:?}",
        v.findings
    );
}

/// Header and cookie values found clean are remembered engine-wide (and across
/// policy changes): that must never hide a finding another path, paranoia
/// level or policy would make.
#[test]
fn remembered_clean_values_never_hide_a_finding() {
    let probe = |target: &str, value: &str| get(target).header("X-Probe", value);

    // An exclusion on one path hides the match there, not on the next path.
    let mut p = Policy::default();
    p.exclusions.push(wafer_engine::Exclusion::new(
        PathPattern::parse("/excluded").unwrap(),
        vec![wafer_engine::RuleRange::ids(990004, 990004)],
    ));
    let e = engine(p, Limits::default());
    assert!(!ids(&e, &probe("/excluded", "zzheaderzz")).contains(&990004));
    for _ in 0..3 {
        assert!(ids(&e, &probe("/other", "zzheaderzz")).contains(&990004));
    }

    // A rule disabled in one policy is back in the next, which shares the memo.
    let mut off = Policy::default();
    off.disabled_rules
        .push(wafer_engine::RuleRange::ids(990004, 990004));
    let e = engine(off, Limits::default());
    assert!(!ids(&e, &probe("/", "zzheaderzz")).contains(&990004));
    let back = e.with_policy(Policy::default());
    assert!(ids(&back, &probe("/", "zzheaderzz")).contains(&990004));

    // Clean at paranoia 1 is not clean at paranoia 2.
    let pl1 = engine(Policy::default(), Limits::default());
    for _ in 0..3 {
        assert!(!ids(&pl1, &probe("/", "zzstricthdrzz")).contains(&990005));
    }
    let pl2 = pl1.with_policy(Policy {
        paranoia: 2,
        ..Policy::default()
    });
    assert!(ids(&pl2, &probe("/", "zzstricthdrzz")).contains(&990005));

    // The same header name with another value is inspected afresh; the clean one stays clean.
    assert!(ids(&pl1, &probe("/", "harmless")).is_empty());
    assert!(ids(&pl1, &probe("/", "harmless")).is_empty());
    assert!(ids(&pl1, &probe("/", "harmless zzheaderzz")).contains(&990004));
}

#[test]
fn arguments_past_max_args_refuse_the_request_instead_of_going_uninspected() {
    let limits = Limits {
        body: wafer_engine::BodyLimits {
            max_args: 10,
            ..Default::default()
        },
        ..Limits::default()
    };
    let e = engine(Policy::default(), limits);
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("a{i}=x"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let too_many = wafer_engine::detect::protocol::TOO_MANY_ARGS;
    let v = e.inspect(&get(&format!("/?{}", many(11))));
    assert_eq!((v.action, v.status), (Action::Block, Some(413)));
    assert!(v.findings.iter().any(|f| f.rule_id == too_many));
    assert_eq!(
        e.inspect(&get(&format!("/?{}", many(10)))).action,
        Action::Allow
    );
    let form = "application/x-www-form-urlencoded";
    // Names count too: 5 pairs are 10 arguments, 6 pairs are 12.
    assert_eq!(
        e.inspect(&post("/", form, many(5).as_bytes())).action,
        Action::Allow
    );
    let v = e.inspect(&post("/", form, many(6).as_bytes()));
    assert_eq!((v.action, v.status), (Action::Block, Some(413)));
    // Past the parse buffer too, counted as the body streams.
    let streamed = Limits {
        body_inspect_bytes: 16,
        body: wafer_engine::BodyLimits {
            max_args: 10,
            ..Default::default()
        },
        ..Limits::default()
    };
    let e = engine(Policy::default(), streamed);
    let v = e.inspect(&post("/", form, many(6).as_bytes()));
    assert_eq!((v.action, v.status), (Action::Block, Some(413)));
    assert_eq!(
        e.inspect(&post("/", form, many(5).as_bytes())).action,
        Action::Allow
    );
}

#[test]
fn padding_a_body_with_binary_bytes_does_not_hide_a_form_in_it() {
    // A lenient back end still reads `q` out of each of these.
    let e = engine(Policy::default(), Limits::default());
    let controls = {
        let mut b = b"q=zzattackzz&pad=".to_vec();
        b.extend(std::iter::repeat_n(1u8, 500));
        b
    };
    let signature = {
        let mut b = b"\x89PNG\r\n\x1a\n\x00&q=zzattackzz&".to_vec();
        b.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
        b
    };
    for body in [&controls, &signature] {
        for ct in ["application/octet-stream", "image/png", "text/plain"] {
            assert_eq!(
                e.inspect(&post("/", ct, body)).action,
                Action::Block,
                "{ct}"
            );
        }
    }
    // Past the parse buffer too.
    let streamed = engine(
        Policy::default(),
        Limits {
            body_inspect_bytes: 64,
            ..Limits::default()
        },
    );
    let mut big = signature.clone();
    big.extend_from_slice(b"&q=zzattackzz&");
    big.extend((0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
    for ct in ["application/octet-stream", "text/plain"] {
        assert_eq!(
            streamed.inspect(&post("/", ct, &big)).action,
            Action::Block,
            "{ct}"
        );
    }
}

/// Percent-encodes everything but unreserved characters, for building query strings.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every finding says what matched: a piece of the value it carries, and for
/// a detector, only the attack when benign text surrounds it (the dashboard
/// shows it highlighted in the value).
#[test]
fn findings_show_the_matched_attack_inside_the_value() {
    let e = engine(Policy::default(), Limits::default());
    let cases = [
        ("sqli", "hello world' OR 1=1-- x", "' OR 1=1"),
        (
            "sqli",
            "great shoes' union select name, pass from users-- thanks",
            "union select",
        ),
        (
            "xss",
            "Great post! <script>alert(1)</script> thanks a lot",
            "<script>",
        ),
        (
            "xss",
            "my avatar <img src=x onerror=alert(1)> is here",
            "onerror=alert(1)",
        ),
        ("cmdi", "example.com; cat /etc/passwd", "cat /etc/passwd"),
        (
            "lfi",
            "report for images/../../../../etc/passwd please",
            "../../",
        ),
        (
            "ssrf",
            "see this http://169.254.169.254/latest/meta-data/ please",
            "169.254.169.254",
        ),
    ];
    for (what, value, attack) in cases {
        let v = e.inspect(&get(&format!("/page?q={}", enc(value))));
        let detector: Vec<_> = v
            .findings
            .iter()
            .filter(|f| (1100..1700).contains(&f.rule_id))
            .collect();
        assert!(
            !detector.is_empty(),
            "{what}: {value:?} not caught: {:?}",
            v.findings
        );
        for f in &v.findings {
            assert!(
                f.value.contains(&f.matched),
                "{what} {}: matched {:?} not in value {:?}",
                f.rule_id,
                f.matched,
                f.value
            );
        }
        for f in &detector {
            assert!(
                !f.matched.is_empty() && f.matched.len() < f.value.len(),
                "{what} {}: matched {:?} is not a part of {:?}",
                f.rule_id,
                f.matched,
                f.value
            );
        }
        assert!(
            detector.iter().any(|f| f.matched.contains(attack)),
            "{what}: no finding shows {attack:?}: {detector:?}"
        );
    }
}

/// In a long value the excerpt is cut around the attack, which it still holds
/// whole as matched, and the padding is not shown as matched.
#[test]
fn a_long_value_is_cut_around_the_match() {
    let e = engine(Policy::default(), Limits::default());
    let pad = "lorem ipsum dolor sit amet ".repeat(20);
    let value = format!("{pad}x' or 1=1-- {pad}");
    let v = e.inspect(&post(
        "/form",
        "application/x-www-form-urlencoded",
        format!("comment={}", enc(&value)).as_bytes(),
    ));
    let f = v
        .findings
        .iter()
        .find(|f| f.rule_id == 1104)
        .unwrap_or_else(|| panic!("not caught: {:?}", v.findings));
    assert!(f.value.len() <= 160, "{}", f.value.len());
    assert!(f.value.contains(&f.matched));
    assert!(f.matched.starts_with("' or 1=1"), "{:?}", f.matched);
    assert!(!f.matched.contains("lorem"), "{:?}", f.matched);
}

/// A protocol finding with a natural place names it; one whose value is the
/// evidence (a method, a header value) keeps the whole value as matched.
#[test]
fn protocol_findings_show_the_offending_character_or_value() {
    let e = engine(
        Policy {
            paranoia: 2,
            ..Policy::default()
        },
        Limits::default(),
    );
    let v = e.inspect(&get("/?f=name%00.php"));
    let nul = v
        .findings
        .iter()
        .find(|f| f.rule_id == 1007 && f.location.to_string() == "query_arg:f")
        .expect("NUL found");
    assert_eq!(
        (nul.value.as_str(), nul.matched.as_str()),
        ("name\\0.php", "\\0")
    );
    let v = e.inspect(&get("/?f=a%01b"));
    let ctl = v
        .findings
        .iter()
        .find(|f| f.rule_id == 1008 && f.location.to_string() == "query_arg:f")
        .expect("control found");
    assert_eq!(
        (ctl.value.as_str(), ctl.matched.as_str()),
        ("a\u{1}b", "\u{1}")
    );
    let v = e.inspect(&Request::new("BREW", "/").header("Host", "h"));
    let m = v
        .findings
        .iter()
        .find(|f| f.rule_id == 1001)
        .expect("method found");
    assert_eq!((m.value.as_str(), m.matched.as_str()), ("BREW", "BREW"));
}
