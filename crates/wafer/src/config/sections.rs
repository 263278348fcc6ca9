//! One function per section of `wafer.toml`: each parses its section, and the
//! variables and flags that override it, into typed values, recording every
//! problem under its key. `resolve::assemble` puts the results together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use wafer_engine::{BodyOverflow, Limits, Mode, Policy};

use super::file::{
    FileAdmin, FileAnomaly, FileEvents, FileGeoIp, FileInspection, FileIp, FileLimits, FileLog,
    FileStore, FileTimeouts,
};
use super::resolve::{Sources, env_pair, pick};
use super::{Config, LogFormat, LogLevel, Problems, names, policy};
use crate::anomaly::learn::LearnLimits;
use crate::events::{EventBounds, SinkTarget};
use crate::guard::geo::CountryRules;
use crate::guard::list_files::IpListFiles;
use crate::guard::{IpLists, parse_net};
use crate::proxy::Timeouts;
use crate::store::{Retention, StoreUrl};

pub(super) struct Network {
    pub(super) listen: SocketAddr,
    pub(super) upstream: Option<http::Uri>,
    pub(super) trusted_proxies: Vec<IpNet>,
}

/// `listen`, `upstream`, `trusted_proxies`.
pub(super) fn network(
    p: &mut Problems,
    src: &Sources,
    d: &Config,
    listen: Option<String>,
    upstream: Option<String>,
    proxies: Vec<String>,
) -> Network {
    let flags = src.flags;
    let listen = src
        .pick(
            ("--listen", flags.listen.as_ref()),
            "WAFER_LISTEN",
            ("listen", listen),
        )
        .and_then(|(key, v)| {
            let a = v.parse::<SocketAddr>();
            p.ok(
                &key,
                a.map_err(|_| format!("expected HOST:PORT like 127.0.0.1:8080, not {v:?}")),
            )
        });
    let upstream = pick(
        flags.upstream.clone().map(|v| ("--upstream", v)),
        env_pair(src.env, "WAFER_UPSTREAM").or_else(|| env_pair(src.env, "PYWAF_UPSTREAM")),
        upstream.map(|v| ("upstream", v)),
    )
    .and_then(|(key, v)| p.ok(&key, parse_upstream(&v)));
    // The whole list comes from one place: flags, else the variable, else the file.
    let proxies: Vec<(&str, String)> = if !flags.trusted_proxies.is_empty() {
        let given = flags.trusted_proxies.iter().cloned();
        given.map(|v| ("--trusted-proxy", v)).collect()
    } else if let Some(v) = src.env.get("WAFER_TRUSTED_PROXIES") {
        let given = v.split(',').map(|v| v.trim().to_owned());
        given.map(|v| ("WAFER_TRUSTED_PROXIES", v)).collect()
    } else {
        proxies
            .into_iter()
            .map(|v| ("trusted_proxies", v))
            .collect()
    };
    Network {
        listen: listen.unwrap_or(d.listen),
        upstream,
        trusted_proxies: proxies
            .iter()
            .filter_map(|(k, v)| p.ok(k, parse_net(v)))
            .collect(),
    }
}

pub(super) fn parse_upstream(v: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = v.parse().map_err(|e| format!("not a URL ({e}): {v:?}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(format!(
                "expected http://HOST:PORT or https://HOST:PORT, not {v:?}"
            ));
        }
    }
    if uri.authority().is_none() {
        return Err(format!("no host in {v:?}"));
    }
    if uri.query().is_some() {
        return Err("an upstream URL cannot have a query".into());
    }
    Ok(uri)
}

/// `v` when it is a whole number in `range`, else `None` with `message` under `key`.
fn whole<T: TryFrom<i64> + PartialOrd>(
    p: &mut Problems,
    key: &str,
    v: Option<i64>,
    range: std::ops::RangeInclusive<T>,
    message: &str,
) -> Option<T> {
    match T::try_from(v?) {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            p.fail(key, message);
            None
        }
    }
}

/// `[timeouts]`.
pub(super) fn timeouts(p: &mut Problems, d: &Config, f: &FileTimeouts) -> Timeouts {
    let mut t = d.timeouts.clone();
    for (key, v, slot) in [
        (
            "client_header_secs",
            f.client_header_secs,
            &mut t.client_header,
        ),
        ("client_idle_secs", f.client_idle_secs, &mut t.client_idle),
        ("client_body_secs", f.client_body_secs, &mut t.client_body),
        (
            "upstream_connect_secs",
            f.upstream_connect_secs,
            &mut t.upstream_connect,
        ),
        (
            "upstream_response_secs",
            f.upstream_response_secs,
            &mut t.upstream_response,
        ),
    ] {
        match v {
            Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
                *slot = Duration::from_secs_f64(secs);
            }
            Some(secs) => p.fail(
                format!("timeouts.{key}"),
                format!("must be a number of seconds in (0, 86400], not {secs}"),
            ),
            None => {}
        }
    }
    if let Some(n) = whole(
        p,
        "timeouts.client_body_min_rate",
        f.client_body_min_rate,
        1..=1 << 30,
        "must be a number of bytes a second between 1 and 1073741824",
    ) {
        t.client_body_min_rate = n;
    }
    t
}

