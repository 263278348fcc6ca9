//! Security events: what Wafer blocked or flagged, and why.
//!
//! The proxy publishes an [`Event`] for every blocked or flagged request; a sink
//! writes them as JSON lines on its own thread. Publishing never waits: a full
//! queue drops the event and counts the drop (the count rides on the next event
//! written), so a slow disk can never slow the proxy.
//!
//! Nothing about an event grows with the request: its fields are bounded
//! ([`bounds`]), a flooding client's events are sampled ([`sampling`]), and
//! the queues to the store and the file are bounded in bytes ([`budget`]).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wafer_engine::{Action, Finding, Mode, Verdict};

pub mod bounds;
pub mod budget;
pub mod sampling;
pub mod sink;

pub use budget::{ByteBudget, Queued};
pub use sampling::{SampleRate, Sampler};
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
    /// The site the request was routed to (`[[sites]]`; `default` when Wafer
    /// fronts one application). Empty in events stored before sites existed.
    #[serde(default)]
    pub site: String,
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
    /// Findings left out of this event (past the cap or its byte budget); the
    /// score still counts them.
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub findings_omitted: u32,
    /// Request headers left out (past the cap or the event's byte budget).
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub headers_omitted: u32,
    /// This client's events sampled away (not kept) since its previous kept one.
    #[serde(default, skip_serializing_if = "is_zero64")]
    pub sampled_before: u64,
}

fn is_zero32(n: &u32) -> bool {
    *n == 0
}

fn is_zero64(n: &u64) -> bool {
    *n == 0
}

/// What an event says of the request besides the verdict and its headers,
/// captured once (before the request is handed on); the event cuts each
/// field to its maximum.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    pub id: String,
    pub ts_ms: u64,
    pub client_ip: IpAddr,
    pub method: String,
    pub host: String,
    /// Set by the proxy once the request is routed.
    pub site: String,
    pub path: String,
    pub query: String,
    pub user_agent: String,
}

impl RequestFacts {
    pub fn capture(
        (method, uri, headers): (&http::Method, &http::Uri, &http::HeaderMap),
        id: &str,
        ts_ms: u64,
        client_ip: IpAddr,
    ) -> RequestFacts {
        let header = |name: http::header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        RequestFacts {
            id: id.to_owned(),
            ts_ms,
            client_ip,
            method: method.as_str().to_owned(),
            host: header(http::header::HOST)
                .or_else(|| uri.authority().map(|a| a.to_string()))
                .unwrap_or_default(),
            site: String::new(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or("").to_owned(),
            user_agent: header(http::header::USER_AGENT).unwrap_or_default(),
        }
    }
}

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
/// Names and values are cut to their maximum, with a marker.
pub fn capture_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .take(bounds::HEADERS_MAX)
        .map(|(name, value)| {
            let name = name.as_str();
            let bytes = value.as_bytes();
            let shown = if SECRET_HEADERS.contains(&name) {
                redacted(bytes.len())
            } else if name == "cookie" {
                // Each cookie's name and the length of its value; a value
                // never costs more than its length, however long.
                let mut out = String::new();
                for c in bytes.split(|&b| b == b';').take(bounds::HEADERS_MAX) {
                    if out.len() > bounds::HEADER_VALUE_MAX - 64 {
                        out.push_str("; \u{2026}");
                        break;
                    }
                    if !out.is_empty() {
                        out.push_str("; ");
                    }
                    let c = c.trim_ascii();
                    match c.iter().position(|&b| b == b'=') {
                        Some(i) => {
                            out.push_str(&bounds::cut_bytes(&c[..i], bounds::HEADER_NAME_MAX));
                            out.push('=');
                            out.push_str(&redacted(c.len() - i - 1));
                        }
                        None => out.push_str(&redacted(c.len())),
                    }
                }
                out
            } else {
                // Only the kept prefix is decoded: a 60 KB value costs no 60 KB copy.
                bounds::cut_bytes(bytes, bounds::HEADER_VALUE_MAX)
            };
            let mut shown = shown;
            bounds::cut_in_place(&mut shown, bounds::HEADER_VALUE_MAX);
            (bounds::cut(name, bounds::HEADER_NAME_MAX), shown)
        })
        .collect()
}

fn cut(s: &str, max: usize) -> String {
    bounds::bounded(s, max)
}

fn headers_omitted(headers: &http::HeaderMap) -> u32 {
    u32::try_from(headers.len().saturating_sub(bounds::HEADERS_MAX)).unwrap_or(u32::MAX)
}

