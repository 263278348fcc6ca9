//! `wafer run`: the proxy.

use anyhow::{Context, Result, bail};
use std::sync::Arc;

use crate::admin::AdminState;
use crate::admin::keeper::PolicyKeeper;
use crate::anomaly::learn::Learner;
use crate::anomaly::reload::Reloader;
use crate::anomaly::{AnomalyState, ModelsDir};
use crate::config::{Config, LogFormat, Overrides};
use crate::events::{EventSink, Publisher};
use crate::guard::bans::Bans;
use crate::guard::country::CountryGuard;
use crate::guard::door::Door;
use crate::guard::limit::shared::Limiter;
use crate::guard::list_files::ListFiles;
use crate::guard::redis::RedisLink;
use crate::periodic::Periodic;
use crate::protection::{Live, Protection};
use crate::proxy::conn::Connections;
use crate::proxy::{self, Proxy, ProxyConfig, ProxyParts, Site, Sites};
use crate::sightings::Sightings;
use crate::store::Store;
use crate::store::writer::{StoreWriter, WriterOptions};
use crate::traffic::Traffic;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address to listen on (default 127.0.0.1:8080). Also WAFER_LISTEN.
    #[arg(long)]
    pub listen: Option<String>,
    /// The application to protect, e.g. http://127.0.0.1:9000. Also WAFER_UPSTREAM (or PYWAF_UPSTREAM).
    #[arg(long)]
    pub upstream: Option<String>,
    /// Where events go: stdout, none, or a file path (JSON lines). Also WAFER_EVENTS.
    #[arg(long)]
    pub events: Option<String>,
    /// A proxy in front of Wafer whose X-Forwarded-For is trusted (IP or CIDR; repeatable). Also WAFER_TRUSTED_PROXIES.
    #[arg(long = "trusted-proxy")]
    pub trusted_proxies: Vec<String>,
    /// Log level: error, warn, info, debug, trace. Also WAFER_LOG.
    #[arg(long)]
    pub log_level: Option<String>,
    /// Worker threads for the proxy (default: one per core).
    #[arg(long, env = "WAFER_WORKERS")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub engine: super::EngineFlags,
    #[command(flatten)]
    pub store: super::StoreFlags,
}

impl RunArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            events: self.events.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            log_level: self.log_level.clone(),
            ..self.store.apply(self.engine.overrides())
        }
    }
}

pub fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("wafer={0},wafer_engine={0}", cfg.log_level))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn run(cfg: Config, workers: Option<usize>, reread: Option<Reread>) -> Result<i32> {
    if cfg.upstream.is_none() && cfg.sites.sites.is_empty() {
        bail!(
            "no upstream to protect: give --upstream http://HOST:PORT, set WAFER_UPSTREAM, or put upstream = \"http://...\" in wafer.toml (or try `wafer demo`)"
        );
    }
    init_logging(&cfg);
    let engine = super::build_engine(&cfg)?;
    super::accelerate::at_start(&engine, &cfg.data_dir);
    let cfg = Config {
        workers: workers.or(cfg.workers),
        ..cfg
    };
    // The proxy runs on its own worker threads (`proxy::Workers`); this
    // runtime has the admin API, the event store, the timers and the Redis
    // link. Two threads, so that one slow admin request (a large export)
    // cannot hold up the Redis replies the proxy's rate limits wait for.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve_reloading(cfg, engine, reread, announce))?;
    Ok(0)
}

/// Binds, serves until SIGINT/SIGTERM, then flushes events. `on_ready` gets the running node.
pub async fn serve(
    cfg: Config,
    engine: wafer_engine::Engine,
    on_ready: impl FnOnce(&Running),
) -> Result<()> {
    serve_reloading(cfg, engine, None, on_ready).await
}

/// How to read the configuration again, as at start (file, environment, flags).
pub type Reread = Box<dyn Fn() -> Result<Config> + Send + Sync>;