pub(super) struct Connections {
    pub(super) max_header_bytes: usize,
    pub(super) max_connections: Option<usize>,
    pub(super) admin_max_connections: usize,
}

/// `max_header_bytes` and `[limits]`.
pub(super) fn connections(
    p: &mut Problems,
    d: &Config,
    max_header_bytes: Option<usize>,
    f: &FileLimits,
) -> Connections {
    let header = match max_header_bytes {
        Some(n) if (1024..=1 << 20).contains(&n) => Some(n),
        Some(_) => {
            p.fail("max_header_bytes", "must be between 1024 and 1048576");
            None
        }
        None => None,
    };
    let max_connections = whole(
        p,
        "limits.max_connections",
        f.max_connections,
        crate::proxy::nofile::MIN_CONNECTIONS..=1_000_000,
        "must be between 16 and 1000000",
    );
    let admin = whole(
        p,
        "limits.admin_max_connections",
        f.admin_max_connections,
        4..=10_000,
        "must be between 4 and 10000",
    );
    Connections {
        max_header_bytes: header.unwrap_or(d.max_header_bytes),
        max_connections: max_connections.or(d.max_connections),
        admin_max_connections: admin.unwrap_or(d.admin_max_connections),
    }
}

pub(super) struct Inspection {
    /// The policy's global part (routes and the anomaly model's part come apart).
    pub(super) policy: Policy,
    pub(super) limits: Limits,
    pub(super) rule_files: Vec<PathBuf>,
}

/// `[inspection]`, with the mode, paranoia, threshold and profiles the
/// environment and flags may set instead.
pub(super) fn inspection(
    p: &mut Problems,
    src: &Sources,
    d: &Config,
    mut f: FileInspection,
) -> Inspection {
    let flags = src.flags;
    let mut policy = d.engine.policy.clone();
    if let Some((key, v)) = src.pick(
        ("--mode", flags.mode.as_ref()),
        "WAFER_MODE",
        ("inspection.mode", f.mode.take()),
    ) && let Some(m) = policy::mode(p, &key, &v)
    {
        policy.mode = m;
    }
    let paranoia = flags.paranoia.map(|v| v.to_string());
    let file_paranoia = f.paranoia.map(|v| v.to_string());
    if let Some((key, v)) = src.pick(
        ("--paranoia", paranoia.as_ref()),
        "WAFER_PARANOIA",
        ("inspection.paranoia", file_paranoia),
    ) && let Some(n) = p.ok(&key, policy::paranoia_text(&v))
    {
        policy.paranoia = n;
    }
    let threshold = flags.threshold.map(|v| v.to_string());
    let file_threshold = f.threshold.map(|v| v.to_string());
    if let Some((key, v)) = src.pick(
        ("--threshold", threshold.as_ref()),
        "WAFER_THRESHOLD",
        ("inspection.threshold", file_threshold),
    ) && let Some(n) = p.ok(&key, policy::threshold_text(&v))
    {
        policy.threshold = n;
    }
    let limits = inspection_limits(p, d.engine.limits.clone(), &f);
    if let Some(b) = f.inspect_websocket {
        policy.inspect_websocket = b;
    }
    if let Some(methods) = f.allowed_methods {
        policy.allowed_methods = allowed_methods(p, "inspection.allowed_methods", methods);
    }
    policy.disabled_rules = policy::rule_ranges(p, "inspection.disabled_rules", &f.disabled_rules);
    let apps = match src.env.get("WAFER_APPS") {
        Some(v) => {
            let names = v.split(',').map(|a| a.trim().to_owned());
            Some(("WAFER_APPS", names.filter(|a| !a.is_empty()).collect()))
        }
        None => f.apps.map(|a| ("inspection.apps", a)),
    };
    if let Some((key, names)) = apps {
        policy.apps = policy::apps(p, key, &names);
    }
    Inspection {
        policy,
        limits,
        rule_files: f.rule_files.into_iter().map(PathBuf::from).collect(),
    }
}

