//! The reverse proxy: accepts HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on
//! one port, runs each request through the guard and the engine, answers
//! blocked requests itself and forwards the rest to the upstream over pooled
//! keep-alive connections, bodies streamed both ways.
//!
//! The per-request steps live in [`pipeline`]; talking to the upstream in
//! [`forward`]; the answers Wafer gives itself in [`respond`].

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use std::sync::Arc;
use std::time::Duration;
use wafer_engine::Engine;

use crate::anomaly::AnomalyState;
use crate::events::Publisher;
use crate::guard::IpLists;
use crate::guard::door::Door;
use crate::protection::Live;
use crate::sightings::Sightings;
use crate::traffic::Traffic;
pub use sites::{Site, Sites};

mod body;
pub mod challenges;
mod client_ip;
pub mod conn;
mod deadline;
mod error;
mod forward;
mod hygiene;
pub(crate) mod idle;
pub mod nofile;
pub mod ocsp;
mod pipeline;
pub mod pool;
mod pump;
mod request_id;
mod respond;
pub mod sites;
pub mod tls;
pub mod upstream_tls;
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
    /// Peers whose `X-Forwarded-For` is believed when finding the client IP.
    pub trusted_proxies: Vec<IpNet>,
    pub timeouts: Timeouts,
    /// Largest request head accepted from clients (bytes); larger gets 431.
    pub max_header_bytes: usize,
    /// Client connections open at once, all workers together; past it a
    /// new connection gets a 503 and is closed.
    pub max_connections: usize,
    /// Fraction of allowed requests also kept as events (0: none, 1: all).
    pub record_all: f64,
}

/// Everything a request handler needs, shared by all connections: each part
/// built complete by its owner before the proxy starts, none changed after
/// (the parts that change while traffic flows, the protection and the
/// anomaly model, swap their own contents atomically).
pub struct Proxy {
    config: ProxyConfig,
    /// The sites, each with its upstream and its protection (the engine and
    /// the policy's IP lists in force; a request keeps the snapshot it
    /// started with).
    sites: Arc<arc_swap::ArcSwap<Sites>>,
    door: Arc<Door>,
    anomaly: Arc<AnomalyState>,
    events: Publisher,
    /// Counters of all traffic (the charts and `/metrics`).
    traffic: Arc<Traffic>,
    /// Requests that look like each profiled application's (`GET /api/apps`).
    sightings: Arc<Sightings>,
    /// The proxy's client connections (its cap and counters).
    connections: Arc<conn::Connections>,
    /// The ACME CA's checks in progress, answered before any other step.
    challenges: Option<Arc<challenges::Challenges>>,
}

/// The parts a [`Proxy`] is made of.
pub struct ProxyParts {
    pub config: ProxyConfig,
    pub sites: Sites,
    pub door: Arc<Door>,
    pub anomaly: Arc<AnomalyState>,
    pub events: Publisher,
    pub traffic: Arc<Traffic>,
    pub sightings: Arc<Sightings>,
    pub connections: Arc<conn::Connections>,
}

impl Proxy {
    /// Checks the upstreams once; each worker makes its own clients (see `serve`).
    pub fn new(parts: ProxyParts) -> Result<Proxy, ProxyError> {
        for site in parts.sites.iter() {
            for server in site.pool.servers() {
                forward::Upstream::target(&server.uri)?;
            }
        }
        let ProxyParts {
            config,
            sites,
            door,
            anomaly,
            events,
            traffic,
            sightings,
            connections,
        } = parts;
        let mut sites = sites;
        sites.count_in(&traffic);
        Ok(Proxy {
            config,
            sites: Arc::new(arc_swap::ArcSwap::from_pointee(sites)),
            door,
            anomaly,
            events,
            traffic,
            sightings,
            connections,
            challenges: None,
        })
    }

    /// Answers the ACME CA's HTTP-01 checks from `challenges`.
    pub fn answering(mut self, challenges: Arc<challenges::Challenges>) -> Proxy {
        self.challenges = Some(challenges);
        self
    }