/// As [`serve`]; on SIGHUP, `reread` gives the configuration to reload
/// (a bad one is logged and changes nothing). The process id is written to
/// the data directory for `wafer reload`.
pub async fn serve_reloading(
    cfg: Config,
    engine: wafer_engine::Engine,
    reread: Option<Reread>,
    on_ready: impl FnOnce(&Running),
) -> Result<()> {
    let pid_file = super::reload::pid_path(&cfg.data_dir);
    let running = start(cfg, engine).await?;
    if reread.is_some()
        && let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id()))
    {
        tracing::warn!(path = %pid_file.display(), error = %e, "cannot write the process id: `wafer reload` will not find this process");
    }
    on_ready(&running);
    ready("READY=1\nSTATUS=serving");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = hangup() => {
                let Some(reread) = &reread else { continue };
                reload(&running, reread).await;
            }
        }
    }
    ready("STOPPING=1\nSTATUS=finishing in-flight requests");
    if reread.is_some() {
        let _ = std::fs::remove_file(&pid_file);
    }
    running.stop().await
}

/// A state for systemd (`Type=notify`), where there is one.
fn ready(state: &str) {
    #[cfg(unix)]
    super::notify::notify(state);
    #[cfg(not(unix))]
    let _ = state;
}

/// One reload, logged: what changed, what waits for a restart, or why nothing changed.
async fn reload(running: &Running, reread: &Reread) {
    tracing::info!("SIGHUP: reloading the configuration");
    let cfg = match reread() {
        Ok(cfg) => cfg,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the configuration is not valid; nothing changed");
            return;
        }
    };
    match running.reload(cfg).await {
        Ok(later) => {
            for w in &later {
                tracing::warn!("{w}");
            }
            tracing::info!(waiting_for_restart = later.len(), "configuration reloaded");
            ready("STATUS=serving; configuration reloaded");
        }
        Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed; nothing changed"),
    }
}

/// The next SIGHUP (never, where there are no signals).
async fn hangup() {
    #[cfg(unix)]
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        s.recv().await;
        return;
    }
    std::future::pending::<()>().await
}

/// A started Wafer: the proxy, the admin listener, the event store and its writer.
pub struct Running {
    pub proxy_addr: std::net::SocketAddr,
    /// The HTTPS listener's address, when `[tls]` has one.
    pub tls_addr: Option<std::net::SocketAddr>,
    pub admin_addr: Option<std::net::SocketAddr>,
    pub admin_token: String,
    /// True when the token was made at this start (so it is shown once).
    pub token_created: bool,
    /// The proxy's client connections (its cap and counters).
    pub connections: Arc<Connections>,
    /// The admin listener's.
    pub admin_connections: Arc<Connections>,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Result<()>>,
    reloadable: Arc<super::reload::Reloadable>,
}

impl Running {
    /// Puts `cfg` in force without dropping anything (see `cli::reload`);
    /// returns the changes that wait for a restart.
    pub async fn reload(&self, cfg: Config) -> Result<Vec<String>> {
        self.reloadable.apply(cfg).await
    }

    /// Stops accepting, finishes in-flight requests, stores every accepted event.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.done.await.context("the server task failed")?
    }
}

/// The node's parts, each built complete from the configuration.
struct Parts {
    store: Arc<dyn Store>,
    door: Arc<Door>,
    anomaly: Arc<AnomalyState>,
    models: ModelsDir,
    traffic: Arc<Traffic>,
    sightings: Arc<Sightings>,
    connections: Arc<Connections>,
    admin_connections: Arc<Connections>,
}

