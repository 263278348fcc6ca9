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
    pub inspect_us: u64,
}

const FIELD_MAX: usize = 512;

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
            action: v.action,
            status: v.status,
            score: v.score,
            threshold: v.threshold,
            mode: v.mode,
            route: v.route.clone(),
            reason: None,
            findings: v.findings.clone(),
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
            action: Action::Block,
            status: Some(status),
            score: 0,
            threshold: 0,
            mode: Mode::Block,
            route: None,
            reason: Some(reason.to_owned()),
            findings: Vec::new(),
            inspect_us: 0,
            dropped_before: 0,
        }
    }
}

/// Counters shared by the publisher and the sink.
#[derive(Debug, Default)]
pub struct EventStats {
    pub published: AtomicU64,
    pub dropped: AtomicU64,
    pub written: AtomicU64,
}

impl EventStats {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.published.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
        )
    }
}

/// Cheap handle for publishing; clone freely.
#[derive(Clone)]
pub struct Publisher {
    tx: Option<std::sync::mpsc::SyncSender<Arc<Event>>>,
    stats: Arc<EventStats>,
}

impl Publisher {
    /// A publisher that discards everything (events disabled).
    pub fn disabled() -> Publisher {
        Publisher {
            tx: None,
            stats: Arc::default(),
        }
    }

    pub(crate) fn new(
        tx: std::sync::mpsc::SyncSender<Arc<Event>>,
        stats: Arc<EventStats>,
    ) -> Publisher {
        Publisher {
            tx: Some(tx),
            stats,
        }
    }

    /// Never waits.
    pub fn publish(&self, ev: Event) {
        let Some(tx) = &self.tx else { return };
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        if tx.try_send(Arc::new(ev)).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> &Arc<EventStats> {
        &self.stats
    }
}
