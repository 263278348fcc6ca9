//! Folding file, environment and flags into a validated `Config`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use wafer_engine::{BodyOverflow, Mode, PathPattern, Route, RuleRange};

use super::file::FileConfig;
use super::{Config, ConfigError, ConfigErrors, LogFormat};
use crate::events::SinkTarget;

/// Where environment variables come from: the process, or a map in tests.
pub trait EnvSource {
    fn get(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl EnvSource for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }
}

/// Values given as command-line flags (they win over everything).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub upstream: Option<String>,
    pub mode: Option<String>,
    pub paranoia: Option<i64>,
    pub threshold: Option<i64>,
    pub events: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub log_level: Option<String>,
    pub data_dir: Option<String>,
    pub store: Option<String>,
    pub admin_listen: Option<String>,
    pub models_dir: Option<String>,
}

/// Collects errors while resolving, so that every bad key is reported.
struct Check {
    errors: Vec<ConfigError>,
}

impl Check {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn ok<T, E: std::fmt::Display>(&mut self, key: &str, r: Result<T, E>) -> Option<T> {
        r.map_err(|e| self.fail(key, e.to_string())).ok()
    }
}

/// A value with the key it came from, for error messages.
fn pick(
    flag: Option<(&str, String)>,
    env: Option<(&str, String)>,
    file: Option<(&str, String)>,
) -> Option<(String, String)> {
    flag.or(env).or(file).map(|(k, v)| (k.to_owned(), v))
}

fn env_pair<'k>(env: &dyn EnvSource, key: &'k str) -> Option<(&'k str, String)> {
    env.get(key).map(|v| (key, v))
}