/// Starts everything and returns once both listeners are bound. The
/// configuration names the sites, or one `upstream`.
pub async fn start(cfg: Config, engine: wafer_engine::Engine) -> Result<Running> {
    let store = open_store(&cfg).await?;
    let (events, writer, sink) = event_bus(&cfg, &store)?;
    let max_connections = connection_cap(&cfg)?;
    let listener =
        proxy::conn::bind(cfg.listen).with_context(|| format!("listening on {}", cfg.listen))?;
    let proxy_addr = listener.local_addr()?;
    let tls = https(&cfg)?;
    let tls_addr = tls.as_ref().map(|t| t.addr);
    let redis = redis_link(&cfg)?;
    let https_port = tls_addr.map(|a| a.port());
    let sites = the_sites(&cfg, &engine, &cfg.data_dir, https_port)?;
    log_configuration(&sites, &*store);
    let parts = Parts {
        store,
        door: Arc::new(door(&cfg, redis.clone())?),
        anomaly: Arc::new(anomaly(&cfg)),
        models: ModelsDir::new(cfg.models_dir()),
        traffic: Arc::default(),
        sightings: Arc::default(),
        connections: Arc::new(Connections::new(max_connections)),
        admin_connections: Arc::new(Connections::new(cfg.admin_max_connections)),
    };
    // ACME's checks are answered with HTTPS (this node's orders) and in a
    // cluster (the other nodes' orders, through Redis).
    let challenges = Arc::new(crate::proxy::challenges::Challenges::shared(redis.clone()));
    let mut proxy = the_proxy(&cfg, sites, &parts, &events)?;
    if tls.is_some() || redis.is_some() {
        proxy = proxy.answering(Arc::clone(&challenges));
    }
    let proxy = Arc::new(proxy);
    let keeper = Arc::new(PolicyKeeper::new(
        proxy.live_sites(),
        Some(cfg.data_dir.clone()),
        redis,
    ));
    let mut periodic = background(&cfg, &parts, &keeper);
    // With HTTPS, the ACME client runs (idle without acme sites: a reload may add one).
    let acme = tls.as_ref().map(|t| {
        let acme = Arc::new(crate::acme::Acme::new(
            crate::acme::Plan::of(&cfg),
            challenges,
            Arc::clone(&t.certs),
        ));
        let task = Arc::clone(&acme);
        periodic.until_stopped(move |stop| task.run(stop));
        acme
    });
    let mut health = Periodic::default();
    health_checks(&cfg, &proxy.sites(), &mut health);
    let reloadable = Arc::new(super::reload::Reloadable {
        proxy: Arc::clone(&proxy),
        engine: engine.with_policy(engine.policy().clone()),
        keeper: Arc::clone(&keeper),
        certs: tls.as_ref().map(|t| Arc::clone(&t.certs)),
        acme: acme.clone(),
        https_port,
        health: tokio::sync::Mutex::new(health),
        config: std::sync::Mutex::new(cfg.clone()),
        lock: tokio::sync::Mutex::new(()),
    });
    if let Some(t) = &tls {
        let certs = Arc::clone(&t.certs);
        periodic.every(std::time::Duration::from_secs(5), move || {
            let certs = Arc::clone(&certs);
            async move {
                let failed = tokio::task::spawn_blocking(move || certs.refresh()).await;
                for e in failed.unwrap_or_default() {
                    tracing::warn!(error = %e, "a changed certificate could not be loaded; the one in use stays");
                }
            }
        });
    }
    let (telemetry, _) = tokio::sync::broadcast::channel(64);
    let ticker = crate::traffic::ticker::Ticker::start(
        Arc::clone(&parts.traffic),
        cfg.node.clone(),
        Some(Arc::clone(&parts.store)),
        telemetry.clone(),
    );
    let (admin_token, token_created) =
        crate::admin::auth::load_or_create_token(cfg.admin_token.clone(), &cfg.data_dir)
            .context("reading or creating the admin token")?;
    let admin = cfg
        .admin_listen
        .map(|addr| {
            let state = admin_state(
                &cfg,
                &keeper,
                &parts,
                &events,
                telemetry,
                &admin_token,
                acme.clone(),
            );
            Admin::start(addr, state, &cfg.timeouts)
        })
        .transpose()?;
    let n = cfg.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let tls = tls.map(|t| Ok::<_, std::io::Error>((t.listener.into_std()?, t.config)));
    let workers = proxy::Workers::start(listener.into_std()?, tls.transpose()?, proxy, n)
        .context("starting the proxy workers")?;
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let admin_addr = admin.as_ref().map(|a| a.addr);
    let stats = Arc::clone(events.stats());
    // The file sink ends when the last handle on the bus is gone: this one
    // goes now, the proxy's and the admin's when they stop.
    drop(events);
    let stopping = Stopping {
        workers,
        admin,
        periodic,
        reloadable: Arc::clone(&reloadable),
        ticker,
        writer,
        sink,
        stats,
    };
    let done = tokio::spawn(stopping.after(stop_rx));
    Ok(Running {
        proxy_addr,
        tls_addr,
        admin_addr,
        admin_token,
        token_created,
        connections: parts.connections,
        admin_connections: parts.admin_connections,
        stop,
        done,
        reloadable,
    })
}

