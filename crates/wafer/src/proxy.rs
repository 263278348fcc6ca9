//! The reverse proxy: accepts HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on
//! one port, runs each request through the guard and the engine, answers
//! blocked requests itself and forwards the rest to the upstream over pooled
//! keep-alive connections, bodies streamed both ways.
//!
//! The per-request steps live in [`pipeline`]; talking to the upstream in
//! [`forward`]; the answers Wafer gives itself in [`respond`].

use arc_swap::ArcSwap;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use std::sync::Arc;
use std::time::Duration;
use wafer_engine::Engine;

use crate::events::Publisher;
use crate::guard::IpLists;

mod body;
mod client_ip;
pub mod conn;
mod deadline;
mod error;
mod forward;
mod hygiene;
pub(crate) mod idle;
pub mod nofile;
mod pipeline;
mod pump;
mod request_id;
mod respond;
mod websocket;

pub use error::ProxyError;

/// Timeouts, each answered with a clear status and a logged reason.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// Client must send the request head within this (then the connection is
    /// closed), counted from accept for a connection's first request.
    pub client_header: Duration,
    /// Longest a connection may sit with no request in flight after its
    /// first (then it is closed).
    pub client_idle: Duration,
    /// Longest pause between two pieces of a request body being inspected (then 408).
    pub client_body: Duration,
    /// Past a first `client_body`, a body must average at least this many
    /// bytes a second since it began (then 408).
    pub client_body_min_rate: u64,
    /// Connecting to the upstream (then 502).
    pub upstream_connect: Duration,
    /// Upstream response head after the request was sent (then 504).
    pub upstream_response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            client_header: Duration::from_secs(10),
            client_idle: Duration::from_secs(60),
            client_body: Duration::from_secs(30),
            client_body_min_rate: 1024,
            upstream_connect: Duration::from_secs(5),
            upstream_response: Duration::from_secs(60),
        }
    }
}

/// Static proxy settings.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// `http://host:port` (an optional path prefix is kept in front of every request path).
    pub upstream: http::Uri,
    /// Peers whose `X-Forwarded-For` is believed when finding the client IP.
    pub trusted_proxies: Vec<IpNet>,
    pub timeouts: Timeouts,
    /// Largest request head accepted from clients (bytes); larger gets 431.
    pub max_header_bytes: usize,
    /// Client connections open at once, all workers together; past it a
    /// new connection gets a 503 and is closed.
    pub max_connections: usize,
}

/// What a policy change replaces, in one step: a request sees the old engine
/// and lists or the new ones, never a mix.
pub struct Protection {
    pub engine: Engine,
    pub ip_lists: IpLists,
}

/// Everything a request handler needs, shared by all connections. The
/// protection is swapped atomically on a policy change; in-flight requests
/// keep the snapshot they started with.
pub struct Shared {
    pub protection: ArcSwap<Protection>,
    pub events: Publisher,
    pub config: ProxyConfig,
    /// Counters of all traffic (the charts and `/metrics`).
    pub traffic: Arc<crate::traffic::Traffic>,
    /// Fraction of allowed requests also kept as events (0: none, 1: all).
    pub record_all: f64,
    /// The anomaly model in use (none: not scored); swapped on its own, apart from the policy.
    pub model: arc_swap::ArcSwapOption<crate::anomaly::ActiveModel>,
    pub scores: crate::anomaly::ScoreStats,
    /// The learning period's requests (wants none once a trained model is active).
    pub learner: crate::anomaly::learn::Learner,
    pub limiter: crate::guard::limit::shared::Limiter,
    pub country: Option<Arc<crate::guard::country::CountryGuard>>,
    pub bans: crate::guard::bans::Bans,
    /// Lists from files (`ip.allow_files`, `ip.block_files`), apart from the policy's.
    pub list_files: Option<Arc<crate::guard::list_files::ListFiles>>,
    /// The cluster policy revision this node has (see `admin::policy_sync`).
    pub policy_rev: std::sync::atomic::AtomicU64,
    /// The cluster's Redis, when configured (limits and bans).
    pub redis: Option<Arc<crate::guard::redis::RedisLink>>,
    /// The proxy's client connections (its cap and counters).
    pub connections: Arc<conn::Connections>,
    /// The admin listener's, apart: a saturated proxy leaves the admin reachable.
    pub admin_connections: Arc<conn::Connections>,
    /// Requests that look like each profiled application's (`GET /api/apps`).
    pub sightings: crate::sightings::Sightings,
}