pub(super) fn allowed_methods(p: &mut Problems, key: &str, methods: Vec<String>) -> Vec<String> {
    let mut ok = Vec::new();
    for m in methods {
        if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) {
            ok.push(m);
        } else {
            p.fail(key, format!("{m:?} is not an uppercase method name"));
        }
    }
    ok
}

/// `[inspection]`'s bounds on the work one request can cause.
fn inspection_limits(p: &mut Problems, mut l: Limits, f: &FileInspection) -> Limits {
    let key = |k: &str| format!("inspection.{k}");
    // At least the bytes a streamed body is sniffed by, so how a client
    // chunks a body cannot change whether it is read as binary.
    let between = "must be between 4096 and 67108864 (64 MiB)";
    if let Some(n) = whole(
        p,
        &key("body_limit_bytes"),
        f.body_limit_bytes,
        4096..=64 << 20,
        between,
    ) {
        l.body_inspect_bytes = n;
    }
    if let Some(v) = &f.body_overflow {
        match v.as_str() {
            "inspect_partial" => p.fail(
                key("body_overflow"),
                "inspect_partial was removed: it forwarded the bytes past body_limit_bytes \
                 uninspected; use stream (the default: the rest is inspected as it streams) or reject",
            ),
            _ => {
                if let Some(o) = p.ok(&key("body_overflow"), names::parse::<BodyOverflow>(v)) {
                    l.body_overflow = o;
                }
            }
        }
    }
    if let Some(n) = whole(
        p,
        &key("max_body_bytes"),
        f.max_body_bytes,
        1..=u64::MAX,
        "must be at least 1",
    ) {
        l.max_body_bytes = n;
    }
    let ratio = "must be between 2 and 100000";
    if let Some(n) = whole(
        p,
        &key("max_decompression_ratio"),
        f.max_decompression_ratio,
        2..=100_000,
        ratio,
    ) {
        l.max_decompression_ratio = n;
    }
    let ws = "must be between 1024 and 67108864 (64 MiB)";
    if let Some(n) = whole(
        p,
        &key("websocket_max_message_bytes"),
        f.websocket_max_message_bytes,
        1024..=64 << 20,
        ws,
    ) {
        l.websocket_max_message_bytes = n;
    }
    if let Some(n) = whole(
        p,
        &key("max_json_depth"),
        f.max_json_depth,
        1..=128,
        "must be between 1 and 128",
    ) {
        l.body.max_depth = n;
    }
    if let Some(n) = whole(
        p,
        &key("max_args"),
        f.max_args,
        1..=100_000,
        "must be between 1 and 100000",
    ) {
        l.body.max_args = n;
    }
    l
}

pub(super) struct Ip {
    pub(super) lists: IpLists,
    pub(super) files: IpListFiles,
}

/// `[ip]`: the policy's own lists, and list files.
pub(super) fn ip(p: &mut Problems, f: &FileIp) -> Ip {
    Ip {
        lists: policy::ip_lists(p, &f.allow, &f.block),
        files: IpListFiles {
            allow: f.allow_files.iter().map(PathBuf::from).collect(),
            block: f.block_files.iter().map(PathBuf::from).collect(),
        },
    }
}

pub(super) struct Events {
    pub(super) sink: SinkTarget,
    pub(super) bounds: EventBounds,
    pub(super) record_all: f64,
}

/// `[events]`, with the output and the recorded share the environment and flags may set.
pub(super) fn events(p: &mut Problems, src: &Sources, d: &Config, f: FileEvents) -> Events {
    let bounds = event_bounds(p, &f, d.event_bounds.clone());
    let sink = src
        .pick(
            ("--events", src.flags.events.as_ref()),
            "WAFER_EVENTS",
            ("events.output", f.output),
        )
        .map_or_else(|| d.events.clone(), |(_, v)| SinkTarget::from(v.as_str()));
    let record_all = env_pair(src.env, "WAFER_RECORD_ALL")
        .map(|(k, v)| (k.to_owned(), v.parse::<f64>().ok()))
        .or_else(|| {
            f.record_all
                .map(|v| ("events.record_all".to_owned(), Some(v)))
        });
    let record_all = match record_all {
        Some((_, Some(r))) if (0.0..=1.0).contains(&r) => r,
        Some((key, _)) => {
            p.fail(key, "must be a fraction between 0 and 1");
            d.record_all
        }
        None => d.record_all,
    };
    Events {
        sink,
        bounds,
        record_all,
    }
}

