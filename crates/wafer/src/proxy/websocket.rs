//! Upgraded connections. Two holes closed here:
//!
//! - Only WebSocket upgrades are honoured. Any other `Upgrade` (h2c above
//!   all: an upstream that accepts `Upgrade: h2c` would take any HTTP/2
//!   request on that connection, none of them seen by Wafer) goes upstream as
//!   a plain HTTP/1.1 request, its `Upgrade`, `HTTP2-Settings` and
//!   `Connection` stripped, so the connection never switches. (hyper's server
//!   does nothing with h2c itself: it upgrades a connection only when the
//!   handler answers 101, and its HTTP/2 detection is prior knowledge only.)
//! - After the 101, the client's WebSocket messages are inspected: each one
//!   is reassembled from its frames (see [`frame`]), held until it is whole,
//!   inspected by the engine under the upgrade request's path settings, and
//!   then handed on exactly as the client framed it, or the connection is
//!   closed (1008) and an event published. The upstream's frames go to the
//!   client as they come (responses are not inspected).
//!
//! Extensions are negotiated off: `Sec-WebSocket-Extensions` is not
//! forwarded, and an upstream that names one in its 101 anyway gets the
//! client a 502, since compressed frames could not be inspected.
//!
//! A connection is relayed uninspected (a plain byte copy, as before) when
//! its client is on the allow list, or its path's mode is off or has
//! WebSocket inspection off. The policy a connection opened under is the one
//! its messages are inspected by, as for any request in flight.

use http::{HeaderValue, Method, Response, Version, header};
use hyper::body::Incoming;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::oneshot;
use wafer_engine::{Action, MessageKind, Messages, Verdict};

use crate::events::{Event, Publisher};
use crate::protection::Protection;

mod frame;

use frame::{ClientReader, Fail, Item, Opcode};

/// Bytes read from a socket at a time.
const READ_BUF: usize = 16 * 1024;
/// How long a connection that is closing is given to finish: the client to
/// read its close frame, the other direction to end.
const LINGER: Duration = Duration::from_secs(2);

/// `Some("websocket")` for a request Wafer lets upgrade: HTTP/1.1, GET,
/// `Connection: upgrade`, and `websocket` among the `Upgrade` protocols
/// (case-insensitive). Any other upgrade is `None`: the request is forwarded
/// as an ordinary one, and its upgrade headers are dropped as hop-by-hop.
pub(super) fn upgrade_of<B>(req: &http::Request<B>) -> Option<HeaderValue> {
    let tokens = |name| {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
    };
    let wants = tokens(header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"));
    let websocket = tokens(header::UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"));
    (wants && websocket && req.version() == Version::HTTP_11 && req.method() == Method::GET)
        .then(|| HeaderValue::from_static("websocket"))
}

/// What inspecting a connection's messages needs, taken from its upgrade request.
pub(super) struct Session {
    /// The upgrade request's id, which events of its messages name.
    pub(super) id: String,
    /// The policy and engine the upgrade request was inspected by.
    pub(super) protection: Arc<Protection>,
    /// The upgrade request's target: its path picks the settings.
    pub(super) target: String,
    /// The names of the upgrade request's cookies (exclusions may ask for a session cookie).
    pub(super) cookie_names: Vec<String>,
    pub(super) events: Publisher,
    /// An event about this connection (the upgrade request's facts) for a verdict.
    pub(super) event: Box<dyn Fn(&Verdict) -> Event + Send + Sync>,
}

impl Session {
    /// `None` when this connection's messages are not inspected at all.
    pub(super) fn inspecting(self) -> Option<Session> {
        self.protection
            .engine
            .messages_with_cookies(&self.target, &self.cookie_names)
            .inspects()
            .then_some(self)
    }
}

/// Takes the upstream's `101`: starts relaying when it is a WebSocket
/// handshake Wafer asked for and can inspect, or says why not (the caller
/// answers 502, and dropping the response closes the upstream connection).
pub(super) fn switch(
    resp: &mut Response<Incoming>,
    client: Option<OnUpgrade>,
    session: Option<Session>,
    id: &str,
) -> Result<(), &'static str> {
    let Some(client) = client else {
        return Err("the upstream switched protocols on a request that asked for no upgrade");
    };
    let websocket = resp
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !websocket {
        return Err("the upstream switched to a protocol other than websocket");
    }
    if resp
        .headers()
        .contains_key(header::SEC_WEBSOCKET_EXTENSIONS)
    {
        return Err("the upstream's 101 names a WebSocket extension Wafer did not offer");
    }
    let upstream = hyper::upgrade::on(resp);
    tokio::spawn(relay(client, upstream, session, id.to_owned()));
    Ok(())
}

async fn relay(client: OnUpgrade, upstream: OnUpgrade, session: Option<Session>, id: String) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::info!(request_id = %id, error = %e, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    let Some(session) = session else {
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            tracing::debug!(request_id = %id, error = %e, "upgraded connection ended");
        }
        return;
    };
    let messages = session
        .protection
        .engine
        .messages_with_cookies(&session.target, &session.cookie_names);
    let max = session
        .protection
        .engine
        .limits()
        .websocket_max_message_bytes;
    let (client_rd, client_wr) = tokio::io::split(client);
    let (upstream_rd, upstream_wr) = tokio::io::split(upstream);
    let (close_tx, close_rx) = oneshot::channel();
    let up = from_client(client_rd, upstream_wr, close_tx, &session, &messages, max);
    let down = to_client(upstream_rd, client_wr, close_rx);
    tokio::pin!(up, down);
    // Once one side is done the connection is over: the other gets a moment
    // to finish (a close frame on its way), then both sockets are closed.
    tokio::select! {
        () = &mut up => { let _ = tokio::time::timeout(LINGER, down).await; }
        () = &mut down => { let _ = tokio::time::timeout(LINGER, up).await; }
    }
}