impl Event {
    /// The event of a verdict, bounded as it is built: no field of the
    /// request or of a finding is copied past its maximum.
    pub fn from_verdict(
        f: &RequestFacts,
        headers: &http::HeaderMap,
        inspect_us: u64,
        v: &Verdict,
    ) -> Event {
        let (findings, findings_omitted) = bounds::pick_findings(&v.findings);
        Event {
            action: v.action,
            status: v.status,
            score: v.score,
            threshold: v.threshold,
            mode: v.mode,
            route: v.route.as_deref().map(|r| cut(r, bounds::ROUTE_MAX)),
            findings,
            findings_omitted,
            anomaly: v.anomaly.clone(),
            inspect_us,
            ..Event::about(f, headers)
        }
    }

    /// A decision taken before inspection (IP blocklist and the like).
    pub fn guard(f: &RequestFacts, headers: &http::HeaderMap, status: u16, reason: &str) -> Event {
        Event {
            status: Some(status),
            reason: Some(cut(reason, bounds::REASON_MAX)),
            ..Event::about(f, headers)
        }
    }

    /// The request's part of an event, bounded; a block with no verdict.
    fn about(f: &RequestFacts, headers: &http::HeaderMap) -> Event {
        Event {
            id: cut(&f.id, bounds::HOST_MAX),
            ts_ms: f.ts_ms,
            client_ip: f.client_ip,
            method: cut(&f.method, bounds::METHOD_MAX),
            host: cut(&f.host, bounds::HOST_MAX),
            site: cut(&f.site, bounds::HOST_MAX),
            path: cut(&f.path, bounds::PATH_MAX),
            query: cut(&f.query, bounds::QUERY_MAX),
            user_agent: cut(&f.user_agent, bounds::USER_AGENT_MAX),
            headers: capture_headers(headers),
            action: Action::Block,
            status: None,
            score: 0,
            threshold: 0,
            mode: Mode::Block,
            route: None,
            reason: None,
            findings: Vec::new(),
            anomaly: None,
            inspect_us: 0,
            dropped_before: 0,
            findings_omitted: 0,
            headers_omitted: headers_omitted(headers),
            sampled_before: 0,
        }
    }
}

/// Counters shared by the publisher and its consumers.
#[derive(Debug, Default)]
pub struct EventStats {
    /// Events offered to the consumers (after sampling).
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
    /// Events of flooding clients left out by sampling (never published).
    pub sampled: AtomicU64,
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

/// Live subscribers (SSE, WebSocket) share one ring of this many events; a
/// slow one skips events (and is told how many) instead of slowing anyone
/// else. Events are at most `max_event_bytes` each, so the ring holds at most
/// `LIVE_QUEUE * max_event_bytes` (16 MiB by default) however many subscribe.
pub const LIVE_QUEUE: usize = 1024;

/// How large events and their queues may grow, and how a flood is sampled.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBounds {
    /// One event's byte budget (see [`bounds::fit`]).
    pub max_event_bytes: usize,
    /// Bytes of events waiting for the store, and (separately) for the file or stdout.
    pub queue_bytes: usize,
    pub sample: SampleRate,
}

pub const DEFAULT_QUEUE_BYTES: usize = 32 * 1024 * 1024;

impl Default for EventBounds {
    fn default() -> Self {
        EventBounds {
            max_event_bytes: bounds::DEFAULT_MAX_EVENT_BYTES,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            sample: SampleRate::default(),
        }
    }
}

/// A consumer's queue: bounded in entries by the channel, in bytes by the budget.
#[derive(Clone)]
pub struct Queue<T: QueueSender> {
    tx: T,
    budget: Arc<ByteBudget>,
}

/// The sending half of a bounded channel that never waits.
pub trait QueueSender: Clone {
    /// `Err` gives the item back when the channel is full or closed.
    fn try_push(&self, q: Queued) -> Result<(), Queued>;
}

impl QueueSender for std::sync::mpsc::SyncSender<Queued> {
    fn try_push(&self, q: Queued) -> Result<(), Queued> {
        self.try_send(q).map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(q)
            | std::sync::mpsc::TrySendError::Disconnected(q) => q,
        })
    }
}

impl QueueSender for tokio::sync::mpsc::Sender<Queued> {
    fn try_push(&self, q: Queued) -> Result<(), Queued> {
        self.try_send(q).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(q)
            | tokio::sync::mpsc::error::TrySendError::Closed(q) => q,
        })
    }
}