impl Shared {
    pub fn new(
        engine: Engine,
        ip_lists: IpLists,
        events: Publisher,
        config: ProxyConfig,
    ) -> Result<Shared, ProxyError> {
        // Checked here, once; each worker makes its own client (see `serve`).
        forward::Upstream::target(&config)?;
        let connections = Arc::new(conn::Connections::new(config.max_connections));
        Ok(Shared {
            protection: ArcSwap::from_pointee(Protection { engine, ip_lists }),
            events,
            config,
            traffic: Arc::default(),
            record_all: 0.0,
            model: arc_swap::ArcSwapOption::empty(),
            scores: crate::anomaly::ScoreStats::default(),
            learner: crate::anomaly::learn::Learner::new(
                0,
                Default::default(),
                std::path::PathBuf::new(),
            ),
            limiter: crate::guard::limit::shared::Limiter::new(Vec::new(), None),
            country: None,
            bans: crate::guard::bans::Bans::new(Default::default(), None),
            list_files: None,
            policy_rev: std::sync::atomic::AtomicU64::new(0),
            redis: None,
            connections,
            admin_connections: Arc::new(conn::Connections::new(nofile::DEFAULT_ADMIN_CONNECTIONS)),
            sightings: crate::sightings::Sightings::default(),
        })
    }
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight
/// requests finish (at most `drain` long).
///
/// The upstream client, and so its pool of connections, belongs to this call:
/// a pooled connection is driven by a task on the runtime that opened it, so
/// one pool shared by several workers' runtimes would hand each request to
/// another thread and back.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upstream = Arc::new(
        forward::Upstream::new(&shared.config)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.timeouts.client_header)
        .max_buf_size(shared.config.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(shared.config.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let t = &shared.config.timeouts;
    let limits = idle::Limits {
        first: t.client_header,
        idle: t.client_idle,
        write_stall: t.client_body,
    };
    let conns = Arc::clone(&shared.connections);
    conn::accept_loop(
        &listener,
        &conns,
        "proxy",
        shutdown,
        |stream, peer, slot| {
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            let (io, activity) = idle::Watched::new(stream, slot, limits);
            let shared = Arc::clone(&shared);
            let upstream = Arc::clone(&upstream);
            let service = hyper::service::service_fn(move |req| {
                let busy = activity.begin();
                let handled =
                    pipeline::handle(Arc::clone(&shared), Arc::clone(&upstream), peer, local, req);
                async move { handled.await.map(|resp| idle::finish(resp, busy)) }
            });
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(io), service)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "client connection ended with an error");
                }
            });
        },
    )
    .await;
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("in-flight requests still running after 10 s; stopping anyway");
        }
    }
    Ok(())
}

/// The proxy's worker threads: each runs its own single-threaded event loop
/// over the same listening socket (the kernel hands each new connection to
/// one of them), the way nginx runs worker processes. A connection stays on
/// the thread that accepted it, so a request never waits for another thread:
/// on this machine one worker on its own event loop served 30 % more
/// requests per second than one worker of a work-stealing runtime
/// (docs/BENCHMARKS.md).
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Workers {
    /// Starts `n` workers (at least one) serving `listener`.
    pub fn start(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        n: usize,
    ) -> std::io::Result<Workers> {
        listener.set_nonblocking(true)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let listener = listener.try_clone()?;
            let shared = Arc::clone(&shared);
            let mut stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("wafer-proxy-{i}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        serve(listener, shared, async move {
                            let _ = stopped.wait_for(|s| *s).await;
                        })
                        .await
                    })
                })?;
            threads.push(thread);
        }
        Ok(Workers { stop, threads })
    }

    /// Stops accepting, lets in-flight requests finish, and waits for every worker.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let threads = self.threads;
        tokio::task::spawn_blocking(move || {
            for t in threads {
                match t.join() {
                    Ok(r) => r?,
                    Err(_) => return Err(std::io::Error::other("a proxy worker panicked")),
                }
            }
            Ok(())
        })
        .await
        .map_err(std::io::Error::other)?
    }
}
