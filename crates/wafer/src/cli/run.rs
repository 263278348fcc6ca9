//! `wafer run`: the proxy.

use anyhow::{Context, Result, bail};
use std::sync::Arc;

use crate::config::{Config, LogFormat, Overrides};
use crate::events::EventSink;
use crate::proxy::{self, ProxyConfig, Shared};

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

pub fn run(cfg: Config, workers: Option<usize>) -> Result<i32> {
    let Some(upstream) = cfg.upstream.clone() else {
        bail!(
            "no upstream to protect: give --upstream http://HOST:PORT, set WAFER_UPSTREAM, or put upstream = \"http://...\" in wafer.toml (or try `wafer demo`)"
        );
    };
    init_logging(&cfg);
    let engine = super::build_engine(&cfg)?;
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
    rt.block_on(serve(cfg, upstream, engine, announce))?;
    Ok(0)
}

/// Binds, serves until SIGINT/SIGTERM, then flushes events. `on_ready` gets the running node.
pub async fn serve(
    cfg: Config,
    upstream: http::Uri,
    engine: wafer_engine::Engine,
    on_ready: impl FnOnce(&Running),
) -> Result<()> {
    let running = start(cfg, upstream, engine).await?;
    on_ready(&running);
    shutdown_signal().await;
    running.stop().await
}

/// A started Wafer: the proxy, the admin listener, the event store and its writer.
pub struct Running {
    pub proxy_addr: std::net::SocketAddr,
    pub admin_addr: Option<std::net::SocketAddr>,
    pub admin_token: String,
    /// True when the token was made at this start (so it is shown once).
    pub token_created: bool,
    pub shared: Arc<Shared>,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, stores every accepted event.
    pub async fn stop(self) -> Result<()> {
        let Running {
            stop, done, shared, ..
        } = self;
        // The file sink ends when the last handle on the bus is gone.
        drop(shared);
        let _ = stop.send(());
        done.await.context("the server task failed")?
    }
}