impl<T: QueueSender> Queue<T> {
    pub fn new(tx: T, budget: Arc<ByteBudget>) -> Queue<T> {
        Queue { tx, budget }
    }

    /// Queues the event if both its entry and its bytes fit.
    fn offer(&self, event: &Arc<Event>, bytes: usize) -> bool {
        if !self.budget.try_take(bytes) {
            return false;
        }
        let q = Queued {
            event: Arc::clone(event),
            bytes,
        };
        match self.tx.try_push(q) {
            Ok(()) => true,
            Err(q) => {
                self.budget.give(q.bytes);
                false
            }
        }
    }

    pub fn budget(&self) -> &Arc<ByteBudget> {
        &self.budget
    }
}

pub type FileQueue = Queue<std::sync::mpsc::SyncSender<Queued>>;
pub type StoreQueue = Queue<tokio::sync::mpsc::Sender<Queued>>;

/// The event bus: cheap to clone, and publishing never waits.
#[derive(Clone)]
pub struct Publisher {
    file: Option<FileQueue>,
    store: Option<StoreQueue>,
    live: tokio::sync::broadcast::Sender<Arc<Event>>,
    stats: Arc<EventStats>,
    bounds: Arc<EventBounds>,
    sampler: Arc<Sampler>,
}

impl Default for Publisher {
    fn default() -> Self {
        Publisher::disabled()
    }
}

impl Publisher {
    /// A bus with no consumers yet (live subscribers may still join), the
    /// default bounds and no sampling.
    pub fn disabled() -> Publisher {
        Publisher::new(EventBounds {
            sample: SampleRate::OFF,
            ..EventBounds::default()
        })
    }

    /// A bus with no consumers yet, with these bounds.
    pub fn new(bounds: EventBounds) -> Publisher {
        Publisher {
            file: None,
            store: None,
            live: tokio::sync::broadcast::channel(LIVE_QUEUE).0,
            stats: Arc::default(),
            sampler: Arc::new(Sampler::new(bounds.sample.clone())),
            bounds: Arc::new(bounds),
        }
    }

    pub fn bounds(&self) -> &EventBounds {
        &self.bounds
    }

    pub(crate) fn with_file(mut self, q: FileQueue, stats: Arc<EventStats>) -> Publisher {
        self.file = Some(q);
        self.stats = stats;
        self
    }

    pub fn with_store(mut self, q: StoreQueue) -> Publisher {
        self.store = Some(q);
        self
    }

    /// Never waits. Samples a flooding client's events, bounds the event,
    /// then offers it to each consumer.
    pub fn publish(&self, mut ev: Event) {
        let Some(sampled_before) = self.sampler.admit(ev.client_ip, ev.ts_ms) else {
            self.stats.sampled.fetch_add(1, Ordering::Relaxed);
            return;
        };
        ev.sampled_before = sampled_before;
        let bytes = bounds::fit(&mut ev, self.bounds.max_event_bytes);
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let ev = Arc::new(ev);
        if let Some(q) = &self.file
            && !q.offer(&ev, bytes)
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            self.stats.file_dropped.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(q) = &self.store
            && !q.offer(&ev, bytes)
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

    /// Waits (at most `limit`) until every event published so far has left the
    /// store's queue: stored, refused for good, or dropped. A live client that
    /// resumes subscribes first, then waits for this, then reads the store:
    /// an event published just before it subscribed is then in the store, where
    /// it would otherwise have been in neither. Returns at once without a store.
    pub async fn store_caught_up(&self, limit: std::time::Duration) {
        if self.store.is_none() {
            return;
        }
        let published = self.stats.published.load(Ordering::Acquire);
        let settled = || {
            self.stats.stored.load(Ordering::Acquire)
                + self.stats.store_failed.load(Ordering::Acquire)
                + self.stats.store_dropped.load(Ordering::Acquire)
        };
        let deadline = tokio::time::Instant::now() + limit;
        while settled() < published && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Bytes waiting for the store and for the file sink.
    pub fn queued_bytes(&self) -> (usize, usize) {
        (
            self.store.as_ref().map_or(0, |q| q.budget().used()),
            self.file.as_ref().map_or(0, |q| q.budget().used()),
        )
    }

    /// Clients the sampler tracks.
    pub fn sampled_clients(&self) -> usize {
        self.sampler.clients()
    }

    /// Live subscribers right now.
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }
}

#[cfg(test)]
mod tests;