type Io = TokioIo<Upgraded>;

/// Why Wafer closes the connection: the code and reason both sides are sent.
type Close = (u16, &'static str);

/// Client to upstream: frames parsed, messages held whole and inspected.
async fn from_client(
    mut from: ReadHalf<Io>,
    mut to: WriteHalf<Io>,
    close: oneshot::Sender<Close>,
    s: &Session,
    messages: &Messages<'_>,
    max: usize,
) {
    let mut reader = ClientReader::new(max);
    let mut buf = vec![0u8; READ_BUF];
    let end: Option<Close> = 'conn: loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break None,
            Ok(n) => n,
        };
        let mut at = 0;
        while at < n {
            let item = match reader.feed(&buf[at..n]) {
                Ok((used, item)) => {
                    at += used;
                    item
                }
                Err(fail) => {
                    publish(s, &messages.refused(), reader.messages(), 0, Some(fail));
                    break 'conn Some((fail.code(), fail.reason()));
                }
            };
            match item {
                None => {}
                Some(Item::Control { opcode, raw }) => {
                    if to.write_all(&raw).await.is_err() {
                        break 'conn None;
                    }
                    if opcode == Opcode::Close {
                        // Nothing may follow a close: the rest is not forwarded.
                        drain(&mut from).await;
                        break 'conn None;
                    }
                }
                Some(Item::Message(m)) => {
                    let kind = match m.opcode {
                        Opcode::Text => MessageKind::Text,
                        _ => MessageKind::Binary,
                    };
                    let started = Instant::now();
                    let verdict = messages.inspect(m.n, kind, &m.payload);
                    let us = started.elapsed().as_micros().try_into().unwrap_or(u64::MAX);
                    if verdict.action != Action::Allow {
                        publish(s, &verdict, m.n, us, None);
                    }
                    if verdict.action == Action::Block {
                        break 'conn Some((
                            1008,
                            "message blocked by the web application firewall",
                        ));
                    }
                    if to.write_all(&m.wire).await.is_err() {
                        break 'conn None;
                    }
                }
            }
        }
    };
    if let Some((code, reason)) = end {
        let _ = close.send((code, reason));
        let key: [u8; 4] = rand::random();
        let _ = to.write_all(&frame::client_close(code, reason, key)).await;
        let _ = to.shutdown().await;
        // Read what the client still sends for a moment, so that closing the
        // socket with unread bytes does not reset the connection before the
        // client has read its close frame.
        drain(&mut from).await;
    } else {
        let _ = to.shutdown().await;
    }
}

/// Reads and discards until the end of the stream, for a moment at most.
async fn drain<R: AsyncRead + Unpin>(from: &mut R) {
    let mut buf = [0u8; 4096];
    let read_all = async {
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, read_all).await;
}

/// Upstream to client: copied as it comes, its frame boundaries followed so
/// that a close frame from Wafer goes in between two frames, never inside one.
async fn to_client(
    mut from: ReadHalf<Io>,
    mut to: WriteHalf<Io>,
    mut close: oneshot::Receiver<Close>,
) {
    let mut buf = vec![0u8; READ_BUF];
    let mut frames = frame::Boundaries::default();
    loop {
        tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    frames.feed(&buf[..n]);
                    if to.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            },
            Ok((code, reason)) = &mut close => {
                // Mid-frame, the connection just ends: a close frame there
                // would corrupt the frame the client is reading.
                if frames.at_boundary() {
                    let _ = to.write_all(&frame::server_close(code, reason)).await;
                }
                break;
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Publishes the event for message `n`: its verdict, or why the connection was closed.
fn publish(s: &Session, verdict: &Verdict, n: u64, inspect_us: u64, fail: Option<Fail>) {
    let mut ev = (s.event)(verdict);
    // An event of its own: the upgrade request's id is taken by that request's event.
    ev.id = super::request_id::RequestId::next().as_str().to_owned();
    ev.status = None;
    ev.inspect_us = inspect_us;
    let id = &s.id;
    ev.reason = Some(match (fail, verdict.action) {
        // Bad framing may come between messages: it is the connection's, not a message's.
        (Some(f @ Fail::Protocol(_)), _) => format!(
            "WebSocket connection {id} closed ({}: {}) after {n} messages",
            f.code(),
            f.reason()
        ),
        (Some(f), _) => format!(
            "WebSocket message {n} on connection {id}: connection closed ({}: {})",
            f.code(),
            f.reason()
        ),
        (None, Action::Block) => {
            format!("WebSocket message {n} on connection {id}: blocked, connection closed (1008)")
        }
        (None, _) => format!("WebSocket message {n} on connection {id}: flagged, forwarded"),
    });
    s.events.publish(ev);
}