/// The proxy over the node's parts.
fn the_proxy(cfg: &Config, sites: Sites, parts: &Parts, events: &Publisher) -> Result<Proxy> {
    Proxy::new(ProxyParts {
        config: ProxyConfig {
            trusted_proxies: cfg.trusted_proxies.clone(),
            timeouts: cfg.timeouts.clone(),
            max_header_bytes: cfg.max_header_bytes,
            max_connections: parts.connections.max(),
            record_all: cfg.record_all,
        },
        sites,
        door: Arc::clone(&parts.door),
        anomaly: Arc::clone(&parts.anomaly),
        events: events.clone(),
        traffic: Arc::clone(&parts.traffic),
        sightings: Arc::clone(&parts.sightings),
        connections: Arc::clone(&parts.connections),
    })
    .context("setting up the upstream")
}

/// What a stop takes down, in order: the proxy (in-flight requests finish),
/// the admin listener, the timers, the ticker, then the events still queued
/// are written to the store and the file.
struct Stopping {
    workers: proxy::Workers,
    admin: Option<Admin>,
    periodic: Periodic,
    reloadable: Arc<super::reload::Reloadable>,
    ticker: crate::traffic::ticker::Ticker,
    writer: StoreWriter,
    sink: EventSink,
    stats: Arc<crate::events::EventStats>,
}

impl Stopping {
    /// Waits for the word to stop, then stops everything in order.
    async fn after(self, stop: tokio::sync::oneshot::Receiver<()>) -> Result<()> {
        let _ = stop.await;
        self.workers.stop().await?;
        if let Some(a) = self.admin {
            a.stop().await;
        }
        self.periodic.stop().await;
        let health = std::mem::take(&mut *self.reloadable.health.lock().await);
        health.stop().await;
        self.ticker.close().await;
        self.writer.close().await;
        let sink = self.sink;
        tokio::task::spawn_blocking(move || sink.close())
            .await?
            .context("flushing events")?;
        let (published, dropped, _) = self.stats.snapshot();
        let stored = self.stats.stored.load(std::sync::atomic::Ordering::Relaxed);
        tracing::info!(published, dropped, stored, "stopped");
        Ok(())
    }
}

/// The data directory, and the event store in it (or wherever it is configured).
async fn open_store(cfg: &Config) -> Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating the data directory {}", cfg.data_dir.display()))?;
    let store_spec = cfg.store_spec();
    crate::store::open(&store_spec)
        .await
        .with_context(|| format!("opening the event store {store_spec}"))
}

/// The event bus, with the store's writer and the file sink behind it.
fn event_bus(cfg: &Config, store: &Arc<dyn Store>) -> Result<(Publisher, StoreWriter, EventSink)> {
    let bus = Publisher::new(cfg.event_bounds.clone());
    let (writer, store_tx) = StoreWriter::start(
        Arc::clone(store),
        Arc::clone(bus.stats()),
        WriterOptions {
            queue_bytes: cfg.event_bounds.queue_bytes,
            max_store_bytes: cfg.retention.max_bytes,
        },
    );
    let (sink, bus) = EventSink::start_on(cfg.events.clone(), bus.with_store(store_tx))
        .context("starting the event sink")?;
    Ok((bus, writer, sink))
}