    /// A proxy for one application (`upstream`) that inspects with `engine`
    /// and the policy's `ip_lists` only: no list files, bans, countries,
    /// rate limits or anomaly model.
    pub fn standalone(
        engine: Engine,
        ip_lists: IpLists,
        events: Publisher,
        config: ProxyConfig,
        upstream: http::Uri,
    ) -> Result<Proxy, ProxyError> {
        Self::standalone_sites(
            Sites::single(upstream, Arc::new(Live::new(engine, ip_lists))),
            events,
            config,
        )
    }

    /// As [`standalone`](Self::standalone), for several sites.
    pub fn standalone_sites(
        sites: Sites,
        events: Publisher,
        config: ProxyConfig,
    ) -> Result<Proxy, ProxyError> {
        let connections = Arc::new(conn::Connections::new(config.max_connections));
        Proxy::new(ProxyParts {
            config,
            sites,
            door: Arc::new(Door::lists_only()),
            anomaly: Arc::new(AnomalyState::off()),
            events,
            traffic: Arc::default(),
            sightings: Arc::default(),
            connections,
        })
    }

    /// The sites in force now.
    pub fn sites(&self) -> Arc<Sites> {
        self.sites.load_full()
    }

    /// The sites, for those that read them while the proxy runs (`/metrics`).
    pub fn live_sites(&self) -> Arc<arc_swap::ArcSwap<Sites>> {
        Arc::clone(&self.sites)
    }

    /// Puts `sites` in force for every request that starts from now on;
    /// requests in flight finish with the sites they started with.
    pub fn replace_sites(&self, mut sites: Sites) -> Result<(), ProxyError> {
        for site in sites.iter() {
            for server in site.pool.servers() {
                forward::Upstream::target(&server.uri)?;
            }
        }
        sites.count_in(&self.traffic);
        self.sites.store(Arc::new(sites));
        Ok(())
    }

    /// The proxy's client connections (its cap and counters).
    pub fn connections(&self) -> &Arc<conn::Connections> {
        &self.connections
    }
}

/// What a request needs to know of the connection it came on.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    /// The address the client connected to: a URL naming it is not SSRF.
    pub(crate) local: Option<std::net::SocketAddr>,
    /// Set on a TLS connection.
    pub(crate) tls: Option<TlsConn>,
}

#[derive(Clone, Debug)]
pub(crate) struct TlsConn {
    /// The server name the client sent (SNI), if any. A request on the
    /// connection must route to the site that name routes to, or it is
    /// answered 421: a certificate for one site is no passage to another's
    /// application (domain fronting). Kept as a name, not a site: sites may
    /// be reloaded while the connection lasts.
    pub(crate) sni: Option<Arc<str>>,
}

/// Serves plain HTTP on `listener` until `shutdown` resolves, then stops
/// accepting and lets in-flight requests finish (at most 10 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    proxy: Arc<Proxy>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_all(listener, None, proxy, shutdown).await
}