pub fn resolve(
    file: FileConfig,
    env: &dyn EnvSource,
    flags: &Overrides,
) -> Result<Config, ConfigErrors> {
    let mut c = Check { errors: Vec::new() };
    let mut cfg = Config::default();

    if let Some((key, v)) = pick(
        flags.listen.clone().map(|v| ("--listen", v)),
        env_pair(env, "WAFER_LISTEN"),
        file.listen.map(|v| ("listen", v)),
    ) && let Some(a) = c.ok(
        &key,
        v.parse::<SocketAddr>()
            .map_err(|_| format!("expected HOST:PORT like 127.0.0.1:8080, not {v:?}")),
    ) {
        cfg.listen = a;
    }

    let upstream = pick(
        flags.upstream.clone().map(|v| ("--upstream", v)),
        env_pair(env, "WAFER_UPSTREAM").or_else(|| env_pair(env, "PYWAF_UPSTREAM")),
        file.upstream.map(|v| ("upstream", v)),
    );
    if let Some((key, v)) = upstream {
        cfg.upstream = c.ok(&key, parse_upstream(&v));
    }

    let mut proxies: Vec<(String, String)> = file
        .trusted_proxies
        .into_iter()
        .map(|p| ("trusted_proxies".to_owned(), p))
        .collect();
    if let Some(v) = env.get("WAFER_TRUSTED_PROXIES") {
        proxies = v
            .split(',')
            .map(|p| ("WAFER_TRUSTED_PROXIES".to_owned(), p.trim().to_owned()))
            .collect();
    }
    if !flags.trusted_proxies.is_empty() {
        proxies = flags
            .trusted_proxies
            .iter()
            .map(|p| ("--trusted-proxy".to_owned(), p.clone()))
            .collect();
    }
    cfg.trusted_proxies = proxies
        .iter()
        .filter_map(|(k, p)| c.ok(k, parse_net(p)))
        .collect();

    if let Some(n) = file.max_header_bytes {
        if !(1024..=1 << 20).contains(&n) {
            c.fail("max_header_bytes", "must be between 1024 and 1048576");
        } else {
            cfg.max_header_bytes = n;
        }
    }

    let t = &file.timeouts;
    for (key, v, slot) in [
        (
            "timeouts.client_header_secs",
            t.client_header_secs,
            &mut cfg.timeouts.client_header,
        ),
        (
            "timeouts.client_idle_secs",
            t.client_idle_secs,
            &mut cfg.timeouts.client_idle,
        ),
        (
            "timeouts.client_body_secs",
            t.client_body_secs,
            &mut cfg.timeouts.client_body,
        ),
        (
            "timeouts.upstream_connect_secs",
            t.upstream_connect_secs,
            &mut cfg.timeouts.upstream_connect,
        ),
        (
            "timeouts.upstream_response_secs",
            t.upstream_response_secs,
            &mut cfg.timeouts.upstream_response,
        ),
    ] {
        if let Some(secs) = v {
            if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
                *slot = Duration::from_secs_f64(secs);
            } else {
                c.fail(
                    key,
                    format!("must be a number of seconds in (0, 86400], not {secs}"),
                );
            }
        }
    }

    if let Some(n) = t.client_body_min_rate {
        match u64::try_from(n) {
            Ok(n) if (1..=1 << 30).contains(&n) => cfg.timeouts.client_body_min_rate = n,
            _ => c.fail(
                "timeouts.client_body_min_rate",
                "must be a number of bytes a second between 1 and 1073741824",
            ),
        }
    }
    if let Some(n) = file.limits.max_connections {
        match usize::try_from(n) {
            Ok(n) if (crate::proxy::nofile::MIN_CONNECTIONS..=1_000_000).contains(&n) => {
                cfg.max_connections = Some(n);
            }
            _ => c.fail("limits.max_connections", "must be between 16 and 1000000"),
        }
    }
    if let Some(n) = file.limits.admin_max_connections {
        match usize::try_from(n) {
            Ok(n) if (4..=10_000).contains(&n) => cfg.admin_max_connections = n,
            _ => c.fail(
                "limits.admin_max_connections",
                "must be between 4 and 10000",
            ),
        }
    }

    let ins = file.inspection;
    let policy = &mut cfg.engine.policy;
    if let Some((key, v)) = pick(
        flags.mode.clone().map(|v| ("--mode", v)),
        env_pair(env, "WAFER_MODE"),
        ins.mode.map(|v| ("inspection.mode", v)),
    ) && let Some(m) = c.ok(&key, v.parse::<Mode>())
    {
        policy.mode = m;
    }
    let paranoia = pick(
        flags.paranoia.map(|v| ("--paranoia", v.to_string())),
        env_pair(env, "WAFER_PARANOIA"),
        ins.paranoia.map(|v| ("inspection.paranoia", v.to_string())),
    );
    if let Some((key, v)) = paranoia
        && let Some(p) = c.ok(&key, parse_paranoia(&v))
    {
        policy.paranoia = p;
    }
    let threshold = pick(
        flags.threshold.map(|v| ("--threshold", v.to_string())),
        env_pair(env, "WAFER_THRESHOLD"),
        ins.threshold
            .map(|v| ("inspection.threshold", v.to_string())),
    );
    if let Some((key, v)) = threshold
        && let Some(t) = c.ok(&key, parse_threshold(&v))
    {
        policy.threshold = t;
    }
    if let Some(n) = ins.body_limit_bytes {
        match usize::try_from(n) {
            // At least the bytes a streamed body is sniffed by, so how a client
            // chunks a body cannot change whether it is read as binary.
            Ok(n) if (4096..=64 << 20).contains(&n) => cfg.engine.limits.body_inspect_bytes = n,
            _ => c.fail(
                "inspection.body_limit_bytes",
                "must be between 4096 and 67108864 (64 MiB)",
            ),
        }
    }
    if let Some(v) = ins.body_overflow {
        match v.as_str() {
            "stream" => cfg.engine.limits.body_overflow = BodyOverflow::Stream,
            "reject" => cfg.engine.limits.body_overflow = BodyOverflow::Reject,
            "inspect_partial" => c.fail(
                "inspection.body_overflow",
                "inspect_partial was removed: it forwarded the bytes past body_limit_bytes \
                 uninspected; use stream (the default: the rest is inspected as it streams) or reject",
            ),
            _ => c.fail(
                "inspection.body_overflow",
                format!("expected stream or reject, not {v:?}"),
            ),
        }
    }
    if let Some(n) = ins.max_body_bytes {
        match u64::try_from(n) {
            Ok(n) if n >= 1 => cfg.engine.limits.max_body_bytes = n,
            _ => c.fail("inspection.max_body_bytes", "must be at least 1"),
        }
    }
    if let Some(n) = ins.max_decompression_ratio {
        match u32::try_from(n) {
            Ok(n) if (2..=100_000).contains(&n) => cfg.engine.limits.max_decompression_ratio = n,
            _ => c.fail(
                "inspection.max_decompression_ratio",
                "must be between 2 and 100000",
            ),
        }
    }
    if let Some(b) = ins.inspect_websocket {
        policy.inspect_websocket = b;
    }
    if let Some(n) = ins.websocket_max_message_bytes {
        match usize::try_from(n) {
            Ok(n) if (1024..=64 << 20).contains(&n) => {
                cfg.engine.limits.websocket_max_message_bytes = n;
            }
            _ => c.fail(
                "inspection.websocket_max_message_bytes",
                "must be between 1024 and 67108864 (64 MiB)",
            ),
        }
    }
    if let Some(n) = ins.max_json_depth {
        match usize::try_from(n) {
            Ok(n) if (1..=128).contains(&n) => cfg.engine.limits.body.max_depth = n,
            _ => c.fail("inspection.max_json_depth", "must be between 1 and 128"),
        }
    }
    if let Some(n) = ins.max_args {
        match usize::try_from(n) {
            Ok(n) if (1..=100_000).contains(&n) => cfg.engine.limits.body.max_args = n,
            _ => c.fail("inspection.max_args", "must be between 1 and 100000"),
        }
    }
    if let Some(methods) = ins.allowed_methods {
        let mut ok = Vec::new();
        for m in methods {
            if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) {
                ok.push(m);
            } else {
                c.fail(
                    "inspection.allowed_methods",
                    format!("{m:?} is not an uppercase method name"),
                );
            }
        }
        policy.allowed_methods = ok;
    }
    policy.disabled_rules = ins
        .disabled_rules
        .iter()
        .filter_map(|r| c.ok("inspection.disabled_rules", r.parse::<RuleRange>()))
        .collect();
    cfg.rule_files = ins.rule_files.into_iter().map(PathBuf::from).collect();
    let apps = match env.get("WAFER_APPS") {
        Some(v) => Some((
            "WAFER_APPS",
            v.split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
        )),
        None => ins.apps.map(|a| ("inspection.apps", a)),
    };
    if let Some((key, names)) = apps {
        cfg.engine.policy.apps = resolve_apps(&mut c, key, names);
    }

    for (i, r) in file.routes.into_iter().enumerate() {
        let key = |k: &str| format!("routes[{i}].{k}");
        let path = match r.path {
            Some(p) => c.ok(&key("path"), PathPattern::parse(&p)),
            None => {
                c.fail(&key("path"), "missing");
                None
            }
        };
        let mode = r.mode.and_then(|m| c.ok(&key("mode"), m.parse::<Mode>()));
        let threshold = r
            .threshold
            .and_then(|t| c.ok(&key("threshold"), parse_threshold(&t.to_string())));
        let paranoia = r
            .paranoia
            .and_then(|p| c.ok(&key("paranoia"), parse_paranoia(&p.to_string())));
        let disabled_rules = r
            .disabled_rules
            .iter()
            .filter_map(|d| c.ok(&key("disabled_rules"), d.parse::<RuleRange>()))
            .collect();
        let anomaly_mode = r
            .anomaly_mode
            .and_then(|m| c.ok(&key("anomaly_mode"), m.parse::<Mode>()));
        let anomaly_threshold = r
            .anomaly_threshold
            .and_then(|t| c.ok(&key("anomaly_threshold"), parse_anomaly_threshold(t)));
        if let Some(path) = path {
            cfg.engine.policy.routes.push(Route {
                path,
                mode,
                threshold,
                paranoia,
                disabled_rules,
                anomaly_mode,
                anomaly_threshold,
                inspect_websocket: r.inspect_websocket,
            });
        }
    }

    cfg.ip_lists.allow = file
        .ip
        .allow
        .iter()
        .filter_map(|n| c.ok("ip.allow", parse_net(n)))
        .collect();
    cfg.ip_lists.block = file
        .ip
        .block
        .iter()
        .filter_map(|n| c.ok("ip.block", parse_net(n)))
        .collect();

    for (key, message) in super::bounds::lists(&cfg.engine.policy, &cfg.ip_lists) {
        let key = match key.as_str() {
            "disabled_rules" => "inspection.disabled_rules".to_owned(),
            _ => key,
        };
        c.fail(&key, message);
    }

    resolve_event_bounds(&mut c, &file.events, &mut cfg.event_bounds);
    if let Some((_, v)) = pick(
        flags.events.clone().map(|v| ("--events", v)),
        env_pair(env, "WAFER_EVENTS"),
        file.events.output.map(|v| ("events.output", v)),
    ) {
        cfg.events = match v.as_str() {
            "stdout" | "-" => SinkTarget::Stdout,
            "none" | "off" => SinkTarget::None,
            path => SinkTarget::File(PathBuf::from(path)),
        };
    }

    if let Some((_, v)) = pick(
        flags.data_dir.clone().map(|v| ("--data-dir", v)),
        env_pair(env, "WAFER_DATA_DIR"),
        file.data_dir.map(|v| ("data_dir", v)),
    ) {
        cfg.data_dir = PathBuf::from(v);
    }
    if let Some(n) = file.node {
        cfg.node = n;
    }
    if let Some((key, v)) = pick(
        flags.store.clone().map(|v| ("--store", v)),
        env_pair(env, "WAFER_STORE"),
        file.store.url.map(|v| ("store.url", v)),
    ) {
        if v.starts_with("postgres://")
            || v.starts_with("postgresql://")
            || v.starts_with("sqlite:")
        {
            cfg.store = Some(v);
        } else {
            c.fail(
                &key,
                format!("expected sqlite:PATH or postgres://..., not {v:?}"),
            );
        }
    }
    if let Some(m) = file.anomaly.mode
        && let Some(m) = c.ok("anomaly.mode", m.parse::<Mode>())
    {
        cfg.engine.policy.anomaly.mode = m;
    }
    for (i, l) in file.rate_limits.into_iter().enumerate() {
        let key = |k: &str| format!("rate_limits[{i}].{k}");
        let name = l.name.unwrap_or_else(|| format!("limit{i}"));
        let path = l
            .path
            .and_then(|p| c.ok(&key("path"), PathPattern::parse(&p)));
        let by = c.ok(
            &key("key"),
            l.key
                .as_deref()
                .unwrap_or("ip")
                .parse::<crate::guard::limit::LimitKey>(),
        );
        let Some(rate) = l.rate else {
            c.fail(&key("rate"), "missing (like 100/s, 600/m)");
            continue;
        };
        if let Some(by) = by
            && let Some(limit) = c.ok(
                &key("rate"),
                crate::guard::limit::Limit::new(&name, path, by, &rate, l.burst),
            )
        {
            cfg.rate_limits.push(limit);
        }
    }
    cfg.ip_files = (
        file.ip.allow_files.iter().map(PathBuf::from).collect(),
        file.ip.block_files.iter().map(PathBuf::from).collect(),
    );
    if let Some(n) = file.bans.after {
        cfg.bans.after = n;
    }
    if let Some(s) = file.bans.within_secs {
        if (1..=86_400).contains(&s) {
            cfg.bans.within_ms = s * 1000;
        } else {
            c.fail("bans.within_secs", "1 to 86400");
        }
    }
    if let Some(m) = file.bans.minutes {
        if (1..=43_200).contains(&m) {
            cfg.bans.duration_ms = m * 60_000;
        } else {
            c.fail("bans.minutes", "1 to 43200 (30 days)");
        }
    }
    let rules = c.ok(
        "geoip",
        crate::guard::geo::CountryRules::parse(&file.geoip.allow, &file.geoip.deny),
    );
    match (file.geoip.database, rules) {
        (Some(db), Some(rules)) => cfg.geoip = Some((PathBuf::from(db), rules)),
        (None, Some(rules)) if !rules.is_empty() => {
            c.fail("geoip.database", "country rules need a database (.mmdb)");
        }
        _ => {}
    }
    if let Some((key, url)) = pick(
        None,
        env_pair(env, "WAFER_REDIS_URL"),
        file.redis_url.map(|v| ("redis_url", v)),
    ) {
        if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")
        {
            cfg.redis_url = Some(url);
        } else {
            c.fail(&key, format!("expected redis://HOST:PORT/DB, not {url:?}"));
        }
    }
    if let Some(n) = file.anomaly.learn_requests {
        if n == 0 || (100..=1_000_000).contains(&n) {
            cfg.learn_requests = n;
        } else {
            c.fail("anomaly.learn_requests", "0 (off) or 100 to 1000000");
        }
    }
    cfg.learn_limits = resolve_learn_limits(
        (
            file.anomaly.learn_max_bytes,
            file.anomaly.learn_client_share,
            file.anomaly.learn_min_clients,
        ),
        cfg.learn_requests,
        &mut c,
    );
    if let Some(t) = file.anomaly.threshold {
        cfg.engine.policy.anomaly.threshold = c.ok("anomaly.threshold", parse_anomaly_threshold(t));
    }
    if let Some((_, dir)) = pick(
        flags.models_dir.clone().map(|v| ("--models-dir", v)),
        env_pair(env, "WAFER_MODELS_DIR"),
        file.anomaly.models_dir.map(|v| ("anomaly.models_dir", v)),
    ) {
        cfg.models_dir = Some(PathBuf::from(dir));
    }
    if let Some(d) = file.store.retention_days {
        if d.is_finite() && d >= 0.0 {
            cfg.retention.max_age_ms = (d * 86_400_000.0) as u64;
        } else {
            c.fail(
                "store.retention_days",
                "must be a number of days, 0 for no limit",
            );
        }
    }
    if let Some(n) = file.store.max_events {
        cfg.retention.max_events = n;
    }
    if let Some(n) = file.store.max_bytes {
        if n == 0 || n >= 16 << 20 {
            cfg.retention.max_bytes = n;
        } else {
            c.fail(
                "store.max_bytes",
                "0 (no limit) or at least 16777216 (16 MiB)",
            );
        }
    }

    if let Some((key, v)) = pick(
        flags.admin_listen.clone().map(|v| ("--admin-listen", v)),
        env_pair(env, "WAFER_ADMIN_LISTEN"),
        file.admin.listen.map(|v| ("admin.listen", v)),
    ) {
        if v == "off" || v == "none" {
            cfg.admin_listen = None;
        } else if let Some(a) = c.ok(
            &key,
            v.parse::<SocketAddr>()
                .map_err(|_| format!("expected HOST:PORT like 127.0.0.1:9443, or off, not {v:?}")),
        ) {
            cfg.admin_listen = Some(a);
        }
    }
    if let Some((key, v)) = pick(
        None,
        env_pair(env, "WAFER_ADMIN_TOKEN"),
        file.admin.token.map(|v| ("admin.token", v)),
    ) {
        if v.len() < 16 || !v.bytes().all(|b| b.is_ascii_graphic()) {
            c.fail(&key, "must be at least 16 printable characters");
        } else {
            cfg.admin_token = Some(v);
        }
    }
    let record_all = env_pair(env, "WAFER_RECORD_ALL")
        .map(|(k, v)| (k.to_owned(), v.parse::<f64>().ok()))
        .or_else(|| {
            file.events
                .record_all
                .map(|v| ("events.record_all".to_owned(), Some(v)))
        });
    if let Some((key, v)) = record_all {
        match v {
            Some(r) if (0.0..=1.0).contains(&r) => cfg.record_all = r,
            _ => c.fail(&key, "must be a fraction between 0 and 1"),
        }
    }

    if let Some((key, v)) = pick(
        flags.log_level.clone().map(|v| ("--log-level", v)),
        env_pair(env, "WAFER_LOG"),
        file.log.level.map(|v| ("log.level", v)),
    ) {
        match v.as_str() {
            "error" | "warn" | "info" | "debug" | "trace" => cfg.log_level = v,
            _ => c.fail(
                &key,
                format!("expected error, warn, info, debug or trace, not {v:?}"),
            ),
        }
    }
    if let Some(f) = file.log.format {
        match f.as_str() {
            "text" => cfg.log_format = LogFormat::Text,
            "json" => cfg.log_format = LogFormat::Json,
            _ => c.fail("log.format", format!("expected text or json, not {f:?}")),
        }
    }

    if c.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(c.errors))
    }
}