fn log_configuration(sites: &Sites, store: &dyn Store) {
    for site in sites.iter() {
        let protection = site.protection.snapshot();
        let policy = protection.engine.policy();
        let hosts: Vec<String> = site.hosts.iter().map(|h| h.as_text()).collect();
        tracing::info!(
            site = %site.name,
            hosts = %if hosts.is_empty() { "(any other)".to_owned() } else { hosts.join(" ") },
            upstream = %site.pool.servers().iter().map(|s| s.uri.to_string()).collect::<Vec<_>>().join(" "),
            mode = %policy.mode,
            paranoia = policy.paranoia,
            threshold = policy.threshold,
            rules = protection.engine.rule_infos().len(),
            store = store.kind(),
            "configuration"
        );
    }
}

/// Each pool's active health checks, on `periodic`'s timers.
pub(super) fn health_checks(cfg: &Config, sites: &Sites, periodic: &mut Periodic) {
    for (s, site) in cfg.sites.sites.iter().zip(sites.iter()) {
        let Some(check) = s.health.clone() else {
            continue;
        };
        let pool = Arc::clone(&site.pool);
        let streaks = Arc::new(tokio::sync::Mutex::new(vec![
            (true, 0u32);
            pool.servers().len()
        ]));
        periodic.every(check.interval, move || {
            let (pool, check, streaks) = (Arc::clone(&pool), check.clone(), Arc::clone(&streaks));
            async move {
                let mut streaks = streaks.lock().await;
                crate::proxy::pool::check_round(&pool, &check, &mut streaks).await;
            }
        });
    }
}

/// The HTTPS listener, bound, with its certificates loaded.
struct Https {
    listener: tokio::net::TcpListener,
    addr: std::net::SocketAddr,
    certs: Arc<crate::proxy::tls::Certificates>,
    config: Arc<rustls::ServerConfig>,
}

/// `[tls]`: the listener and every site's certificate; a certificate that
/// cannot be loaded stops the start, naming its file.
fn https(cfg: &Config) -> Result<Option<Https>> {
    let Some(t) = &cfg.tls else {
        return Ok(None);
    };
    let sources = cert_sources(cfg);
    let certs =
        Arc::new(crate::proxy::tls::Certificates::load(sources).context("loading certificates")?);
    let config = certs.server_config().context("configuring TLS")?;
    let listener = proxy::conn::bind(t.listen)
        .with_context(|| format!("listening for HTTPS on {}", t.listen))?;
    let addr = listener.local_addr()?;
    Ok(Some(Https {
        listener,
        addr,
        certs,
        config,
    }))
}

/// Every certificate the configuration names: the sites' (their files, or
/// the ACME client's), then `[tls]`'s default.
pub(super) fn cert_sources(cfg: &Config) -> Vec<crate::proxy::tls::CertSource> {
    let acme = crate::acme::Plan::of(cfg);
    let mut sources: Vec<crate::proxy::tls::CertSource> = cfg
        .sites
        .sites
        .iter()
        .filter_map(|s| {
            s.tls.as_ref().map(|c| crate::proxy::tls::CertSource {
                from_acme: false,
                names: s.hosts.clone(),
                cert: c.cert.clone(),
                key: c.key.clone(),
                ocsp: c.ocsp.clone(),
            })
        })
        .collect();
    for (w, s) in acme
        .wanted
        .iter()
        .zip(cfg.sites.sites.iter().filter(|s| s.acme))
    {
        sources.push(crate::proxy::tls::CertSource {
            from_acme: true,
            names: s.hosts.clone(),
            cert: w.file.clone(),
            key: w.file.clone(),
            ocsp: None,
        });
    }
    if let Some(c) = cfg.tls.as_ref().and_then(|t| t.default_cert.as_ref()) {
        sources.push(crate::proxy::tls::CertSource {
            from_acme: false,
            names: Vec::new(),
            cert: c.cert.clone(),
            key: c.key.clone(),
            ocsp: c.ocsp.clone(),
        });
    }
    sources
}

