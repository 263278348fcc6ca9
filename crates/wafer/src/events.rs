//! Security events: what Wafer blocked or flagged, and why.
//!
//! The proxy publishes an [`Event`] for every blocked or flagged request; a sink
//! writes them as JSON lines on its own thread. Publishing never waits: a full
//! queue drops the event and counts the drop (the count rides on the next event
//! written), so a slow disk can never slow the proxy.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wafer_engine::{Action, Finding, Mode, Verdict};

pub mod sink;

pub use sink::{EventSink, SinkTarget};

/// One decision worth keeping. Designed to be stored as a row (the flat fields)
/// plus the findings as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// The request id, also sent to the client in the block page and to the upstream as `X-Request-Id`.
    pub id: String,
    /// Unix time in milliseconds.
    pub ts_ms: u64,
    pub client_ip: IpAddr,
    pub method: String,
    pub host: String,
    pub path: String,
    /// Query string, truncated.
    pub query: String,
    pub user_agent: String,
    /// Request headers in arrival order, values truncated; credentials redacted
    /// (see [`capture_headers`]). Absent in events stored before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub action: Action,
    /// The status Wafer answered with, if it answered itself (403/413), else null.
    pub status: Option<u16>,
    pub score: u32,
    pub threshold: u32,
    pub mode: Mode,
    pub route: Option<String>,
    /// Why this was decided without inspection (ip blocklist, ...), if so.
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
    /// The anomaly model's score and the features that drove it, when a model scored the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<wafer_engine::AnomalyVerdict>,
    /// Time spent in the engine, microseconds.
    pub inspect_us: u64,
    /// Events dropped (queue full) since the previous event was written.
    pub dropped_before: u64,
}

/// Fields the proxy knows about the request, apart from the verdict.
pub struct RequestFacts<'a> {
    pub id: &'a str,
    pub ts_ms: u64,
    pub client_ip: IpAddr,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub user_agent: &'a str,
    pub headers: &'a http::HeaderMap,
    pub inspect_us: u64,
}

const FIELD_MAX: usize = 512;
/// Headers kept per event: enough for any browser, bounded against floods.
const HEADERS_MAX: usize = 64;

/// Headers whose values are secrets the event store must not collect.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
];

fn redacted(len: usize) -> String {
    format!("\u{2039}redacted, {len} bytes\u{203a}")
}

/// The headers as an event keeps them. Credentials are replaced by their
/// length; cookies keep their names (what tuning needs) but not their values.
/// A finding in a cookie still carries the decoded excerpt that matched.
pub fn capture_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .take(HEADERS_MAX)
        .map(|(name, value)| {
            let name = name.as_str();
            let raw = String::from_utf8_lossy(value.as_bytes());
            let shown = if SECRET_HEADERS.contains(&name) {
                redacted(raw.len())
            } else if name == "cookie" {
                raw.split(';')
                    .map(|c| match c.trim().split_once('=') {
                        Some((k, v)) => format!("{k}={}", redacted(v.len())),
                        None => redacted(c.trim().len()),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                raw.into_owned()
            };
            (name.to_owned(), cut(&shown))
        })
        .collect()
}

fn cut(s: &str) -> String {
    wafer_engine::finding::excerpt(s, 0, FIELD_MAX)
}

impl Event {
    pub fn from_verdict(f: &RequestFacts<'_>, v: &Verdict) -> Event {
        Event {
            id: f.id.to_owned(),
            ts_ms: f.ts_ms,
            client_ip: f.client_ip,
            method: cut(f.method),
            host: cut(f.host),
            path: cut(f.path),
            query: cut(f.query),
            user_agent: cut(f.user_agent),
            headers: capture_headers(f.headers),
            action: v.action,
            status: v.status,
            score: v.score,
            threshold: v.threshold,
            mode: v.mode,
            route: v.route.clone(),
            reason: None,
            findings: v.findings.clone(),
            anomaly: v.anomaly.clone(),
            inspect_us: f.inspect_us,
            dropped_before: 0,
        }
    }

    /// A decision taken before inspection (IP blocklist and the like).
    pub fn guard(f: &RequestFacts<'_>, status: u16, reason: &str) -> Event {
        Event {
            id: f.id.to_owned(),
            ts_ms: f.ts_ms,
            client_ip: f.client_ip,
            method: cut(f.method),
            host: cut(f.host),
            path: cut(f.path),
            query: cut(f.query),
            user_agent: cut(f.user_agent),
            headers: capture_headers(f.headers),
            action: Action::Block,
            status: Some(status),
            score: 0,
            threshold: 0,
            mode: Mode::Block,
            route: None,
            reason: Some(reason.to_owned()),
            findings: Vec::new(),
            anomaly: None,
            inspect_us: 0,
            dropped_before: 0,
        }
    }
}

/// Counters shared by the publisher and its consumers.
#[derive(Debug, Default)]
pub struct EventStats {
    pub published: AtomicU64,
    /// Events a consumer (the store or the file sink) had no room for.
    pub dropped: AtomicU64,
    /// Of those, the store's: the store writer reports them on the next stored event.
    pub store_dropped: AtomicU64,
    /// And the file sink's, reported on its next line.
    pub file_dropped: AtomicU64,
    /// Lines the file sink wrote.
    pub written: AtomicU64,
    /// Events the store holds from this process.
    pub stored: AtomicU64,
    /// Events the store refused for good (after retries, at shutdown).
    pub store_failed: AtomicU64,
}

impl EventStats {
    /// (published, dropped, written to the file sink)
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.published.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
        )
    }
}

/// Live subscribers (SSE, WebSocket) each get their own bounded queue; a slow
/// one skips events (and is told how many) instead of slowing anyone else.
pub const LIVE_QUEUE: usize = 4096;

/// The event bus: cheap to clone, and publishing never waits.
#[derive(Clone)]
pub struct Publisher {
    file: Option<std::sync::mpsc::SyncSender<Arc<Event>>>,
    store: Option<tokio::sync::mpsc::Sender<Arc<Event>>>,
    live: tokio::sync::broadcast::Sender<Arc<Event>>,
    stats: Arc<EventStats>,
}

impl Default for Publisher {
    fn default() -> Self {
        Publisher::disabled()
    }
}

impl Publisher {
    /// A bus with no consumers yet (live subscribers may still join).
    pub fn disabled() -> Publisher {
        Publisher {
            file: None,
            store: None,
            live: tokio::sync::broadcast::channel(LIVE_QUEUE).0,
            stats: Arc::default(),
        }
    }

    pub(crate) fn with_file(
        mut self,
        tx: std::sync::mpsc::SyncSender<Arc<Event>>,
        stats: Arc<EventStats>,
    ) -> Publisher {
        self.file = Some(tx);
        self.stats = stats;
        self
    }

    pub fn with_store(mut self, tx: tokio::sync::mpsc::Sender<Arc<Event>>) -> Publisher {
        self.store = Some(tx);
        self
    }

    /// Never waits.
    pub fn publish(&self, ev: Event) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let ev = Arc::new(ev);
        if let Some(tx) = &self.file
            && tx.try_send(Arc::clone(&ev)).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            self.stats.file_dropped.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(tx) = &self.store
            && tx.try_send(Arc::clone(&ev)).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            self.stats.store_dropped.fetch_add(1, Ordering::Relaxed);
        }
        // No subscriber is not an error.
        let _ = self.live.send(ev);
    }

    /// A live feed of everything published from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }

    pub fn stats(&self) -> &Arc<EventStats> {
        &self.stats
    }

    /// Live subscribers right now.
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }
}
