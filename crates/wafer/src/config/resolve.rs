//! Folding file, environment and flags into a validated `Config`: each
//! section of the file is parsed, with the variables and flags that override
//! it, into typed values (`super::sections`); `assemble` then puts them
//! together. Every problem in every section is reported.

use std::collections::HashMap;

use wafer_engine::EngineConfig;

use super::file::FileConfig;
use super::sections;
use super::{Config, ConfigErrors, Problems, policy};

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

/// A value with the key it came from, for error messages: the flag wins over
/// the variable, the variable over the file.
pub(super) fn pick(
    flag: Option<(&str, String)>,
    env: Option<(&str, String)>,
    file: Option<(&str, String)>,
) -> Option<(String, String)> {
    flag.or(env).or(file).map(|(k, v)| (k.to_owned(), v))
}

pub(super) fn env_pair<'k>(env: &dyn EnvSource, key: &'k str) -> Option<(&'k str, String)> {
    env.get(key).map(|v| (key, v))
}

/// What overrides the file: the environment, then the flags.
pub(super) struct Sources<'a> {
    pub(super) env: &'a dyn EnvSource,
    pub(super) flags: &'a Overrides,
}

impl Sources<'_> {
    /// The value that wins among a flag, a variable and the file's key, with its key.
    pub(super) fn pick(
        &self,
        flag: (&str, Option<&String>),
        var: &str,
        file: (&str, Option<String>),
    ) -> Option<(String, String)> {
        pick(
            flag.1.map(|v| (flag.0, v.clone())),
            env_pair(self.env, var),
            file.1.map(|v| (file.0, v)),
        )
    }
}

pub fn resolve(
    mut file: FileConfig,
    env: &dyn EnvSource,
    flags: &Overrides,
) -> Result<Config, ConfigErrors> {
    let src = Sources { env, flags };
    // What each section starts from: the defaults.
    let d = &Config::default();
    let p = &mut Problems::default();
    let site_files = std::mem::take(&mut file.sites);
    let default_site = file.default_site.take();
    let tls_file = std::mem::take(&mut file.tls);
    let acme_file = std::mem::take(&mut file.acme);
    let parts = Parts {
        network: sections::network(p, &src, d, file.listen, file.upstream, file.trusted_proxies),
        timeouts: sections::timeouts(p, d, &file.timeouts),
        connections: sections::connections(p, d, file.max_header_bytes, &file.limits),
        inspection: sections::inspection(p, &src, d, file.inspection),
        routes: policy::routes(p, &file.routes),
        ip: sections::ip(p, &file.ip),
        events: sections::events(p, &src, d, file.events),
        log: sections::log(p, &src, file.log),
        store: sections::store(p, &src, d, file.data_dir, file.store),
        node: file.node.unwrap_or_else(|| d.node.clone()),
        admin: sections::admin(p, &src, d, file.admin),
        anomaly: sections::anomaly(p, &src, d, &file.anomaly),
        redis_url: sections::redis_url(p, &src, file.redis_url),
        rate_limits: super::throttle::rate_limits(p, "rate_limits", &file.rate_limits),
        geoip: sections::geoip(p, file.geoip),
        bans: super::throttle::bans(p, "bans", d.throttle.bans, &file.bans),
    };
    let mut cfg = assemble(parts);
    cfg.sites = super::sites::sites(p, site_files, default_site, &cfg);
    cfg.tls = super::sites::tls(p, tls_file, &cfg.sites);
    cfg.acme = super::acme::acme(p, acme_file, &cfg.sites);
    // The whole policy's size, once its parts are together.
    policy::lengths(
        p,
        &cfg.engine.policy,
        &cfg.ip_lists,
        "inspection.disabled_rules",
    );
    std::mem::take(p).into_result(cfg).map_err(ConfigErrors)
}

/// Every section, parsed.
struct Parts {
    network: sections::Network,
    timeouts: crate::proxy::Timeouts,
    connections: sections::Connections,
    inspection: sections::Inspection,
    routes: Vec<wafer_engine::Route>,
    ip: sections::Ip,
    events: sections::Events,
    log: sections::Log,
    store: sections::Store,
    node: String,
    admin: sections::Admin,
    anomaly: sections::Anomaly,
    redis_url: Option<String>,
    rate_limits: Vec<crate::guard::limit::Limit>,
    geoip: Option<(std::path::PathBuf, crate::guard::geo::CountryRules)>,
    bans: crate::guard::bans::BanPolicy,
}

fn assemble(x: Parts) -> Config {
    let mut policy = x.inspection.policy;
    policy.routes = x.routes;
    policy.anomaly.mode = x.anomaly.mode;
    policy.anomaly.threshold = x.anomaly.threshold;
    Config {
        listen: x.network.listen,
        workers: None,
        upstream: x.network.upstream,
        sites: super::sites::Sites::default(),
        tls: None,
        acme: super::acme::AcmeSettings::default(),
        trusted_proxies: x.network.trusted_proxies,
        timeouts: x.timeouts,
        max_header_bytes: x.connections.max_header_bytes,
        max_connections: x.connections.max_connections,
        admin_max_connections: x.connections.admin_max_connections,
        engine: EngineConfig {
            policy,
            limits: x.inspection.limits,
            extra_rules: Vec::new(),
        },
        ip_lists: x.ip.lists,
        events: x.events.sink,
        log_level: x.log.level,
        log_format: x.log.format,
        rule_files: x.inspection.rule_files,
        data_dir: x.store.data_dir,
        store: x.store.url,
        retention: x.store.retention,
        event_bounds: x.events.bounds,
        admin_listen: x.admin.listen,
        admin_token: x.admin.token,
        record_all: x.events.record_all,
        node: x.node,
        models_dir: x.anomaly.models_dir,
        learn_requests: x.anomaly.learn_requests,
        learn_limits: x.anomaly.learn_limits,
        throttle: crate::guard::Throttle {
            rate_limits: x.rate_limits,
            bans: x.bans,
        },
        redis_url: x.redis_url,
        geoip: x.geoip,
        ip_files: x.ip.files,
    }
}