/// The sites, each with its protection: the configuration's policy, lists,
/// rate limits and bans for it, or the policy saved for it through the admin
/// API over them. Every site shares the compiled rules.
pub(super) fn the_sites(
    cfg: &Config,
    engine: &wafer_engine::Engine,
    data_dir: &std::path::Path,
    https_port: Option<u16>,
) -> Result<Sites> {
    if cfg.sites.sites.is_empty() {
        let upstream = cfg.upstream.clone().context("no upstream")?;
        let base = Protection {
            engine: engine.with_policy(cfg.engine.policy.clone()),
            ip_lists: cfg.ip_lists.clone(),
            throttle: cfg.throttle.clone(),
        };
        let live = with_saved_policy(base, data_dir, proxy::sites::IMPLICIT_DEFAULT, true)?;
        return Ok(Sites::single(upstream, live));
    }
    // `Sites::primary`: the site the admin API edits when none is named.
    let primary = cfg
        .sites
        .default
        .clone()
        .unwrap_or_else(|| cfg.sites.sites[0].name.clone());
    let mut sites = Vec::new();
    for s in &cfg.sites.sites {
        let base = Protection {
            engine: engine.with_policy(s.policy.clone()),
            ip_lists: s.ip_lists.clone(),
            throttle: s.throttle.clone(),
        };
        let live = with_saved_policy(base, data_dir, &s.name, s.name == primary)?;
        let mut site = Site::new(&s.name, s.hosts.clone(), s.upstream.clone(), live);
        let mut pool = s.pool();
        let files = &s.upstream_tls;
        if files.ca.is_some() || files.sni.is_some() {
            let tls = crate::proxy::upstream_tls::UpstreamTls::load(
                files.ca.as_deref(),
                files.sni.as_deref(),
            )
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("site {:?}: upstream TLS", s.name))?;
            pool = pool.with_tls(Arc::new(tls));
        }
        site.pool = Arc::new(pool);
        site.redirect_https = https_port.filter(|_| s.https_redirect);
        site.hsts = s
            .hsts
            .as_deref()
            .and_then(|v| http::HeaderValue::from_str(v).ok());
        sites.push(site);
    }
    Ok(Sites::new(sites, cfg.sites.default.as_deref())?)
}

/// `base`, or the policy saved for `site` through the admin API over it.
fn with_saved_policy(
    base: Protection,
    data_dir: &std::path::Path,
    site: &str,
    primary: bool,
) -> Result<Arc<Live>> {
    let saved = crate::admin::policy::load_saved(data_dir, site, primary)
        .with_context(|| format!("reading the saved policy of site {site:?}"))?;
    let Some((doc, path)) = saved else {
        return Ok(Arc::new(Live::of(base)));
    };
    let protection = doc.apply_to(&base).map_err(|errs| {
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}: {}", path.display(), errs.join("; "))
    })?;
    tracing::info!(site, path = %path.display(), "policy saved through the admin API applies");
    Ok(Arc::new(Live::of(protection)))
}

/// The cluster's Redis, when configured (limits, bans and the policy).
fn redis_link(cfg: &Config) -> Result<Option<Arc<RedisLink>>> {
    let Some(url) = cfg.redis_url.as_deref() else {
        return Ok(None);
    };
    let link = RedisLink::open(url).map_err(|e| anyhow::anyhow!(e))?;
    // At once, so that the first requests already share their counts.
    link.connect();
    Ok(Some(link))
}