/// As [`serve`], and HTTPS on `tls`'s listener with its configuration.
///
/// The upstream clients, and so their pools of connections, belong to this
/// call: a pooled connection is driven by a task on the runtime that opened
/// it, so one pool shared by several workers' runtimes would hand each
/// request to another thread and back.
pub async fn serve_all(
    listener: tokio::net::TcpListener,
    tls: Option<(tokio::net::TcpListener, Arc<rustls::ServerConfig>)>,
    proxy: Arc<Proxy>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upstreams = Arc::new(forward::Upstreams::new(&proxy.config.timeouts));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(proxy.config.timeouts.client_header)
        .max_buf_size(proxy.config.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(proxy.config.max_header_bytes).unwrap_or(u32::MAX));
    let shared = Shared {
        proxy: Arc::clone(&proxy),
        upstreams,
        builder: Arc::new(builder),
    };
    let graceful = GracefulShutdown::new();
    let t = &proxy.config.timeouts;
    let limits = idle::Limits {
        first: t.client_header,
        idle: t.client_idle,
        write_stall: t.client_body,
    };
    let conns = Arc::clone(&proxy.connections);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let stopper = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let plain = conn::accept_loop(
        &listener,
        &conns,
        "proxy",
        until_stopped(stopped.clone()),
        |stream, peer, slot| {
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            let (io, activity) = idle::Watched::new(stream, slot, limits);
            let info = ConnInfo { local, tls: None };
            tokio::spawn(shared.connection(io, peer, info, activity, graceful.watcher()));
        },
    );
    let secure = async {
        let Some((tls_listener, config)) = &tls else {
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
        let handshake = t.client_header;
        conn::accept_loop(
            tls_listener,
            &conns,
            "proxy-tls",
            until_stopped(stopped.clone()),
            |stream, peer, slot| {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok();
                let (io, activity) = idle::Watched::new(stream, slot, limits);
                let (acceptor, shared, watcher) =
                    (acceptor.clone(), shared.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(handshake, acceptor.accept(io)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    if stream.get_ref().1.alpn_protocol() == Some(tls::ACME_TLS_ALPN) {
                        // ACME's check is the handshake itself; nothing follows (RFC 8737 §3).
                        return;
                    }
                    let sni = stream.get_ref().1.server_name().map(Arc::from);
                    let info = ConnInfo {
                        local,
                        tls: Some(TlsConn { sni }),
                    };
                    shared
                        .connection(stream, peer, info, activity, watcher)
                        .await;
                });
            },
        )
        .await;
    };
    tokio::join!(stopper, plain, secure);
    drop(listener);
    drop(tls);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("in-flight requests still running after 10 s; stopping anyway");
        }
    }
    Ok(())
}

/// What every connection of one worker shares.
#[derive(Clone)]
struct Shared {
    proxy: Arc<Proxy>,
    upstreams: Arc<forward::Upstreams>,
    builder: Arc<auto::Builder<TokioExecutor>>,
}

impl Shared {
    /// Serves one client connection (plain, or TLS after the handshake) to its end.
    fn connection<I>(
        &self,
        io: I,
        peer: std::net::SocketAddr,
        info: ConnInfo,
        activity: Arc<idle::Activity>,
        watcher: hyper_util::server::graceful::Watcher,
    ) -> impl std::future::Future<Output = ()> + Send + 'static
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (proxy, upstreams) = (Arc::clone(&self.proxy), Arc::clone(&self.upstreams));
        let service = hyper::service::service_fn(move |req| {
            let busy = activity.begin();
            let handled = pipeline::handle(
                Arc::clone(&proxy),
                Arc::clone(&upstreams),
                peer,
                info.clone(),
                req,
            );
            async move { handled.await.map(|resp| idle::finish(resp, busy)) }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = watcher.watch(conn);
        async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "client connection ended with an error");
            }
        }
    }
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
    /// Starts `n` workers (at least one) serving `listener`, and HTTPS on
    /// `tls`'s listener when given.
    pub fn start(
        listener: std::net::TcpListener,
        tls: Option<(std::net::TcpListener, Arc<rustls::ServerConfig>)>,
        proxy: Arc<Proxy>,
        n: usize,
    ) -> std::io::Result<Workers> {
        listener.set_nonblocking(true)?;
        if let Some((l, _)) = &tls {
            l.set_nonblocking(true)?;
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let listener = listener.try_clone()?;
            let tls = match &tls {
                Some((l, cfg)) => Some((l.try_clone()?, Arc::clone(cfg))),
                None => None,
            };
            let proxy = Arc::clone(&proxy);
            let mut stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("wafer-proxy-{i}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        let tls = match tls {
                            Some((l, cfg)) => Some((tokio::net::TcpListener::from_std(l)?, cfg)),
                            None => None,
                        };
                        serve_all(listener, tls, proxy, async move {
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