/// Starts everything and returns once both listeners are bound.
pub async fn start(
    cfg: Config,
    upstream: http::Uri,
    engine: wafer_engine::Engine,
) -> Result<Running> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating the data directory {}", cfg.data_dir.display()))?;
    let store_spec = cfg.store_spec();
    let store = crate::store::open(&store_spec)
        .await
        .with_context(|| format!("opening the event store {store_spec}"))?;
    let policy_path = crate::admin::policy::saved_path(&cfg.data_dir);
    let (engine, ip_lists) = match crate::admin::policy::load(&policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?
    {
        Some(doc) => {
            let (policy, ip) = doc.build(engine.policy()).map_err(|errs| {
                let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{}: {}", policy_path.display(), errs.join("; "))
            })?;
            tracing::info!(path = %policy_path.display(), "policy saved through the admin API applies");
            (engine.with_policy(policy), ip)
        }
        None => (engine, cfg.ip_lists.clone()),
    };
    let bus = crate::events::Publisher::new(cfg.event_bounds.clone());
    let (writer, store_tx) = crate::store::writer::StoreWriter::start(
        Arc::clone(&store),
        Arc::clone(bus.stats()),
        crate::store::writer::WriterOptions {
            queue_bytes: cfg.event_bounds.queue_bytes,
            max_store_bytes: cfg.retention.max_bytes,
        },
    );
    let (sink, bus) = EventSink::start_on(cfg.events.clone(), bus.with_store(store_tx))
        .context("starting the event sink")?;
    let max_connections = connection_cap(&cfg)?;
    let listener =
        proxy::conn::bind(cfg.listen).with_context(|| format!("listening on {}", cfg.listen))?;
    let proxy_addr = listener.local_addr()?;
    tracing::info!(
        upstream = %upstream,
        mode = %engine.policy().mode,
        paranoia = engine.policy().paranoia,
        threshold = engine.policy().threshold,
        rules = engine.rule_infos().len(),
        store = store.kind(),
        "configuration"
    );
    let mut shared = Shared::new(
        engine,
        ip_lists,
        bus,
        ProxyConfig {
            upstream,
            trusted_proxies: cfg.trusted_proxies.clone(),
            timeouts: cfg.timeouts.clone(),
            max_header_bytes: cfg.max_header_bytes,
            max_connections,
        },
    )
    .context("setting up the upstream")?;
    shared.admin_connections = Arc::new(proxy::conn::Connections::new(cfg.admin_max_connections));
    shared.record_all = cfg.record_all;
    let redis = match cfg.redis_url.as_deref() {
        Some(url) => {
            let link = crate::guard::redis::RedisLink::open(url).map_err(|e| anyhow::anyhow!(e))?;
            // At once, so that the first requests already share their counts.
            link.connect();
            Some(link)
        }
        None => None,
    };
    shared.limiter =
        crate::guard::limit::shared::Limiter::new(cfg.rate_limits.clone(), redis.clone());
    shared.bans = crate::guard::bans::Bans::new(cfg.bans, redis.clone());
    if !cfg.ip_files.is_empty() {
        let files = crate::guard::list_files::ListFiles::open(
            cfg.ip_files.allow.clone(),
            cfg.ip_files.block.clone(),
        )
        .map_err(|e| anyhow::anyhow!("IP list files: {e}"))?;
        shared.list_files = Some(Arc::new(files));
    }
    shared.redis = redis;
    if let Some((path, rules)) = &cfg.geoip {
        let g = crate::guard::country::CountryGuard::open(path.clone(), rules.clone())
            .context("opening the GeoIP database")?;
        shared.country = Some(Arc::new(g));
    }
    let models = crate::anomaly::ModelsDir::new(cfg.models_dir());
    let first = crate::anomaly::reload::initial(&models, cfg.learn_requests > 0);
    if first.as_ref().is_some_and(|m| m.learning) {
        shared.learner = crate::anomaly::learn::Learner::new(
            cfg.learn_requests,
            cfg.learn_limits,
            models.path().to_owned(),
        );
        tracing::info!(
            requests = cfg.learn_requests,
            max_bytes = cfg.learn_limits.max_bytes,
            client_share_pct = cfg.learn_limits.client_share_pct,
            min_clients = cfg.learn_limits.min_clients,
            "no trained anomaly model: learning this site's traffic first"
        );
    }
    shared.model = arc_swap::ArcSwapOption::new(first);
    let shared = Arc::new(shared);
    let policy_lock = Arc::new(tokio::sync::Mutex::new(()));
    let mut periodic = crate::periodic::Periodic::default();
    let secs = std::time::Duration::from_secs;
    let reloader = Arc::new(crate::anomaly::reload::Reloader::new(
        crate::anomaly::ModelsDir::new(models.path()),
        Arc::clone(&shared),
    ));
    periodic.every(secs(2), move || Arc::clone(&reloader).check());
    if let Some(g) = shared.country.clone() {
        periodic.every(secs(2), move || {
            let g = Arc::clone(&g);
            async move {
                let _ = tokio::task::spawn_blocking(move || g.reload_if_changed()).await;
            }
        });
    }
    if let Some(f) = shared.list_files.clone() {
        periodic.every(secs(2), move || {
            let f = Arc::clone(&f);
            async move {
                let _ = tokio::task::spawn_blocking(move || f.reload_if_changed()).await;
            }
        });
    }
    if shared.redis.is_some() {
        let s = Arc::clone(&shared);
        periodic.every(secs(1), move || {
            let s = Arc::clone(&s);
            async move { s.bans.sync().await }
        });
        let (s, path, lock) = (
            Arc::clone(&shared),
            policy_path.clone(),
            Arc::clone(&policy_lock),
        );
        periodic.every(secs(2), move || {
            crate::admin::policy_sync::check(Arc::clone(&s), Some(path.clone()), Arc::clone(&lock))
        });
    }
    let (telemetry, _) = tokio::sync::broadcast::channel(64);
    let ticker = crate::traffic::ticker::Ticker::start(
        Arc::clone(&shared.traffic),
        cfg.node.clone(),
        Some(Arc::clone(&store)),
        telemetry.clone(),
    );
    let (admin_token, token_created) =
        crate::admin::auth::load_or_create_token(cfg.admin_token.clone(), &cfg.data_dir)
            .context("reading or creating the admin token")?;
    let (admin_stop, admin_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (admin_addr, admin_task) = match cfg.admin_listen {
        Some(addr) => {
            let l = proxy::conn::bind(addr).with_context(|| format!("admin listener on {addr}"))?;
            let bound = l.local_addr()?;
            let state = Arc::new(crate::admin::AdminState {
                store: Arc::clone(&store),
                shared: Arc::clone(&shared),
                telemetry,
                auth: crate::admin::Auth::new(admin_token.clone()),
                policy_path: Some(policy_path),
                policy_lock: Arc::clone(&policy_lock),
                started_ms: crate::clock::now_ms(),
                node: cfg.node.clone(),
                models_dir: models.path().to_owned(),
            });
            let task = tokio::spawn(async move {
                crate::admin::serve(l, state, async {
                    let _ = admin_stop_rx.await;
                })
                .await
            });
            (Some(bound), Some(task))
        }
        None => (None, None),
    };
    let retention = cfg.retention.clone();
    let prune_store = Arc::clone(&store);
    let pruner = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            match prune_store
                .prune(retention.clone(), crate::clock::now_ms())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "old events removed"),
                Err(e) => tracing::warn!(error = %e, "applying retention failed"),
            }
        }
    });
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve_shared = Arc::clone(&shared);
    let n = cfg.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let workers = proxy::Workers::start(listener.into_std()?, Arc::clone(&serve_shared), n)
        .context("starting the proxy workers")?;
    let done = tokio::spawn(async move {
        let _ = stop_rx.await;
        workers.stop().await?;
        let _ = admin_stop.send(());
        if let Some(t) = admin_task {
            // Live streams never end on their own; give them a moment.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
        pruner.abort();
        periodic.stop().await;
        ticker.close().await;
        writer.close().await;
        let stats = Arc::clone(serve_shared.events.stats());
        drop(serve_shared);
        tokio::task::spawn_blocking(move || sink.close())
            .await?
            .context("flushing events")?;
        let (published, dropped, _) = stats.snapshot();
        let stored = stats.stored.load(std::sync::atomic::Ordering::Relaxed);
        tracing::info!(published, dropped, stored, "stopped");
        Ok(())
    });
    Ok(Running {
        proxy_addr,
        admin_addr,
        admin_token,
        token_created,
        shared,
        stop,
        done,
    })
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