/// The door's checks as configured: IP list files, bans, countries, rate limits.
fn door(cfg: &Config, redis: Option<Arc<RedisLink>>) -> Result<Door> {
    let list_files = if cfg.ip_files.is_empty() {
        None
    } else {
        let files = ListFiles::open(cfg.ip_files.allow.clone(), cfg.ip_files.block.clone())
            .map_err(|e| anyhow::anyhow!("IP list files: {e}"))?;
        Some(Arc::new(files))
    };
    let country = match &cfg.geoip {
        Some((path, rules)) => Some(Arc::new(
            CountryGuard::open(path.clone(), rules.clone())
                .context("opening the GeoIP database")?,
        )),
        None => None,
    };
    Ok(Door::new(
        list_files,
        Bans::new(cfg.throttle.bans, redis.clone()),
        country,
        Limiter::new(redis),
    ))
}

/// The model to start with, and the learning period when there is no trained one.
fn anomaly(cfg: &Config) -> AnomalyState {
    let models = ModelsDir::new(cfg.models_dir());
    let first = crate::anomaly::reload::initial(&models, cfg.learn_requests > 0);
    if !first.as_ref().is_some_and(|m| m.learning) {
        return AnomalyState::new(first, Learner::off());
    }
    tracing::info!(
        requests = cfg.learn_requests,
        max_bytes = cfg.learn_limits.max_bytes,
        client_share_pct = cfg.learn_limits.client_share_pct,
        min_clients = cfg.learn_limits.min_clients,
        "no trained anomaly model: learning this site's traffic first"
    );
    let learner = Learner::new(
        cfg.learn_requests,
        cfg.learn_limits,
        models.path().to_owned(),
    );
    AnomalyState::new(first, learner)
}

/// The timers: model, GeoIP and list-file reloads, the cluster's ban and
/// policy syncs, and the store's retention.
fn background(cfg: &Config, parts: &Parts, keeper: &Arc<PolicyKeeper>) -> Periodic {
    let mut periodic = Periodic::default();
    let secs = std::time::Duration::from_secs;
    let reloader = Arc::new(Reloader::new(
        ModelsDir::new(parts.models.path()),
        Arc::clone(&parts.anomaly),
    ));
    periodic.every(secs(2), move || Arc::clone(&reloader).check());
    if let Some(g) = parts.door.country().cloned() {
        periodic.every(secs(2), move || {
            let g = Arc::clone(&g);
            async move {
                let _ = tokio::task::spawn_blocking(move || g.reload_if_changed()).await;
            }
        });
    }
    if let Some(f) = parts.door.list_files().cloned() {
        periodic.every(secs(2), move || {
            let f = Arc::clone(&f);
            async move {
                let _ = tokio::task::spawn_blocking(move || f.reload_if_changed()).await;
            }
        });
    }
    if keeper.redis.is_some() {
        let door = Arc::clone(&parts.door);
        periodic.every(secs(1), move || {
            let door = Arc::clone(&door);
            async move { door.bans().sync().await }
        });
        let keeper = Arc::clone(keeper);
        periodic.every(secs(2), move || {
            crate::admin::policy_sync::check(Arc::clone(&keeper))
        });
    }
    let (store, retention) = (Arc::clone(&parts.store), cfg.retention.clone());
    periodic.every(secs(600), move || {
        prune(Arc::clone(&store), retention.clone())
    });
    periodic
}

/// Applies the retention policy once.
async fn prune(store: Arc<dyn Store>, retention: crate::store::Retention) {
    match store.prune(retention, crate::clock::now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "old events removed"),
        Err(e) => tracing::warn!(error = %e, "applying retention failed"),
    }
}