/// `[events]` bounds: each in its range, or an error naming the key.
fn event_bounds(p: &mut Problems, f: &FileEvents, mut b: EventBounds) -> EventBounds {
    use crate::events::bounds::MIN_MAX_EVENT_BYTES;
    let mut in_range = |key: &str, v: Option<u64>, lo: u64, hi: u64| -> Option<u64> {
        let v = v?;
        if (lo..=hi).contains(&v) {
            Some(v)
        } else {
            p.fail(format!("events.{key}"), format!("{lo} to {hi}, not {v}"));
            None
        }
    };
    let min_event = MIN_MAX_EVENT_BYTES as u64;
    if let Some(v) = in_range("max_event_bytes", f.max_event_bytes, min_event, 1 << 20) {
        b.max_event_bytes = v as usize;
    }
    if let Some(v) = in_range("queue_bytes", f.queue_bytes, 1 << 20, 1 << 30) {
        b.queue_bytes = v as usize;
    }
    if let Some(v) = in_range(
        "sample_per_sec",
        f.sample_per_sec.map(u64::from),
        0,
        100_000,
    ) {
        b.sample.per_sec = v as u32;
    }
    if let Some(v) = in_range("sample_burst", f.sample_burst.map(u64::from), 1, 1_000_000) {
        b.sample.burst = v as u32;
    }
    if let Some(v) = in_range(
        "sample_one_in",
        f.sample_one_in.map(u64::from),
        1,
        1_000_000,
    ) {
        b.sample.one_in = v as u32;
    }
    b
}

pub(super) struct Log {
    pub(super) level: LogLevel,
    pub(super) format: LogFormat,
}

/// `[log]`; the level may come from `WAFER_LOG` or `--log-level`.
pub(super) fn log(p: &mut Problems, src: &Sources, f: FileLog) -> Log {
    let flag = ("--log-level", src.flags.log_level.as_ref());
    let level = src
        .pick(flag, "WAFER_LOG", ("log.level", f.level))
        .and_then(|(key, v)| p.ok(&key, v.parse::<LogLevel>()));
    let format = f
        .format
        .and_then(|v| p.ok("log.format", v.parse::<LogFormat>()));
    Log {
        level: level.unwrap_or_default(),
        format: format.unwrap_or_default(),
    }
}

pub(super) struct Store {
    pub(super) data_dir: PathBuf,
    pub(super) url: Option<StoreUrl>,
    pub(super) retention: Retention,
}

/// `data_dir` and `[store]`.
pub(super) fn store(
    p: &mut Problems,
    src: &Sources,
    d: &Config,
    data_dir: Option<String>,
    f: FileStore,
) -> Store {
    let flags = src.flags;
    let data_dir = src
        .pick(
            ("--data-dir", flags.data_dir.as_ref()),
            "WAFER_DATA_DIR",
            ("data_dir", data_dir),
        )
        .map_or_else(|| d.data_dir.clone(), |(_, v)| PathBuf::from(v));
    let url = src
        .pick(
            ("--store", flags.store.as_ref()),
            "WAFER_STORE",
            ("store.url", f.url),
        )
        .and_then(|(key, v)| p.ok(&key, v.parse::<StoreUrl>()));
    let mut retention = d.retention.clone();
    match f.retention_days {
        Some(days) if days.is_finite() && days >= 0.0 => {
            retention.max_age_ms = (days * 86_400_000.0) as u64;
        }
        Some(_) => p.fail(
            "store.retention_days",
            "must be a number of days, 0 for no limit",
        ),
        None => {}
    }
    if let Some(n) = f.max_events {
        retention.max_events = n;
    }
    match f.max_bytes {
        Some(n) if n == 0 || n >= 16 << 20 => retention.max_bytes = n,
        Some(_) => p.fail(
            "store.max_bytes",
            "0 (no limit) or at least 16777216 (16 MiB)",
        ),
        None => {}
    }
    Store {
        data_dir,
        url: url.or_else(|| d.store.clone()),
        retention,
    }
}

pub(super) struct Admin {
    pub(super) listen: Option<SocketAddr>,
    pub(super) token: Option<String>,
}

/// `[admin]`: where the admin listener is (or `off`), and its token.
pub(super) fn admin(p: &mut Problems, src: &Sources, d: &Config, f: FileAdmin) -> Admin {
    let flag = ("--admin-listen", src.flags.admin_listen.as_ref());
    let listen = match src.pick(flag, "WAFER_ADMIN_LISTEN", ("admin.listen", f.listen)) {
        Some((_, v)) if v == "off" || v == "none" => None,
        Some((key, v)) => {
            let a = v
                .parse::<SocketAddr>()
                .map_err(|_| format!("expected HOST:PORT like 127.0.0.1:9443, or off, not {v:?}"));
            p.ok(&key, a).or(d.admin_listen)
        }
        None => d.admin_listen,
    };
    let token = match pick(
        None,
        env_pair(src.env, "WAFER_ADMIN_TOKEN"),
        f.token.map(|v| ("admin.token", v)),
    ) {
        Some((key, v)) if v.len() < 16 || !v.bytes().all(|b| b.is_ascii_graphic()) => {
            p.fail(key, "must be at least 16 printable characters");
            d.admin_token.clone()
        }
        Some((_, v)) => Some(v),
        None => d.admin_token.clone(),
    };
    Admin { listen, token }
}

