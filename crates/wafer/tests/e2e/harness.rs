//! The pieces every end-to-end test needs: an origin that records what reaches
//! it, a Wafer instance in front of it, and clients.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use wafer::events::{Event, EventSink, SinkTarget};
use wafer::guard::IpLists;
use wafer::proxy::{self, Proxy, ProxyConfig, Timeouts};
use wafer_engine::{Engine, EngineConfig};

/// A request as the origin received it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) uri: String,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

/// The application behind Wafer. Answers 200 with `x-upstream: 1` and echoes
/// the body; `/slow` waits 3 s; `/ws` and `/ws/...` are a WebSocket echo that
/// records every message it receives; `/ws-deflate` is one whose 101 names
/// permessage-deflate whatever was offered; and it accepts any `Upgrade: h2c`
/// with a 101, as an h2c-capable server would.
pub(crate) struct Origin {
    pub(crate) addr: SocketAddr,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    /// Every WebSocket message the echo received, on any connection, in order.
    pub(crate) ws_seen: Arc<Mutex<Vec<Message>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Origin {
    pub(crate) async fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let ws_seen: Arc<Mutex<Vec<Message>>> = Arc::default();
        let log = Arc::clone(&seen);
        let ws_log = Arc::clone(&ws_seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = Arc::clone(&log);
                let ws_log = Arc::clone(&ws_log);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        origin(Arc::clone(&log), Arc::clone(&ws_log), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Origin {
            addr,
            seen,
            ws_seen,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The text and binary messages the WebSocket echo received, as bytes.
    pub(crate) fn ws_data(&self) -> Vec<Vec<u8>> {
        self.ws_seen
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.is_text() || m.is_binary())
            .map(|m| m.clone().into_data().to_vec())
            .collect()
    }
}

async fn origin(
    log: Arc<Mutex<Vec<Seen>>>,
    ws_log: Arc<Mutex<Vec<Message>>>,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let h2c = req
        .headers()
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"h2c"));
    let ws = (path == "/ws" || path.starts_with("/ws/") || path == "/ws-deflate")
        && req
            .headers()
            .get("upgrade")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if (ws && req.headers().contains_key("sec-websocket-key")) || h2c {
        log.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            uri: req.uri().to_string(),
            headers: req.headers().clone(),
            body: Bytes::new(),
        });
    }
    if h2c {
        // Switches and then talks no HTTP/2 at all: the test only needs to see whether it switched.
        return Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "h2c")
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    if ws && let Some(key) = req.headers().get("sec-websocket-key") {
        let key = key.as_bytes().to_vec();
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let Ok(io) = upgrade.await else { return };
            let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                TokioIo::new(io),
                Role::Server,
                None,
            )
            .await;
            while let Some(Ok(msg)) = ws.next().await {
                ws_log.lock().unwrap().push(msg.clone());
                if msg.is_text() || msg.is_binary() {
                    let _ = ws.send(msg).await;
                }
            }
        });
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
        let mut resp = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-accept", accept);
        if path == "/ws-deflate" {
            resp = resp.header("sec-websocket-extensions", "permessage-deflate");
        }
        return Ok(resp.body(Full::new(Bytes::new())).unwrap());
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    log.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    if parts.uri.path() == "/slow" {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    Ok(Response::builder()
        .header("x-upstream", "1")
        .header("content-type", "application/octet-stream")
        .body(Full::new(body))
        .unwrap())
}

/// Settings a test may change before Wafer starts.
pub(crate) struct Setup {
    pub(crate) engine: EngineConfig,
    pub(crate) ip_lists: IpLists,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_connections: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            engine: EngineConfig::default(),
            ip_lists: IpLists::default(),
            trusted_proxies: Vec::new(),
            timeouts: Timeouts::default(),
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
        }
    }
}

/// A running Wafer, its events written to a real file.
pub(crate) struct Wafer {
    pub(crate) addr: SocketAddr,
    /// The proxy's connection counters (not the whole `Proxy`: holding its
    /// event publisher would keep the sink from closing in `stop`).
    pub(crate) connections: Arc<proxy::conn::Connections>,
    events_path: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    sink: Option<EventSink>,
}

impl Wafer {
    pub(crate) async fn start(upstream: SocketAddr, setup: Setup) -> Wafer {
        Self::start_uri(&format!("http://{upstream}"), setup).await
    }

    pub(crate) async fn start_uri(upstream: &str, setup: Setup) -> Wafer {
        let engine = Engine::build(setup.engine.clone()).expect("engine builds");
        let lists = setup.ip_lists.clone();
        let sites = proxy::Sites::single(
            upstream.parse().unwrap(),
            Arc::new(wafer::protection::Live::new(engine, lists)),
        );
        Self::start_sites(sites, setup).await
    }

    /// Wafer in front of several sites; `setup`'s engine and lists are unused
    /// (each site has its own).
    pub(crate) async fn start_sites(sites: proxy::Sites, setup: Setup) -> Wafer {
        let dir = tempfile::tempdir().unwrap();
        let events_path = dir.path().join("events.jsonl");
        let (sink, publisher) = EventSink::start(SinkTarget::File(events_path.clone())).unwrap();
        let proxy = Arc::new(
            Proxy::standalone_sites(
                sites,
                publisher,
                ProxyConfig {
                    trusted_proxies: setup.trusted_proxies,
                    timeouts: setup.timeouts,
                    max_header_bytes: setup.max_header_bytes,
                    max_connections: setup.max_connections,
                    record_all: 0.0,
                },
            )
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let connections = Arc::clone(proxy.connections());
        let done = tokio::spawn(async move {
            proxy::serve(listener, proxy, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Wafer {
            addr,
            connections,
            events_path,
            _dir: dir,
            stop: Some(stop),
            done: Some(done),
            sink: Some(sink),
        }
    }

    /// Stops the proxy and returns every event it wrote, all flushed.
    pub(crate) async fn stop(mut self) -> Vec<Event> {
        let _ = self.stop.take().unwrap().send(());
        self.done.take().unwrap().await.unwrap();
        let sink = self.sink.take().unwrap();
        tokio::task::spawn_blocking(move || sink.close())
            .await
            .unwrap()
            .unwrap();
        std::fs::read_to_string(&self.events_path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("event lines are JSON events"))
            .collect()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A plain HTTP/1.1 client (one connection per call).
pub(crate) async fn send(req: Request<Full<Bytes>>) -> (http::response::Parts, Bytes) {
    let authority = req.uri().authority().unwrap().to_string();
    let stream = TcpStream::connect(&authority).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

/// An HTTP/2 client with prior knowledge (h2c).
pub(crate) async fn send_h2(req: Request<Full<Bytes>>) -> (http::response::Parts, Bytes) {
    let authority = req.uri().authority().unwrap().to_string();
    let stream = TcpStream::connect(&authority).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

pub(crate) fn get(url: &str) -> http::request::Builder {
    Request::get(url)
        .header("host", "shop.example")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        )
        .header("accept", "*/*")
}

/// A loopback port free now (for a process the test starts next).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn empty() -> Full<Bytes> {
    Full::new(Bytes::new())
}

/// Sends raw bytes and reads until the server closes or `wait` passes.
pub(crate) async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