fn admin_state(
    cfg: &Config,
    keeper: &Arc<PolicyKeeper>,
    parts: &Parts,
    events: &Publisher,
    telemetry: tokio::sync::broadcast::Sender<Arc<crate::traffic::Second>>,
    token: &str,
    acme: Option<Arc<crate::acme::Acme>>,
) -> Arc<AdminState> {
    Arc::new(AdminState {
        store: Arc::clone(&parts.store),
        keeper: Arc::clone(keeper),
        door: Arc::clone(&parts.door),
        anomaly: Arc::clone(&parts.anomaly),
        events: events.clone(),
        traffic: Arc::clone(&parts.traffic),
        proxy_connections: Arc::clone(&parts.connections),
        admin_connections: Arc::clone(&parts.admin_connections),
        sightings: Arc::clone(&parts.sightings),
        telemetry,
        auth: crate::admin::Auth::new(token.to_owned()),
        started_ms: crate::clock::now_ms(),
        node: cfg.node.clone(),
        models_dir: parts.models.path().to_owned(),
        acme,
    })
}

/// The admin listener, running.
struct Admin {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Admin {
    fn start(
        addr: std::net::SocketAddr,
        state: Arc<AdminState>,
        timeouts: &crate::proxy::Timeouts,
    ) -> Result<Admin> {
        let l = proxy::conn::bind(addr).with_context(|| format!("admin listener on {addr}"))?;
        let bound = l.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let timeouts = timeouts.clone();
        let task = tokio::spawn(async move {
            crate::admin::serve(l, state, &timeouts, async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Admin {
            addr: bound,
            stop,
            task,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        // Live streams never end on their own; give them a moment.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.task).await;
    }
}

/// Raises the file-descriptor limit and sizes the proxy's connection cap to
/// it: a configured cap the limit cannot hold is lowered (with a warning),
/// since past it accept fails for the admin listener too.
fn connection_cap(cfg: &Config) -> Result<usize> {
    use crate::proxy::nofile;
    let soft = match nofile::raise() {
        Ok(r) => {
            tracing::info!(
                before = r.before,
                soft = r.soft,
                hard = r.hard,
                "file descriptor limit"
            );
            Some(r.soft)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the file descriptor limit");
            None
        }
    };
    let budget = soft.map(|n| nofile::budget(n, cfg.admin_max_connections));
    let cap = match (cfg.max_connections, budget) {
        (Some(n), Some(b)) if n > b => {
            tracing::warn!(
                configured = n,
                allowed = b,
                "limits.max_connections is more than the file descriptor limit leaves room for; lowered"
            );
            b
        }
        (Some(n), _) => n,
        (None, Some(b)) => nofile::default_max_connections(b),
        (None, None) => 1024,
    };
    if cap < nofile::MIN_CONNECTIONS {
        bail!(
            "the file descriptor limit ({}) leaves room for {cap} client connections once the admin \
             listener's {} and a reserve are set aside: raise it (ulimit -n) or lower limits.admin_max_connections",
            soft.unwrap_or(0),
            cfg.admin_max_connections
        );
    }
    tracing::info!(
        max_connections = cap,
        admin_max_connections = cfg.admin_max_connections,
        "connection caps"
    );
    Ok(cap)
}

/// Says where everything is; prints the dashboard link with the token when the
/// token was just made, since that is the only time it is shown.
pub fn announce(r: &Running) {
    announce_with(r, false);
}

/// `always_link`: print the logged-in link even for a token made earlier (the
/// demo, where convenience beats keeping the token out of the terminal).
pub fn announce_with(r: &Running, always_link: bool) {
    tracing::info!(addr = %r.proxy_addr, "wafer listening");
    if let Some(a) = r.tls_addr {
        tracing::info!(addr = %a, "wafer listening for HTTPS");
    }
    if let Some(a) = r.admin_addr {
        tracing::info!(addr = %a, "admin listening");
        if r.token_created {
            eprintln!(
                "Admin token (saved in the data directory's admin-token file): {}",
                r.admin_token
            );
        }
        if r.token_created || always_link {
            eprintln!("Dashboard: http://{a}/dashboard/?token={}", r.admin_token);
        } else {
            eprintln!(
                "Dashboard: http://{a}/dashboard/ (log in with the token in the data directory's admin-token file)"
            );
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
