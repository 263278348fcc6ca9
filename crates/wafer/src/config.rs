//! Configuration: the TOML file, environment variables and command-line flags,
//! folded into one validated [`Config`] (flags win over the environment, the
//! environment over the file, the file over the defaults).
//!
//! Validation reports every problem at once, each naming its key, so a user
//! fixes them all in one go.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;
use wafer_engine::{BodyLimits, BodyOverflow, EngineConfig, Limits, Mode, Policy};

use crate::events::SinkTarget;
use crate::guard::IpLists;
use crate::guard::list_files::IpListFiles;
use crate::proxy::Timeouts;
use crate::store::StoreUrl;

pub mod acme;
pub mod file;
pub mod names;
pub mod policy;
mod resolve;
mod sections;
pub mod sites;
pub mod throttle;

pub use file::FileConfig;
pub use names::{LogFormat, LogLevel};
pub use resolve::{EnvSource, Overrides, ProcessEnv, resolve};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// One problem with the configuration, or with a policy document the admin
/// API was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    /// The key as the user wrote it: `inspection.paranoia`, `routes[2].path`, `WAFER_MODE`, `--listen`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Collects problems while parsing, so that every bad key is reported, not
/// just the first.
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigError>);

impl Problems {
    pub fn fail(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            key: key.into(),
            message: message.into(),
        });
    }

    /// The value, or `None` with the error recorded under `key`.
    pub fn ok<T, E: fmt::Display>(&mut self, key: &str, r: Result<T, E>) -> Option<T> {
        r.map_err(|e| self.fail(key, e.to_string())).ok()
    }

    /// `v` when nothing was wrong; else every problem.
    pub fn into_result<T>(self, v: T) -> Result<T, Vec<ConfigError>> {
        if self.0.is_empty() {
            Ok(v)
        } else {
            Err(self.0)
        }
    }
}

/// All problems found, shown one per line.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem{}):",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Proxy worker threads, each with its own event loop (`None`: one per core).
    pub workers: Option<usize>,
    /// `None` only when no upstream was given anywhere: `wafer run` refuses to start then,
    /// unless `sites` are listed.
    pub upstream: Option<http::Uri>,
    /// `[[sites]]`; empty: one site, `upstream`, takes every host name.
    pub sites: sites::Sites,
    /// `[tls]`: `None`, no HTTPS listener.
    pub tls: Option<sites::TlsConfig>,
    /// `[acme]`: where `acme = true` sites' certificates come from.
    pub acme: acme::AcmeSettings,
    pub trusted_proxies: Vec<IpNet>,
    pub timeouts: Timeouts,
    pub max_header_bytes: usize,
    /// Client connections open at once (`None`: derived from the file-descriptor limit at start).
    pub max_connections: Option<usize>,
    pub admin_max_connections: usize,
    pub engine: EngineConfig,
    pub ip_lists: IpLists,
    pub events: SinkTarget,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    /// Extra rule files loaded at start, after the built-in ones.
    pub rule_files: Vec<PathBuf>,
    pub data_dir: PathBuf,
    /// `None`: events.db in the data dir.
    pub store: Option<StoreUrl>,
    pub retention: crate::store::Retention,
    /// Event size, queue bytes and per-client sampling.
    pub event_bounds: crate::events::EventBounds,
    /// `None`: no admin listener.
    pub admin_listen: Option<SocketAddr>,
    /// `None`: read from (or created in) the data dir.
    pub admin_token: Option<String>,
    /// Fraction of allowed requests kept as events (0 to 1).
    pub record_all: f64,
    pub node: String,
    /// Where trained anomaly models live; `None`: `models` in the data dir.
    pub models_dir: Option<PathBuf>,
    /// Allowed requests learned from before the first model is trained (0: no learning period).
    pub learn_requests: usize,
    /// The learning period's memory, per-client share and distinct clients.
    pub learn_limits: crate::anomaly::learn::LearnLimits,
    /// The file's rate limits and ban settings (each site's, unless it sets its own).
    pub throttle: crate::guard::Throttle,
    /// Rate limits shared through this Redis; `None`: each node counts alone.
    pub redis_url: Option<String>,
    /// Country rules and the database they read (`None`: no GeoIP).
    pub geoip: Option<(PathBuf, crate::guard::geo::CountryRules)>,
    /// IP list files (allow, block), reread when they change.
    pub ip_files: IpListFiles,
}

/// The admin listener's default address: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9443";

impl Config {
    /// Where trained models live: the configured directory, or `models` in the data dir.
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// The store to open: the configured one, or SQLite in the data dir.
    pub fn store_spec(&self) -> StoreUrl {
        self.store
            .clone()
            .unwrap_or_else(|| StoreUrl::Sqlite(self.data_dir.join("events.db")))
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "wafer".to_owned())
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            workers: None,
            upstream: None,
            sites: sites::Sites::default(),
            tls: None,
            acme: acme::AcmeSettings::default(),
            trusted_proxies: Vec::new(),
            timeouts: Timeouts::default(),
            max_header_bytes: 64 * 1024,
            max_connections: None,
            admin_max_connections: crate::proxy::nofile::DEFAULT_ADMIN_CONNECTIONS,
            engine: EngineConfig {
                policy: Policy::default(),
                limits: Limits {
                    body: BodyLimits::default(),
                    body_overflow: BodyOverflow::Stream,
                    ..Limits::default()
                },
                extra_rules: Vec::new(),
            },
            ip_lists: IpLists::default(),
            events: SinkTarget::Stdout,
            log_level: LogLevel::Info,
            log_format: LogFormat::Text,
            rule_files: Vec::new(),
            data_dir: PathBuf::from("wafer-data"),
            store: None,
            retention: crate::store::Retention::default(),
            event_bounds: crate::events::EventBounds::default(),
            admin_listen: Some(DEFAULT_ADMIN_LISTEN.parse().expect("valid default")),
            admin_token: None,
            record_all: 0.0,
            node: host_name(),
            models_dir: None,
            learn_requests: 10_000,
            learn_limits: Default::default(),
            throttle: Default::default(),
            redis_url: None,
            geoip: None,
            ip_files: IpListFiles::default(),
        }
    }
}

impl Config {
    pub fn mode(&self) -> Mode {
        self.engine.policy.mode
    }
}

#[cfg(test)]
mod tests;
