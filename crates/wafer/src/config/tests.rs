use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(toml: &str, e: &[(&str, &str)], flags: &Overrides) -> Result<Config, ConfigErrors> {
    resolve(
        FileConfig::parse(toml).expect("test file parses"),
        &env(e),
        flags,
    )
}

#[test]
fn defaults_need_no_file() {
    let cfg = load("", &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
    assert!(cfg.upstream.is_none());
    assert_eq!(cfg.engine.policy.paranoia, 1);
    assert_eq!(cfg.engine.policy.threshold, 5);
    assert_eq!(cfg.engine.limits.body_inspect_bytes, 128 * 1024);
}

#[test]
fn flags_beat_env_beat_file() {
    let file = "upstream = \"http://127.0.0.1:1\"\n[inspection]\nparanoia = 2\nmode = \"detect\"";
    let cfg = load(
        file,
        &[
            ("WAFER_UPSTREAM", "http://127.0.0.1:2"),
            ("WAFER_PARANOIA", "3"),
        ],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.upstream.unwrap().to_string(), "http://127.0.0.1:2/");
    assert_eq!(cfg.engine.policy.paranoia, 3);
    assert_eq!(cfg.engine.policy.mode, Mode::Detect);
    let flags = Overrides {
        upstream: Some("http://127.0.0.1:3".into()),
        paranoia: Some(4),
        ..Default::default()
    };
    let cfg = load(file, &[("WAFER_UPSTREAM", "http://127.0.0.1:2")], &flags).unwrap();
    assert_eq!(cfg.upstream.unwrap().port_u16(), Some(3));
    assert_eq!(cfg.engine.policy.paranoia, 4);
}

#[test]
fn seed_upstream_variable_is_an_alias() {
    let cfg = load(
        "",
        &[("PYWAF_UPSTREAM", "http://10.0.0.1:9000")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.upstream.unwrap().host(), Some("10.0.0.1"));
}

#[test]
fn every_bad_key_is_reported_by_name() {
    let file = r#"
        listen = "nowhere"
        upstream = "ftp://x"
        trusted_proxies = ["10.0.0.0/33"]
        [inspection]
        paranoia = 7
        threshold = 0
        mode = "loud"
        body_overflow = "drop"
        disabled_rules = ["12-3"]
        [[routes]]
        mode = "detect"
        [[routes]]
        path = "/x"
        paranoia = 9
        [ip]
        block = ["not-an-ip"]
        [timeouts]
        upstream_response_secs = -1
    "#;
    let errs = load(file, &[], &Overrides::default()).unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for want in [
        "listen",
        "upstream",
        "trusted_proxies",
        "timeouts.upstream_response_secs",
        "inspection.mode",
        "inspection.paranoia",
        "inspection.threshold",
        "inspection.body_overflow",
        "inspection.disabled_rules",
        "routes[0].path",
        "routes[1].paranoia",
        "ip.block",
    ] {
        assert!(keys.contains(&want), "{want} missing from {keys:?}");
    }
    assert!(errs.to_string().contains("paranoia must be 1, 2, 3 or 4"));
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let err = FileConfig::parse("[inspection]\nparanioa = 2").unwrap_err();
    assert!(err.contains("paranioa"), "{err}");
}

#[test]
fn routes_and_lists_resolve() {
    let file = r#"
        [[routes]]
        path = "/upload/*"
        mode = "detect"
        threshold = 20
        disabled_rules = ["2000-2999"]
        [ip]
        allow = ["127.0.0.1"]
        block = ["203.0.113.0/24"]
        [events]
        output = "none"
    "#;
    let cfg = load(file, &[], &Overrides::default()).unwrap();
    let e = cfg.engine.policy.for_path("/upload/a");
    assert_eq!((e.mode, e.threshold), (Mode::Detect, 20));
    assert!(!e.rule_active(2500, 1));
    assert_eq!(cfg.ip_lists.allow.len(), 1);
    assert_eq!(cfg.events, SinkTarget::None);
}

#[test]
fn the_example_file_is_valid_and_documents_the_defaults() {
    let text = include_str!("../../../../wafer.example.toml");
    let cfg = resolve(
        FileConfig::parse(text).expect("example parses"),
        &env(&[]),
        &Overrides::default(),
    )
    .unwrap();
    let defaults = Config::default();
    assert_eq!(cfg.listen, defaults.listen);
    assert_eq!(cfg.max_header_bytes, defaults.max_header_bytes);
    assert_eq!(
        cfg.timeouts.upstream_response,
        defaults.timeouts.upstream_response
    );
    assert_eq!(
        cfg.engine.limits.body_inspect_bytes,
        defaults.engine.limits.body_inspect_bytes
    );
    assert_eq!(
        cfg.engine.limits.body.max_depth,
        defaults.engine.limits.body.max_depth
    );
    assert_eq!(
        cfg.engine.limits.body.max_args,
        defaults.engine.limits.body.max_args
    );
    assert_eq!(
        cfg.engine.limits.body_overflow,
        defaults.engine.limits.body_overflow
    );
    assert_eq!(
        cfg.engine.limits.max_body_bytes,
        defaults.engine.limits.max_body_bytes
    );
    assert_eq!(
        cfg.engine.limits.max_decompression_ratio,
        defaults.engine.limits.max_decompression_ratio
    );
    assert_eq!(
        cfg.engine.policy.allowed_methods,
        defaults.engine.policy.allowed_methods
    );
    assert_eq!(
        cfg.engine.policy.threshold,
        defaults.engine.policy.threshold
    );
    assert_eq!(cfg.events, defaults.events);
    assert_eq!(
        cfg.engine.limits.websocket_max_message_bytes,
        defaults.engine.limits.websocket_max_message_bytes
    );
    assert!(cfg.engine.policy.inspect_websocket);
    assert!(cfg.engine.policy.apps.is_empty());
    assert_eq!(cfg.timeouts.client_idle, defaults.timeouts.client_idle);
    assert_eq!(
        cfg.timeouts.client_body_min_rate,
        defaults.timeouts.client_body_min_rate
    );
    assert_eq!(cfg.admin_max_connections, defaults.admin_max_connections);
}

#[test]
fn websocket_settings_resolve_or_name_the_bad_key() {
    let good = r#"
        [inspection]
        inspect_websocket = false
        websocket_max_message_bytes = 65536
        [[routes]]
        path = "/live/"
        inspect_websocket = true
    "#;
    let cfg = load(good, &[], &Overrides::default()).unwrap();
    let p = &cfg.engine.policy;
    assert!(!p.inspect_websocket);
    assert_eq!(cfg.engine.limits.websocket_max_message_bytes, 65536);
    assert!(p.for_path("/live/feed").inspect_websocket);
    assert!(!p.for_path("/other").inspect_websocket);
    let bad = "[inspection]\nwebsocket_max_message_bytes = 10";
    let errs = load(bad, &[], &Overrides::default()).unwrap_err();
    assert_eq!(errs.0[0].key, "inspection.websocket_max_message_bytes");
}

#[test]
fn rate_limits_redis_and_anomaly_settings_resolve_or_name_the_bad_key() {
    let good = r#"
        redis_url = "redis://10.0.0.5:6379/1"
        [[rate_limits]]
        name = "api"
        path = "/api/"
        rate = "100/s"
        burst = 20
        [[rate_limits]]
        key = "header:X-Api-Key"
        rate = "600/m"
        [anomaly]
        mode = "block"
        threshold = 0.7
        learn_requests = 500
    "#;
    let cfg = load(good, &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.redis_url.as_deref(), Some("redis://10.0.0.5:6379/1"));
    assert_eq!(cfg.throttle.rate_limits.len(), 2);
    assert_eq!(
        (
            cfg.throttle.rate_limits[0].interval_us,
            cfg.throttle.rate_limits[0].burst
        ),
        (10_000, 20)
    );
    assert!(
        cfg.throttle.rate_limits[0].applies_to("/api/x")
            && !cfg.throttle.rate_limits[0].applies_to("/web")
    );
    assert_eq!(cfg.throttle.rate_limits[1].name, "limit1");
    assert_eq!(cfg.throttle.rate_limits[1].burst, 600);
    assert_eq!(cfg.engine.policy.anomaly.mode, Mode::Block);
    assert_eq!(cfg.engine.policy.anomaly.threshold, Some(0.7));
    assert_eq!(cfg.learn_requests, 500);
    let env_url = load(
        good,
        &[("WAFER_REDIS_URL", "redis://127.0.0.1:6380/0")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        env_url.redis_url.as_deref(),
        Some("redis://127.0.0.1:6380/0")
    );

    let bad = r#"
        redis_url = "http://x"
        [[rate_limits]]
        rate = "fast"
        [[rate_limits]]
        key = "query:x"
        rate = "1/s"
        [[rate_limits]]
        path = "nope"
        [anomaly]
        mode = "loud"
        threshold = 1.5
        learn_requests = 7
    "#;
    let errs = load(bad, &[], &Overrides::default()).unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for want in [
        "redis_url",
        "rate_limits[0].rate",
        "rate_limits[1].key",
        "rate_limits[2].path",
        "rate_limits[2].rate",
        "anomaly.mode",
        "anomaly.threshold",
        "anomaly.learn_requests",
    ] {
        assert!(keys.contains(&want), "{want} not in {keys:?}");
    }
}

#[test]
fn geoip_rules_need_a_database_and_valid_codes() {
    let cfg = load(
        "[geoip]\ndatabase = \"/x/c.mmdb\"\ndeny = [\"ru\"]\n",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let (path, rules) = cfg.geoip.unwrap();
    assert_eq!(path, std::path::PathBuf::from("/x/c.mmdb"));
    assert!(!rules.allows(Some(*b"RU")) && rules.allows(Some(*b"DE")));
    for (file, key) in [
        ("[geoip]\ndeny = [\"ru\"]\n", "geoip.database"),
        ("[geoip]\ndatabase = \"/x\"\nallow = [\"XX1\"]\n", "geoip"),
    ] {
        let errs = load(file, &[], &Overrides::default()).unwrap_err();
        assert!(errs.0.iter().any(|e| e.key == key), "{key}: {errs:?}");
    }
}

#[test]
fn the_unsafe_inspect_partial_is_refused_with_the_reason() {
    let errs = load(
        "[inspection]\nbody_overflow = \"inspect_partial\"\nmax_body_bytes = 0\nmax_decompression_ratio = 1",
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let text = errs.to_string();
    assert!(text.contains("uninspected"), "{text}");
    assert!(text.contains("inspection.max_body_bytes"), "{text}");
    assert!(
        text.contains("inspection.max_decompression_ratio"),
        "{text}"
    );
    let cfg = load(
        "[inspection]\nbody_overflow = \"reject\"\nmax_body_bytes = 1000\nmax_decompression_ratio = 20",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        cfg.engine.limits.body_overflow,
        wafer_engine::BodyOverflow::Reject
    );
    assert_eq!(cfg.engine.limits.max_body_bytes, 1000);
    assert_eq!(cfg.engine.limits.max_decompression_ratio, 20);
}

/// Issue 15: the file and the admin API share one set of bounds
/// (`config::policy`); the API side is `admin::policy`'s test of the same value.
#[test]
fn the_file_refuses_the_thresholds_the_api_refuses() {
    for (threshold, ok) in [
        ("4294967295", false),
        ("4294967296", false),
        ("-1", false),
        ("10001", false),
        ("0", false),
        ("10000", true),
    ] {
        let file = format!(
            "upstream = \"http://127.0.0.1:1\"\n[inspection]\nthreshold = {threshold}\n\
             [[routes]]\npath = \"/a/\"\nthreshold = {threshold}"
        );
        match load(&file, &[], &Overrides::default()) {
            Ok(cfg) => {
                assert!(ok, "{threshold} accepted");
                assert_eq!(cfg.engine.policy.threshold, 10_000);
            }
            Err(errs) => {
                assert!(!ok, "{threshold} refused: {errs}");
                let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
                assert_eq!(keys, ["inspection.threshold", "routes[0].threshold"]);
                let want =
                    crate::config::policy::threshold(threshold.parse().unwrap()).unwrap_err();
                assert!(errs.0.iter().all(|e| e.message == want), "{errs}");
            }
        }
    }
    let big = (0..=crate::config::policy::MAX_IP_ENTRIES)
        .map(|i| format!("\"10.{}.{}.{}\"", i >> 16 & 255, i >> 8 & 255, i & 255))
        .collect::<Vec<_>>()
        .join(",");
    let file = format!("upstream = \"http://127.0.0.1:1\"\n[ip]\nblock = [{big}]");
    let errs = load(&file, &[], &Overrides::default()).unwrap_err();
    assert_eq!(errs.0[0].key, "ip.block");
}

#[test]
fn learning_period_bounds_resolve_or_name_the_bad_key() {
    let cfg = load(
        "[anomaly]\nlearn_requests = 2000\nlearn_max_bytes = 8388608\nlearn_client_share = 2.5\nlearn_min_clients = 40\n",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let l = cfg.learn_limits;
    assert_eq!(
        (l.max_bytes, l.client_share_pct, l.min_clients),
        (8 << 20, 2.5, 40)
    );
    // Whole percentages are numbers too.
    let cfg = load(
        "[anomaly]\nlearn_client_share = 10\n",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.learn_limits.client_share_pct, 10.0);
    let d = Config::default().learn_limits;
    assert_eq!(
        (d.max_bytes, d.client_share_pct, d.min_clients),
        (32 << 20, 5.0, 20)
    );
    for (file, key) in [
        ("learn_max_bytes = 1000", "anomaly.learn_max_bytes"),
        ("learn_max_bytes = 2147483648", "anomaly.learn_max_bytes"),
        ("learn_client_share = 0", "anomaly.learn_client_share"),
        ("learn_client_share = 101", "anomaly.learn_client_share"),
        ("learn_client_share = nan", "anomaly.learn_client_share"),
        ("learn_min_clients = 0", "anomaly.learn_min_clients"),
        // More clients than the set has requests.
        (
            "learn_requests = 100\nlearn_min_clients = 200",
            "anomaly.learn_min_clients",
        ),
        // A budget that cannot hold a sample from each client needed.
        (
            "learn_max_bytes = 1048576\nlearn_min_clients = 5000",
            "anomaly.learn_max_bytes",
        ),
    ] {
        let errs = load(&format!("[anomaly]\n{file}\n"), &[], &Overrides::default()).unwrap_err();
        assert!(errs.0.iter().any(|e| e.key == key), "{file}: {errs:?}");
    }
}

#[test]
fn event_bounds_and_store_bytes_resolve_or_name_the_bad_key() {
    let text = include_str!("../../../../wafer.example.toml");
    let cfg = resolve(
        FileConfig::parse(text).expect("example parses"),
        &env(&[]),
        &Overrides::default(),
    )
    .unwrap();
    let defaults = Config::default();
    assert_eq!(cfg.event_bounds, defaults.event_bounds);
    assert_eq!(cfg.retention, defaults.retention);

    let cfg = load(
        "[events]\nmax_event_bytes = 65536\nsample_per_sec = 0\n[store]\nmax_bytes = 0",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.event_bounds.max_event_bytes, 65536);
    assert_eq!(cfg.event_bounds.sample.per_sec, 0);
    assert_eq!(cfg.retention.max_bytes, 0);

    let errs = load(
        "[events]\nmax_event_bytes = 100\nqueue_bytes = 99999999999\nsample_per_sec = 100001\nsample_burst = 0\nsample_one_in = 0\n[store]\nmax_bytes = 1000",
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "events.max_event_bytes",
        "events.queue_bytes",
        "events.sample_per_sec",
        "events.sample_burst",
        "events.sample_one_in",
        "store.max_bytes",
    ] {
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
}

#[test]
fn the_body_buffer_holds_at_least_the_sniffed_bytes() {
    // Below 4 KiB, how a client chunks a streamed body could change whether
    // it is read as binary (found while fuzzing the streamed inspection).
    for (n, ok) in [(1, false), (4095, false), (4096, true), (131072, true)] {
        let r = load(
            &format!("[inspection]\nbody_limit_bytes = {n}\n"),
            &[],
            &Overrides::default(),
        );
        assert_eq!(r.is_ok(), ok, "{n}");
        if let Err(errs) = r {
            assert_eq!(errs.0[0].key, "inspection.body_limit_bytes");
        }
    }
    assert_eq!(
        wafer_engine::body::sniff::SNIFF_BYTES,
        4096,
        "the bound above follows the sniffed bytes"
    );
}

#[test]
fn connection_limits_and_client_timeouts_resolve_or_name_the_bad_key() {
    let cfg = load(
        r#"
        [timeouts]
        client_idle_secs = 15
        client_body_min_rate = 4096
        [limits]
        max_connections = 5000
        admin_max_connections = 32
        "#,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.timeouts.client_idle, std::time::Duration::from_secs(15));
    assert_eq!(cfg.timeouts.client_body_min_rate, 4096);
    assert_eq!(cfg.max_connections, Some(5000));
    assert_eq!(cfg.admin_max_connections, 32);
    let defaults = load("", &[], &Overrides::default()).unwrap();
    assert_eq!(
        defaults.max_connections, None,
        "derived from the fd limit at start"
    );
    let errs = load(
        r#"
        [timeouts]
        client_idle_secs = 0
        client_body_min_rate = 0
        [limits]
        max_connections = 3
        admin_max_connections = -1
        "#,
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for want in [
        "timeouts.client_idle_secs",
        "timeouts.client_body_min_rate",
        "limits.max_connections",
        "limits.admin_max_connections",
    ] {
        assert!(keys.contains(&want), "{want} missing from {keys:?}");
    }
}

#[test]
fn apps_resolve_from_file_or_env_and_unknown_names_list_the_known() {
    let cfg = load(
        "[inspection]\napps = [\"wordpress\", \"jupyterlab\", \"wordpress\"]",
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.engine.policy.apps, ["wordpress", "jupyterlab"]);
    let cfg = load(
        "[inspection]\napps = [\"wordpress\"]",
        &[("WAFER_APPS", "grafana, phpmyadmin")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        cfg.engine.policy.apps,
        ["grafana", "phpmyadmin"],
        "env wins"
    );
    // The engine built from the config carries the profiles' exclusions.
    let e = wafer_engine::Engine::build(cfg.engine.clone()).unwrap();
    assert!(!e.policy().app_exclusions.is_empty());

    let errs = load(
        "[inspection]\napps = [\"wordpres\"]",
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let e = errs.0.iter().find(|e| e.key == "inspection.apps").unwrap();
    assert!(
        e.message.contains("\"wordpres\"") && e.message.contains("wordpress, drupal"),
        "{e}"
    );
    let errs = load("", &[("WAFER_APPS", "moodle")], &Overrides::default()).unwrap_err();
    assert!(errs.0.iter().any(|e| e.key == "WAFER_APPS"));
}

#[test]
fn closed_sets_resolve_to_their_types_or_name_the_bad_key() {
    let cfg = load(
        "[log]\nlevel = \"debug\"\nformat = \"json\"\n[store]\nurl = \"postgres://u@db/wafer\"\n\
         [ip]\nblock_files = [\"/etc/wafer/block.txt\"]",
        &[("WAFER_LOG", "warn")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.log_level, LogLevel::Warn, "the variable wins");
    assert_eq!(cfg.log_format, LogFormat::Json);
    let url = crate::store::StoreUrl::Postgres("postgres://u@db/wafer".into());
    assert_eq!(cfg.store_spec(), url);
    assert_eq!(cfg.store_spec().to_string(), "postgres://u@db/wafer");
    assert!(cfg.ip_files.allow.is_empty());
    assert_eq!(
        cfg.ip_files.block,
        [std::path::PathBuf::from("/etc/wafer/block.txt")]
    );

    let d = load("data_dir = \"/var/lib/wafer\"", &[], &Overrides::default()).unwrap();
    assert_eq!(d.log_level.to_string(), "info");
    assert_eq!(
        d.store_spec().to_string(),
        "sqlite:/var/lib/wafer/events.db"
    );
    assert!(d.ip_files.is_empty());

    let errs = load(
        "[log]\nlevel = \"loud\"\nformat = \"xml\"\n[store]\nurl = \"mysql://x\"",
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let got: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "log.level: expected error, warn, info, debug or trace, not \"loud\"",
            "log.format: expected text or json, not \"xml\"",
            "store.url: expected sqlite:PATH or postgres://..., not \"mysql://x\"",
        ]
    );
}

const SITES: &str = r#"
[inspection]
mode = "block"
paranoia = 2
disabled_rules = ["942100"]
[ip]
block = ["192.0.2.0/24"]
[bans]
after = 5
[[rate_limits]]
rate = "50/s"

[[sites]]
name = "shop"
hosts = ["shop.example", "*.Shop.Example."]
upstream = "http://127.0.0.1:9001"

[[sites]]
name = "blog"
hosts = ["blog.example"]
upstream = "http://127.0.0.1:9002/app"
mode = "detect"
threshold = 9
disabled_rules = []
allowed_methods = ["GET", "HEAD"]
ip.block = ["198.51.100.7"]
bans.minutes = 30
[[sites.routes]]
path = "/admin/*"
mode = "block"
[[sites.rate_limits]]
name = "comments"
path = "/comments"
rate = "5/m"
"#;

#[test]
fn sites_take_the_file_policy_with_their_own_keys_over_it() {
    let cfg = load(SITES, &[], &Overrides::default()).unwrap();
    let s = &cfg.sites;
    assert_eq!(s.default, None);
    assert_eq!(s.sites.len(), 2);
    let (shop, blog) = (&s.sites[0], &s.sites[1]);
    assert_eq!(
        shop.hosts,
        [
            sites::HostPattern::Exact("shop.example".into()),
            sites::HostPattern::Under(".shop.example".into())
        ]
    );
    // The shop sets nothing: the file's policy.
    assert_eq!(shop.policy.mode, Mode::Block);
    assert_eq!(shop.policy.paranoia, 2);
    assert_eq!(shop.policy.disabled_rules.len(), 1);
    assert_eq!(shop.ip_lists.block.len(), 1);
    // The blog replaces what it names, keeps the rest, and adds to the lists.
    assert_eq!(blog.upstream.path(), "/app");
    assert_eq!(blog.policy.mode, Mode::Detect);
    assert_eq!(blog.policy.threshold, 9);
    assert_eq!(blog.policy.paranoia, 2);
    assert!(blog.policy.disabled_rules.is_empty());
    assert_eq!(blog.policy.allowed_methods, ["GET", "HEAD"]);
    assert_eq!(blog.policy.routes.len(), 1);
    assert_eq!(blog.ip_lists.block.len(), 2);
    // Rate limits: the site's replace the file's; bans: key by key over the file's.
    assert_eq!(shop.throttle.rate_limits.len(), 1);
    assert_eq!(shop.throttle.rate_limits[0].rate, "50/s");
    assert_eq!(shop.throttle.bans, cfg.throttle.bans);
    assert_eq!(blog.throttle.rate_limits.len(), 1);
    assert_eq!(blog.throttle.rate_limits[0].name, "comments");
    assert!(!blog.throttle.rate_limits[0].applies_to("/shop"));
    assert_eq!(
        (blog.throttle.bans.after, blog.throttle.bans.duration_ms),
        (5, 30 * 60_000)
    );
    // Without sites, nothing changes: the one upstream takes every name.
    assert!(
        load(
            "upstream = \"http://127.0.0.1:1\"",
            &[],
            &Overrides::default()
        )
        .unwrap()
        .sites
        .sites
        .is_empty()
    );
}

#[test]
fn the_top_level_upstream_becomes_the_default_site_or_default_site_names_one() {
    let with_upstream = format!("upstream = \"http://127.0.0.1:9000\"\n{SITES}");
    let cfg = load(&with_upstream, &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.sites.default.as_deref(), Some("default"));
    let d = cfg
        .sites
        .sites
        .iter()
        .find(|s| s.name == "default")
        .unwrap();
    assert!(d.hosts.is_empty());
    assert_eq!(d.upstream.port_u16(), Some(9000));
    let named = format!("default_site = \"blog\"\n{SITES}");
    let cfg = load(&named, &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.sites.default.as_deref(), Some("blog"));
    assert_eq!(cfg.sites.sites.len(), 2);
}

#[test]
fn bad_sites_are_each_named() {
    let bad = r#"
default_site = "nowhere"
[[sites]]
name = "a b"
hosts = ["shop.example:8080", "*.", "ok.example"]
upstream = "ftp://x"
mode = "loud"
[[sites]]
name = "two"
hosts = ["OK.example"]
[[sites]]
upstream = "http://127.0.0.1:1"
hosts = ["c.example"]
routes = [{ path = "" }]
[[sites]]
name = "lonely"
upstream = "http://127.0.0.1:1"
"#;
    let errs = load(bad, &[], &Overrides::default()).unwrap_err().0;
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for k in [
        "default_site",
        "sites[0].name",
        "sites[0].hosts",
        "sites[0].upstream",
        "sites[0].mode",
        "sites[1].upstream",
        "sites[2].name",
        "sites[2].routes[0].path",
        "sites[3].hosts",
    ] {
        assert!(keys.contains(&k), "{k} not in {errs:?}");
    }
    // Two bad host names in site 0; `OK.example` in site 1 is site 0's `ok.example`.
    assert_eq!(keys.iter().filter(|k| **k == "sites[0].hosts").count(), 2);
    assert!(
        errs.iter()
            .any(|e| e.key == "sites[1].hosts" && e.message.contains("sites[0]")),
        "{errs:?}"
    );
    // The top-level upstream and default_site together are refused.
    let both = format!("upstream = \"http://127.0.0.1:9000\"\ndefault_site = \"shop\"\n{SITES}");
    let errs = load(&both, &[], &Overrides::default()).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].key, "default_site");
    // A site name `default` beside a top-level upstream would be two defaults.
    let clash = "upstream = \"http://127.0.0.1:9000\"\n[[sites]]\nname = \"default\"\nhosts = [\"a.example\"]\nupstream = \"http://127.0.0.1:1\"";
    assert_eq!(
        load(clash, &[], &Overrides::default()).unwrap_err().0[0].key,
        "upstream"
    );
}

#[test]
fn the_example_files_sites_block_is_valid_once_uncommented() {
    let text = include_str!("../../../../wafer.example.toml");
    let start = text
        .find("# default_site")
        .expect("the example shows sites");
    let block: String = text[start..]
        .lines()
        .take_while(|l| l.starts_with("# "))
        .map(|l| {
            format!(
                "{}\n",
                l.trim_start_matches("# ").split("  ").next().unwrap()
            )
        })
        .collect();
    let cfg = load(&block, &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.sites.sites.len(), 2);
    assert_eq!(cfg.sites.default.as_deref(), Some("shop"));
    assert_eq!(cfg.sites.sites[1].policy.routes.len(), 1);
    assert_eq!(cfg.sites.sites[1].throttle.rate_limits[0].name, "comments");
    assert_eq!(cfg.sites.sites[1].throttle.bans.after, 5);
}

#[test]
fn tls_needs_a_listener_and_a_certificate_each_with_its_pair() {
    let ok = format!(
        "{SITES}\n[tls]\nlisten = \"0.0.0.0:8443\"\ncert = \"/etc/wafer/default.pem\"\nkey = \"/etc/wafer/default.key\"\n"
    );
    let cfg = load(&ok, &[], &Overrides::default()).unwrap();
    let tls = cfg.tls.unwrap();
    assert_eq!(tls.listen.port(), 8443);
    assert_eq!(
        tls.default_cert.unwrap().key,
        std::path::PathBuf::from("/etc/wafer/default.key")
    );
    assert!(cfg.sites.sites.iter().all(|s| s.tls.is_none()));

    let errs = |text: &str| -> Vec<String> {
        load(text, &[], &Overrides::default())
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    // A listener with no certificate anywhere.
    assert_eq!(
        errs("upstream = \"http://127.0.0.1:1\"\n[tls]\nlisten = \"0.0.0.0:443\""),
        ["tls.cert"]
    );
    // A certificate with nowhere to serve it.
    assert_eq!(
        errs("upstream = \"http://127.0.0.1:1\"\n[tls]\ncert = \"a.pem\"\nkey = \"a.key\""),
        ["tls.listen"]
    );
    // Halves of pairs, a bad address, and a certificate for a site with no names.
    let bad = r#"
[tls]
listen = "everywhere"
cert = "a.pem"
[[sites]]
name = "shop"
hosts = ["shop.example"]
upstream = "http://127.0.0.1:1"
tls_key = "shop.key"
[[sites]]
name = "rest"
upstream = "http://127.0.0.1:2"
tls_cert = "rest.pem"
tls_key = "rest.key"
"#;
    let keys = errs(&format!("default_site = \"rest\"\n{bad}"));
    for k in [
        "tls.key",
        "tls.listen",
        "sites[0].tls_cert",
        "sites[1].tls_cert",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} not in {keys:?}");
    }
    // A site's certificate alone is enough for a listener.
    let site_cert = "[tls]\nlisten = \"127.0.0.1:8443\"\n[[sites]]\nname = \"shop\"\nhosts = [\"shop.example\"]\nupstream = \"http://127.0.0.1:1\"\ntls_cert = \"s.pem\"\ntls_key = \"s.key\"";
    let cfg = load(
        &format!("{site_cert}\ntls_ocsp = \"s.ocsp\""),
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        cfg.sites.sites[0].tls.as_ref().unwrap().ocsp.as_deref(),
        Some(std::path::Path::new("s.ocsp"))
    );
    // A response with no certificate to staple it to.
    assert_eq!(
        errs(
            "upstream = \"http://127.0.0.1:1\"\n[tls]\nlisten = \"0.0.0.0:443\"\nocsp = \"a.ocsp\""
        ),
        ["tls.ocsp", "tls.cert"]
    );
    let cfg = load(site_cert, &[], &Overrides::default()).unwrap();
    assert!(cfg.tls.unwrap().default_cert.is_none());
    assert_eq!(
        cfg.sites.sites[0].tls.as_ref().unwrap().cert,
        std::path::PathBuf::from("s.pem")
    );
}

#[test]
fn https_redirect_and_hsts_need_a_listener_and_a_valid_value() {
    let site = |extra: &str| {
        format!(
            "[[sites]]\nname = \"shop\"\nhosts = [\"shop.example\"]\nupstream = \"http://127.0.0.1:1\"\n{extra}\n"
        )
    };
    let keys = |text: &str| -> Vec<String> {
        load(text, &[], &Overrides::default())
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.0.into_iter().map(|e| e.key).collect())
    };
    let tls = "[tls]\nlisten = \"127.0.0.1:8443\"\ncert = \"d.pem\"\nkey = \"d.key\"\n";
    assert!(
        keys(&format!(
            "{tls}{}",
            site("https_redirect = true\nhsts = \"max-age=300; includeSubDomains; preload\"")
        ))
        .is_empty()
    );
    assert_eq!(keys(&site("https_redirect = true")), ["sites[0]"]);
    assert_eq!(keys(&site("hsts = \"max-age=300\"")), ["sites[0]"]);
    for bad in [
        "max-age=",
        "max-age=1e9",
        "maxage=5",
        "max-age=5; always",
        "max-age=5\r\nX: y",
    ] {
        let text = format!("{tls}{}", site(&format!("hsts = {bad:?}")));
        assert_eq!(keys(&text), ["sites[0].hsts"], "{bad}");
    }
}

#[test]
fn a_site_lists_servers_with_weights_a_balance_and_a_health_check() {
    let text = r#"
[[sites]]
name = "shop"
hosts = ["shop.example"]
servers = [{ url = "http://10.0.0.5:8000", weight = 3 }, { url = "http://10.0.0.6:8000" }]
balance = "hash_header:X-Session"
eject_after = 5
eject_secs = 30
[sites.health_check]
path = "/healthz"
interval_secs = 2
fall = 2
"#;
    let cfg = load(text, &[], &Overrides::default()).unwrap();
    let s = &cfg.sites.sites[0];
    assert_eq!(s.servers.len(), 2);
    assert_eq!(s.servers[0].1, 3);
    assert_eq!(s.servers[1].1, 1);
    assert_eq!(
        s.balance,
        crate::proxy::pool::Balance::HashHeader(http::HeaderName::from_static("x-session"))
    );
    assert_eq!(s.ejection.after, 5);
    assert_eq!(s.ejection.for_ms, 30_000);
    let h = s.health.as_ref().unwrap();
    assert_eq!(
        (
            h.path.as_str(),
            h.interval.as_secs(),
            h.timeout.as_secs(),
            h.fall,
            h.rise
        ),
        ("/healthz", 2, 2, 2, 2)
    );
    assert_eq!(s.pool().servers().len(), 2);

    let keys = |text: &str| -> Vec<String> {
        load(text, &[], &Overrides::default())
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    let site = "[[sites]]\nname = \"shop\"\nhosts = [\"shop.example\"]\n";
    assert_eq!(
        keys(&format!(
            "{site}upstream = \"http://a:1\"\nservers = [{{ url = \"http://b:1\" }}]"
        )),
        ["sites[0].servers"]
    );
    assert_eq!(keys(&format!("{site}servers = []")), ["sites[0].servers"]);
    let mut bad = keys(&format!(
        "{site}servers = [{{ url = \"ftp://b\" }}, {{ url = \"http://c:1\", weight = 0 }}]\nbalance = \"random\"\n[sites.health_check]\npath = \"health\"\ninterval_secs = 0"
    ));
    bad.sort();
    assert_eq!(
        bad,
        [
            "sites[0].balance",
            "sites[0].health_check.path",
            "sites[0].servers[0].url",
            "sites[0].servers[1].weight",
        ],
        "(interval_secs is not reached once the path is bad)"
    );
}

#[test]
fn acme_sites_need_exact_public_names_a_listener_and_a_valid_ca() {
    let keys = |text: &str| -> Vec<String> {
        load(text, &[], &Overrides::default())
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.0.into_iter().map(|e| e.key).collect())
    };
    let site = |hosts: &str, extra: &str| {
        format!(
            "[[sites]]\nname = \"shop\"\nhosts = {hosts}\nupstream = \"http://127.0.0.1:1\"\nacme = true\n{extra}\n"
        )
    };
    let tls = "[tls]\nlisten = \"127.0.0.1:8443\"\n";
    // No other certificate is needed: the CA's is the site's.
    let ok = format!(
        "{tls}[acme]\ndirectory = \"https://ca.example/dir\"\ncontact = [\"mailto:ops@shop.example\"]\nrenew_before_days = 20\n{}",
        site(r#"["shop.example", "www.shop.example"]"#, "")
    );
    let cfg = load(&ok, &[], &Overrides::default()).unwrap();
    assert!(cfg.sites.sites[0].acme);
    assert_eq!(cfg.acme.directory, "https://ca.example/dir");
    assert_eq!(
        cfg.acme.renew_before,
        Some(std::time::Duration::from_secs(20 * 86_400))
    );
    // Without [acme]: Let's Encrypt.
    let cfg = load(
        &format!("{tls}{}", site(r#"["shop.example"]"#, "")),
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(cfg.acme.directory, super::acme::LETS_ENCRYPT);
    assert_eq!(cfg.acme.challenge, super::acme::AcmeChallenge::Http01);
    let alpn = format!(
        "{tls}[acme]\nchallenge = \"tls-alpn-01\"\n{}",
        site(r#"["shop.example"]"#, "")
    );
    let cfg = load(&alpn, &[], &Overrides::default()).unwrap();
    assert_eq!(cfg.acme.challenge, super::acme::AcmeChallenge::TlsAlpn01);
    assert_eq!(
        keys(&alpn.replace("tls-alpn-01", "dns-01")),
        ["acme.challenge"]
    );

    assert_eq!(keys(&site(r#"["shop.example"]"#, "")), ["tls.listen"]);
    for hosts in [
        r#"["*.shop.example"]"#,
        r#"["10.0.0.1"]"#,
        r#"["intranet"]"#,
        "[]",
    ] {
        let k = keys(&format!("{tls}{}", site(hosts, "")));
        assert!(k.contains(&"sites[0].acme".to_owned()), "{hosts}: {k:?}");
    }
    assert_eq!(
        keys(&format!(
            "{tls}{}",
            site(
                r#"["shop.example"]"#,
                "tls_cert = \"s.pem\"\ntls_key = \"s.key\""
            )
        )),
        ["sites[0].acme"]
    );
    let shop = site(r#"["shop.example"]"#, "");
    for (section, key) in [
        ("directory = \"http://ca.example/dir\"", "acme.directory"),
        ("contact = [\"ops@shop.example\"]", "acme.contact"),
        ("contact = [\"mailto:a@b, mailto:c@d\"]", "acme.contact"),
        ("renew_before_days = 0", "acme.renew_before_days"),
    ] {
        assert_eq!(
            keys(&format!("{tls}[acme]\n{section}\n{shop}")),
            [key],
            "{section}"
        );
    }
}

#[test]
fn https_upstreams_take_a_ca_and_a_name_and_plain_ones_refuse_them() {
    let keys = |text: &str| -> Vec<String> {
        load(text, &[], &Overrides::default())
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.0.into_iter().map(|e| e.key).collect())
    };
    let site = |upstream: &str, extra: &str| {
        format!(
            "[[sites]]\nname = \"shop\"\nhosts = [\"shop.example\"]\nupstream = {upstream:?}\n{extra}\n"
        )
    };
    let ok = site(
        "https://10.0.0.5:8443",
        "upstream_ca = \"/etc/wafer/internal-ca.pem\"\nupstream_sni = \"app.internal\"",
    );
    let cfg = load(&ok, &[], &Overrides::default()).unwrap();
    let files = &cfg.sites.sites[0].upstream_tls;
    assert_eq!(files.sni.as_deref(), Some("app.internal"));
    assert_eq!(
        files.ca.as_deref(),
        Some(std::path::Path::new("/etc/wafer/internal-ca.pem"))
    );
    assert_eq!(cfg.sites.sites[0].upstream.scheme_str(), Some("https"));
    assert!(keys(&site("https://10.0.0.5", "")).is_empty());
    assert_eq!(
        keys(&site("http://10.0.0.5", "upstream_ca = \"ca.pem\"")),
        ["sites[0].upstream_ca"]
    );
    assert_eq!(
        keys(&site("https://10.0.0.5", "upstream_sni = \"not a name\"")),
        ["sites[0].upstream_sni"]
    );
    assert_eq!(keys(&site("ftp://10.0.0.5", "")), ["sites[0].upstream"]);
}
