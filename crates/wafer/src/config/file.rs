//! The shape of `wafer.toml`. Separate from [`Config`](super::Config): the file
//! is what users write (optional everything, friendly units), the config is
//! what the program uses (validated, typed).

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub upstream: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub max_header_bytes: Option<usize>,
    #[serde(default)]
    pub timeouts: FileTimeouts,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub inspection: FileInspection,
    /// The same shape as the admin API's (`policy::RouteSpec`).
    #[serde(default)]
    pub routes: Vec<super::policy::RouteSpec>,
    #[serde(default)]
    pub ip: FileIp,
    #[serde(default)]
    pub events: FileEvents,
    #[serde(default)]
    pub log: FileLog,
    /// Where Wafer keeps its files (the SQLite store, the admin token, the saved policy).
    pub data_dir: Option<String>,
    /// This node's name in events and traffic rows (default: the host name).
    pub node: Option<String>,
    #[serde(default)]
    pub store: FileStore,
    #[serde(default)]
    pub admin: FileAdmin,
    #[serde(default)]
    pub anomaly: FileAnomaly,
    /// Share rate limits across nodes through this Redis (`redis://host:6379/0`).
    pub redis_url: Option<String>,
    #[serde(default)]
    pub rate_limits: Vec<super::throttle::RateLimitSpec>,
    #[serde(default)]
    pub geoip: FileGeoIp,
    #[serde(default)]
    pub bans: super::throttle::BansSpec,
    /// The sites this Wafer fronts (see `config::sites`).
    #[serde(default)]
    pub sites: Vec<super::sites::FileSite>,
    /// The site for host names no site lists.
    pub default_site: Option<String>,
    #[serde(default)]
    pub tls: super::sites::FileTls,
    #[serde(default)]
    pub acme: super::acme::FileAcme,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileGeoIp {
    /// A MaxMind-format country database (`.mmdb`) you supply.
    pub database: Option<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAnomaly {
    /// `detect` (default), `block` or `off`.
    pub mode: Option<String>,
    /// 0 to 1; default: the active model's own threshold.
    pub threshold: Option<f64>,
    /// Where trained models live (default: `models` in the data dir).
    pub models_dir: Option<String>,
    /// Allowed requests to learn from before training the site's first model (0: off).
    pub learn_requests: Option<usize>,
    /// Memory the learning period's samples may hold (bytes).
    pub learn_max_bytes: Option<usize>,
    /// The most of the learning set one client may give (percent).
    pub learn_client_share: Option<f64>,
    /// Distinct clients the learning set needs before a model is trained.
    pub learn_min_clients: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStore {
    /// `sqlite:PATH` (default: events.db in the data dir) or `postgres://...`.
    pub url: Option<String>,
    pub retention_days: Option<f64>,
    pub max_events: Option<u64>,
    /// Past this many bytes of events, the oldest go (0: no limit).
    pub max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdmin {
    /// `HOST:PORT`, or `off`.
    pub listen: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTimeouts {
    pub client_header_secs: Option<f64>,
    pub client_idle_secs: Option<f64>,
    pub client_body_secs: Option<f64>,
    /// Bytes a second a request body must average once past `client_body_secs`.
    pub client_body_min_rate: Option<i64>,
    pub upstream_connect_secs: Option<f64>,
    pub upstream_response_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Client connections open at once (default: what the file-descriptor limit allows).
    pub max_connections: Option<i64>,
    /// The admin listener's own cap.
    pub admin_max_connections: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInspection {
    pub mode: Option<String>,
    pub paranoia: Option<i64>,
    pub threshold: Option<i64>,
    pub body_limit_bytes: Option<i64>,
    pub body_overflow: Option<String>,
    pub max_json_depth: Option<i64>,
    pub max_args: Option<i64>,
    pub max_body_bytes: Option<i64>,
    pub max_decompression_ratio: Option<i64>,
    pub allowed_methods: Option<Vec<String>>,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Inspect the client's WebSocket messages (default true; routes may override).
    pub inspect_websocket: Option<bool>,
    /// Largest WebSocket message held for inspection; larger closes the connection (1009).
    pub websocket_max_message_bytes: Option<i64>,
    /// Application profiles to apply (`wordpress`, `jupyterlab`, ...; `wafer apps` lists them).
    pub apps: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileIp {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub block: Vec<String>,
    /// Files of addresses or CIDRs, one a line, reread when they change.
    #[serde(default)]
    pub allow_files: Vec<String>,
    #[serde(default)]
    pub block_files: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEvents {
    /// `stdout`, `none`, or a file path.
    pub output: Option<String>,
    /// Fraction of allowed requests kept as events too (0 to 1).
    pub record_all: Option<f64>,
    /// One event's byte budget.
    pub max_event_bytes: Option<u64>,
    /// Bytes of events waiting for the store, and for the output, each.
    pub queue_bytes: Option<u64>,
    /// A client's events kept a second before sampling starts (0: no sampling).
    pub sample_per_sec: Option<u32>,
    pub sample_burst: Option<u32>,
    /// Past the rate, one event in this many is kept.
    pub sample_one_in: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

impl FileConfig {
    /// Parses the file's text; a syntax or unknown-key error names the line.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}