pub(super) struct Anomaly {
    pub(super) mode: Mode,
    pub(super) threshold: Option<f64>,
    pub(super) models_dir: Option<PathBuf>,
    pub(super) learn_requests: usize,
    pub(super) learn_limits: LearnLimits,
}

/// `[anomaly]`: the model's part in decisions, where models live, the learning period.
pub(super) fn anomaly(p: &mut Problems, src: &Sources, d: &Config, f: &FileAnomaly) -> Anomaly {
    let defaults = &d.engine.policy.anomaly;
    let mode = (f.mode.as_deref()).and_then(|m| policy::mode(p, "anomaly.mode", m));
    let threshold = match f.threshold {
        Some(t) => p.ok("anomaly.threshold", policy::anomaly_threshold(t)),
        None => defaults.threshold,
    };
    let flag = ("--models-dir", src.flags.models_dir.as_ref());
    let models_dir = src
        .pick(
            flag,
            "WAFER_MODELS_DIR",
            ("anomaly.models_dir", f.models_dir.clone()),
        )
        .map(|(_, dir)| PathBuf::from(dir));
    let learn_requests = match f.learn_requests {
        Some(n) if n == 0 || (100..=1_000_000).contains(&n) => n,
        Some(_) => {
            p.fail("anomaly.learn_requests", "0 (off) or 100 to 1000000");
            d.learn_requests
        }
        None => d.learn_requests,
    };
    let learn_limits = learn_limits(p, f, learn_requests, d.learn_limits);
    Anomaly {
        mode: mode.unwrap_or(defaults.mode),
        threshold,
        models_dir: models_dir.or_else(|| d.models_dir.clone()),
        learn_requests,
        learn_limits,
    }
}

/// `anomaly.learn_*`: the learning period's bounds (see `anomaly::learn`).
fn learn_limits(
    p: &mut Problems,
    f: &FileAnomaly,
    learn_requests: usize,
    mut l: LearnLimits,
) -> LearnLimits {
    use crate::anomaly::learn::MAX_SAMPLE_COST;
    match f.learn_max_bytes {
        Some(n) if ((1 << 20)..=(1 << 30)).contains(&n) => l.max_bytes = n,
        Some(_) => p.fail(
            "anomaly.learn_max_bytes",
            "1048576 (1 MiB) to 1073741824 (1 GiB)",
        ),
        None => {}
    }
    match f.learn_client_share {
        Some(pct) if pct > 0.0 && pct <= 100.0 => l.client_share_pct = pct,
        Some(pct) => p.fail(
            "anomaly.learn_client_share",
            format!("a percentage above 0 and at most 100, not {pct}"),
        ),
        None => {}
    }
    match f.learn_min_clients {
        Some(n) if (1..=10_000).contains(&n) => l.min_clients = n,
        Some(_) => p.fail("anomaly.learn_min_clients", "1 to 10000"),
        None => {}
    }
    if learn_requests > 0 && l.min_clients > learn_requests {
        p.fail(
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
        p.fail(
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

/// `redis_url` (or `WAFER_REDIS_URL`): rate limits shared through it.
pub(super) fn redis_url(p: &mut Problems, src: &Sources, file: Option<String>) -> Option<String> {
    let (key, url) = pick(
        None,
        env_pair(src.env, "WAFER_REDIS_URL"),
        file.map(|v| ("redis_url", v)),
    )?;
    if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://") {
        Some(url)
    } else {
        p.fail(key, format!("expected redis://HOST:PORT/DB, not {url:?}"));
        None
    }
}

/// `[geoip]`: country rules and the database they read.
pub(super) fn geoip(p: &mut Problems, f: FileGeoIp) -> Option<(PathBuf, CountryRules)> {
    let rules = p.ok("geoip", CountryRules::parse(&f.allow, &f.deny));
    match (f.database, rules) {
        (Some(db), Some(rules)) => Some((PathBuf::from(db), rules)),
        (None, Some(rules)) if !rules.is_empty() => {
            p.fail("geoip.database", "country rules need a database (.mmdb)");
            None
        }
        _ => None,
    }
}
