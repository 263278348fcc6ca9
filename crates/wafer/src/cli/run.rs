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
}

impl RunArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            events: self.events.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            log_level: self.log_level.clone(),
            ..self.engine.overrides()
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
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().context("starting the runtime")?;
    rt.block_on(serve(cfg, upstream, engine, |addr| {
        tracing::info!(%addr, "wafer listening");
    }))?;
    Ok(0)
}

/// Binds, serves until SIGINT/SIGTERM, then flushes events. `on_ready` gets the bound address.
pub async fn serve(
    cfg: Config,
    upstream: http::Uri,
    engine: wafer_engine::Engine,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let (sink, publisher) =
        EventSink::start(cfg.events.clone()).context("starting the event sink")?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        upstream = %upstream,
        mode = %cfg.mode(),
        paranoia = cfg.engine.policy.paranoia,
        threshold = cfg.engine.policy.threshold,
        rules = engine.rule_infos().len(),
        "configuration"
    );
    let shared = Arc::new(
        Shared::new(
            engine,
            cfg.ip_lists.clone(),
            publisher,
            ProxyConfig {
                upstream,
                trusted_proxies: cfg.trusted_proxies.clone(),
                timeouts: cfg.timeouts.clone(),
                max_header_bytes: cfg.max_header_bytes,
            },
        )
        .context("setting up the upstream")?,
    );
    on_ready(addr);
    proxy::serve(listener, Arc::clone(&shared), shutdown_signal()).await?;
    let (published, dropped, _) = shared.events.stats().snapshot();
    drop(shared);
    tokio::task::spawn_blocking(move || sink.close())
        .await?
        .context("flushing events")?;
    tracing::info!(published, dropped, "stopped");
    Ok(())
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
