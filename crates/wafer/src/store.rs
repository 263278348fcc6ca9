//! Where events and traffic counters are kept, behind one trait: SQLite (the
//! embedded default, a file under the data directory) or PostgreSQL (one place
//! for a cluster of Wafer nodes).
//!
//! The proxy never calls a store: it publishes to the bus, and the
//! [`writer`] task drains the bus into the store in batches. The admin API
//! reads through the same trait.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::events::Event;

pub mod filter;
pub mod postgres;
mod schema;
mod sql;
pub mod sqlite;
pub mod writer;

pub use filter::{Cursor, Filter, FilterError, PageRequest, Sort};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("stored document: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// One page of events and the cursor for the next, if there is more.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    pub events: Vec<Event>,
    pub next_cursor: Option<String>,
}

/// All traffic in one minute on one node, allowed requests included: what the
/// charts are drawn from, cheaply, without an event per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficMinute {
    /// Start of the minute, unix ms.
    pub minute_ms: u64,
    pub node: String,
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    pub flagged: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Requests with a finding of each class.
    pub by_class: std::collections::BTreeMap<String, u64>,
    pub by_status: std::collections::BTreeMap<u16, u64>,
    /// Counts per [`crate::latency::LATENCY_BOUNDS_US`] bucket of total request time.
    pub latency: Vec<u64>,
}

/// What `/api/stats` asks for.
#[derive(Clone, Debug)]
pub struct StatsQuery {
    pub from_ms: u64,
    pub to_ms: u64,
    pub bucket_ms: u64,
    pub top: usize,
}

/// Time series and top-N lists for a range.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub from_ms: u64,
    pub to_ms: u64,
    pub bucket_ms: u64,
    pub series: Vec<Bucket>,
    pub top_ips: Vec<Count>,
    pub top_paths: Vec<Count>,
    pub top_rules: Vec<Count>,
    pub top_classes: Vec<Count>,
    /// Events by anomaly score, in bands of 5 points.
    pub score_histogram: Vec<Count>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Bucket {
    pub ts_ms: u64,
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    pub flagged: u64,
    pub by_class: std::collections::BTreeMap<String, u64>,
    pub by_status: std::collections::BTreeMap<u16, u64>,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

/// How long events are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Events older than this go (0: kept by age forever).
    pub max_age_ms: u64,
    /// When more are stored, the oldest go (0: no limit).
    pub max_events: u64,
    /// When the events take more bytes than this, the oldest go (0: no
    /// limit). SQLite: the database's used pages; PostgreSQL: the events'
    /// documents plus [`PG_ROW_OVERHEAD`] a row (see [`Store::size_bytes`]).
    pub max_bytes: u64,
}

pub const DEFAULT_MAX_STORE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Bytes counted per PostgreSQL event row besides its document: the other
/// columns, the findings rows and the indexes, roughly.
pub const PG_ROW_OVERHEAD: u64 = 400;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_ms: 30 * 86_400_000,
            max_events: 5_000_000,
            max_bytes: DEFAULT_MAX_STORE_BYTES,
        }
    }
}

/// How many of `n` events (oldest first) to remove so that `used` bytes come
/// down to 90 % of `max`: some room, so that the next check need not prune again.
pub(crate) fn to_remove(used: u64, max: u64, n: u64) -> u64 {
    if used <= max || n == 0 {
        return 0;
    }
    let target = max / 10 * 9;
    let share = (used - target) as f64 / used as f64;
    ((share * n as f64).ceil() as u64).clamp(1, n)
}

/// An event store.
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Stores a batch in one transaction. Events already stored (same id) are kept once.
    fn insert(&self, events: Vec<Arc<Event>>) -> StoreFuture<'_, ()>;
    fn query(&self, filter: Filter, page: PageRequest) -> StoreFuture<'_, Page>;
    fn get(&self, id: String) -> StoreFuture<'_, Option<Event>>;
    /// Events after `after` (oldest first), for a live stream resuming from `Last-Event-ID`.
    fn since(&self, after: String, filter: Filter, limit: usize) -> StoreFuture<'_, Vec<Event>>;
    fn stats(&self, q: StatsQuery) -> StoreFuture<'_, Stats>;
    fn record_traffic(&self, minutes: Vec<TrafficMinute>) -> StoreFuture<'_, ()>;
    /// Applies retention (age, count, then bytes); returns how many events were removed.
    fn prune(&self, r: Retention, now_ms: u64) -> StoreFuture<'_, u64>;
    /// The bytes `Retention::max_bytes` is compared with.
    fn size_bytes(&self) -> StoreFuture<'_, u64>;
    /// How many events are stored.
    fn count(&self) -> StoreFuture<'_, u64>;
}