/// `[events]` bounds: each in its range, or an error naming the key.
fn resolve_event_bounds(
    c: &mut Check,
    f: &super::file::FileEvents,
    b: &mut crate::events::EventBounds,
) {
    use crate::events::bounds::MIN_MAX_EVENT_BYTES;
    let mut in_range = |key: &str, v: Option<u64>, lo: u64, hi: u64| -> Option<u64> {
        let v = v?;
        if (lo..=hi).contains(&v) {
            Some(v)
        } else {
            c.fail(key, format!("{lo} to {hi}, not {v}"));
            None
        }
    };
    if let Some(v) = in_range(
        "events.max_event_bytes",
        f.max_event_bytes,
        MIN_MAX_EVENT_BYTES as u64,
        1 << 20,
    ) {
        b.max_event_bytes = v as usize;
    }
    if let Some(v) = in_range("events.queue_bytes", f.queue_bytes, 1 << 20, 1 << 30) {
        b.queue_bytes = v as usize;
    }
    if let Some(v) = in_range(
        "events.sample_per_sec",
        f.sample_per_sec.map(u64::from),
        0,
        100_000,
    ) {
        b.sample.per_sec = v as u32;
    }
    if let Some(v) = in_range(
        "events.sample_burst",
        f.sample_burst.map(u64::from),
        1,
        1_000_000,
    ) {
        b.sample.burst = v as u32;
    }
    if let Some(v) = in_range(
        "events.sample_one_in",
        f.sample_one_in.map(u64::from),
        1,
        1_000_000,
    ) {
        b.sample.one_in = v as u32;
    }
}

/// Known profile names, each once, in the order given; unknown ones are errors
/// that list the known.
fn resolve_apps(c: &mut Check, key: &str, names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        match wafer_engine::apps::find(&n) {
            Ok(_) if !out.contains(&n) => out.push(n),
            Ok(_) => {}
            Err(e) => c.fail(key, e),
        }
    }
    out
}

fn parse_upstream(v: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = v.parse().map_err(|e| format!("not a URL ({e}): {v:?}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err("https upstreams are not supported yet; use http://".into()),
        _ => return Err(format!("expected http://HOST:PORT, not {v:?}")),
    }
    if uri.authority().is_none() {
        return Err(format!("no host in {v:?}"));
    }
    if uri.query().is_some() {
        return Err("an upstream URL cannot have a query".into());
    }
    Ok(uri)
}

pub(crate) fn parse_net(v: &str) -> Result<IpNet, String> {
    v.parse::<IpNet>()
        .or_else(|_| v.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("expected an IP address or CIDR like 10.0.0.0/8, not {v:?}"))
}

// Flags and environment variables arrive as text; the bounds are shared with
// the admin API (`super::bounds`).
fn parse_paranoia(v: &str) -> Result<u8, String> {
    match v.trim().parse::<i64>() {
        Ok(p) => super::bounds::paranoia(p),
        Err(_) => Err(format!("paranoia must be 1, 2, 3 or 4, not {v:?}")),
    }
}

pub fn parse_anomaly_threshold(t: f64) -> Result<f64, String> {
    super::bounds::anomaly_threshold(t)
}

fn parse_threshold(v: &str) -> Result<u32, String> {
    match v.trim().parse::<i64>() {
        Ok(t) => super::bounds::threshold(t),
        Err(_) => super::bounds::threshold(0).map_err(|e| format!("{e} ({v:?})")),
    }
}

/// `anomaly.learn_*`: the learning period's bounds (see `anomaly::learn`).
fn resolve_learn_limits(
    (max_bytes, share, min_clients): (Option<usize>, Option<f64>, Option<usize>),
    learn_requests: usize,
    c: &mut Check,
) -> crate::anomaly::learn::LearnLimits {
    use crate::anomaly::learn::{LearnLimits, MAX_SAMPLE_COST};
    let mut l = LearnLimits::default();
    if let Some(n) = max_bytes {
        if ((1 << 20)..=(1 << 30)).contains(&n) {
            l.max_bytes = n;
        } else {
            c.fail(
                "anomaly.learn_max_bytes",
                "1048576 (1 MiB) to 1073741824 (1 GiB)",
            );
        }
    }
    if let Some(p) = share {
        if p > 0.0 && p <= 100.0 {
            l.client_share_pct = p;
        } else {
            c.fail(
                "anomaly.learn_client_share",
                format!("a percentage above 0 and at most 100, not {p}"),
            );
        }
    }
    if let Some(n) = min_clients {
        if (1..=10_000).contains(&n) {
            l.min_clients = n;
        } else {
            c.fail("anomaly.learn_min_clients", "1 to 10000");
        }
    }
    if learn_requests > 0 && l.min_clients > learn_requests {
        c.fail(
            "anomaly.learn_min_clients",
            format!(
                "{} distinct clients cannot fit in a learning set of {learn_requests} requests \
                 (anomaly.learn_requests)",
                l.min_clients
            ),
        );
    }
    // A set the byte budget completes early must still hold a sample from
    // each of the clients it needs, at the largest sample size.
    let need = l.min_clients.saturating_mul(MAX_SAMPLE_COST);
    if l.max_bytes < need {
        c.fail(
            "anomaly.learn_max_bytes",
            format!(
                "{} bytes cannot hold a sample from each of {} clients \
                 (anomaly.learn_min_clients): at least {need}",
                l.max_bytes, l.min_clients
            ),
        );
    }
    l
}