/// Which store to open: `sqlite:PATH` or `postgres://...` (`postgresql://` too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(std::path::PathBuf),
    /// The URL as given: the driver reads its parts.
    Postgres(String),
}

impl std::str::FromStr for StoreUrl {
    type Err = String;
    fn from_str(v: &str) -> Result<StoreUrl, String> {
        if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres(v.to_owned()))
        } else if let Some(path) = v.strip_prefix("sqlite:") {
            Ok(StoreUrl::Sqlite(path.into()))
        } else {
            Err(format!("expected sqlite:PATH or postgres://..., not {v:?}"))
        }
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(url),
        }
    }
}

/// Opens the store `url` names.
pub async fn open(url: &StoreUrl) -> StoreResult<Arc<dyn Store>> {
    match url {
        StoreUrl::Postgres(url) => Ok(Arc::new(postgres::PgStore::connect(url).await?)),
        StoreUrl::Sqlite(path) => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
                .await
                .map_err(|e| StoreError::Other(e.to_string()))??;
            Ok(Arc::new(store))
        }
    }
}

/// Tells this process's traffic rows apart from another's (a restart within
/// the same minute, or two processes with one node name).
pub fn boot_id() -> &'static str {
    static ID: LazyLock<String> = LazyLock::new(|| {
        use std::hash::{BuildHasher, RandomState};
        format!(
            "{:016x}",
            RandomState::new().hash_one(crate::clock::now_ms())
        )
    });
    &ID
}

/// Buckets from per-minute rows (all traffic), merged into `bucket_ms` wide
/// buckets; percentiles from the merged latency histograms.
pub(crate) fn series(rows: &[TrafficMinute], q: &StatsQuery) -> Vec<Bucket> {
    let width = q.bucket_ms.max(60_000);
    let start = q.from_ms - q.from_ms % width;
    // Query values come from the network: saturate, never overflow.
    let n = usize::try_from((q.to_ms.saturating_sub(start)).div_ceil(width))
        .unwrap_or(0)
        .min(10_000);
    let mut out: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            ts_ms: start.saturating_add((i as u64).saturating_mul(width)),
            ..Bucket::default()
        })
        .collect();
    let mut hists: Vec<Vec<u64>> = vec![Vec::new(); n];
    for r in rows {
        let Some(i) = r
            .minute_ms
            .checked_sub(start)
            .map(|d| (d / width) as usize)
            .filter(|&i| i < n)
        else {
            continue;
        };
        let b = &mut out[i];
        b.requests += r.requests;
        b.allowed += r.allowed;
        b.blocked += r.blocked;
        b.flagged += r.flagged;
        for (k, v) in &r.by_class {
            *b.by_class.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.by_status {
            *b.by_status.entry(*k).or_default() += v;
        }
        let h = &mut hists[i];
        if h.len() < r.latency.len() {
            h.resize(r.latency.len(), 0);
        }
        for (a, v) in h.iter_mut().zip(&r.latency) {
            *a += v;
        }
    }
    for (b, h) in out.iter_mut().zip(&hists) {
        b.p50_us = crate::latency::percentile(h, 0.50);
        b.p99_us = crate::latency::percentile(h, 0.99);
    }
    out
}

#[cfg(test)]
mod tests;

/// Cuts the extra row a page query fetched and makes the next cursor from the last kept one.
pub(crate) fn paginate(events: &mut Vec<Event>, page: &PageRequest) -> Page {
    let more = events.len() > page.limit;
    events.truncate(page.limit);
    let next_cursor = more.then(|| events.last()).flatten().map(|last| {
        Cursor {
            sort: page.sort,
            score: last.score,
            ts_ms: last.ts_ms,
            id: last.id.clone(),
        }
        .encode()
    });
    Page {
        events: std::mem::take(events),
        next_cursor,
    }
}
