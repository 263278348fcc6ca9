//! Counters of all traffic, allowed requests included, at the cost of a few
//! relaxed atomic adds per request. Monotonic: the Prometheus endpoint reads
//! them as they are, and the [`ticker`](crate::traffic::Ticker) takes the
//! difference each second for the live telemetry and each minute for the
//! stored per-minute rows the charts are drawn from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use wafer_engine::{Action, Class};

// The bucket layout travels with the histograms that use it.
pub(crate) use crate::latency::{LATENCY_BOUNDS_US, percentile};
use crate::store::TrafficMinute;

pub(crate) mod ticker;

/// A histogram with [`LATENCY_BOUNDS_US`] buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BOUNDS_US.len()],
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn record(&self, us: u64) {
        let i = LATENCY_BOUNDS_US.partition_point(|&b| b < us);
        self.buckets[i.min(LATENCY_BOUNDS_US.len() - 1)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    pub fn sum_us(&self) -> u64 {
        self.sum_us.load(Ordering::Relaxed)
    }
}

/// What the proxy tells the counters about one finished request.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub action: Action,
    pub status: u16,
    /// Classes of the findings, one bit per `Class::ALL` index.
    pub classes: u32,
    pub total_us: u64,
    pub inspect_us: u64,
    /// Upstream response time, when the request was forwarded.
    pub upstream_us: Option<u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

pub(crate) fn class_bits<'a>(classes: impl IntoIterator<Item = &'a Class>) -> u32 {
    classes.into_iter().fold(0, |m, c| {
        m | Class::ALL.iter().position(|x| x == c).map_or(0, |i| 1 << i)
    })
}

const STATUSES: usize = 600;

/// One site's requests by decision (`[[sites]]`).
#[derive(Debug, Default)]
pub struct SiteCounters {
    pub allowed: AtomicU64,
    pub flagged: AtomicU64,
    pub blocked: AtomicU64,
}

impl SiteCounters {
    pub fn record(&self, action: Action) {
        add(
            match action {
                Action::Allow => &self.allowed,
                Action::Flag => &self.flagged,
                Action::Block => &self.blocked,
            },
            1,
        );
    }
}

/// The counters, shared by every connection.
#[derive(Debug)]
pub struct Traffic {
    pub requests: AtomicU64,
    pub allowed: AtomicU64,
    pub blocked: AtomicU64,
    pub flagged: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub by_class: [AtomicU64; Class::ALL.len()],
    by_status: Box<[AtomicU64]>,
    pub total: Histogram,
    pub inspect: Histogram,
    pub upstream: Histogram,
    /// Requests for a host name no site serves (answered 421).
    pub misdirected: AtomicU64,
    /// Per site, by name: registered once when the proxy starts, so a
    /// request only adds to counters it already holds.
    sites: std::sync::Mutex<BTreeMap<String, std::sync::Arc<SiteCounters>>>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            requests: AtomicU64::new(0),
            allowed: AtomicU64::new(0),
            blocked: AtomicU64::new(0),
            flagged: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            by_class: Default::default(),
            by_status: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            total: Histogram::default(),
            inspect: Histogram::default(),
            upstream: Histogram::default(),
            misdirected: AtomicU64::new(0),
            sites: Default::default(),
        }
    }
}

fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

impl Traffic {
    /// The counters of the site named `name`, made on first use.
    pub fn site(&self, name: &str) -> std::sync::Arc<SiteCounters> {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        std::sync::Arc::clone(sites.entry(name.to_owned()).or_default())
    }

    /// Every site's counters, by name.
    pub fn sites(&self) -> Vec<(String, std::sync::Arc<SiteCounters>)> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites
            .iter()
            .map(|(n, c)| (n.clone(), std::sync::Arc::clone(c)))
            .collect()
    }

    pub fn record(&self, o: &Outcome) {
        add(&self.requests, 1);
        add(
            match o.action {
                Action::Allow => &self.allowed,
                Action::Flag => &self.flagged,
                Action::Block => &self.blocked,
            },
            1,
        );
        add(&self.bytes_in, o.bytes_in);
        add(&self.bytes_out, o.bytes_out);
        let mut bits = o.classes;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if let Some(c) = self.by_class.get(i) {
                add(c, 1);
            }
            bits &= bits - 1;
        }
        add(&self.by_status[usize::from(o.status).min(STATUSES - 1)], 1);
        self.total.record(o.total_us);
        self.inspect.record(o.inspect_us);
        if let Some(us) = o.upstream_us {
            self.upstream.record(us);
        }
    }

    /// Everything, as plain numbers.
    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            requests: load(&self.requests),
            allowed: load(&self.allowed),
            blocked: load(&self.blocked),
            flagged: load(&self.flagged),
            bytes_in: load(&self.bytes_in),
            bytes_out: load(&self.bytes_out),
            by_class: self.by_class.iter().map(load).collect(),
            by_status: self.by_status.iter().map(load).collect(),
            latency: self.total.counts(),
        }
    }

    pub fn statuses(&self) -> BTreeMap<u16, u64> {
        nonzero_statuses(
            &self
                .by_status
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .collect::<Vec<_>>(),
        )
    }
}

fn nonzero_statuses(v: &[u64]) -> BTreeMap<u16, u64> {
    v.iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| (s as u16, *n))
        .collect()
}

/// The counters at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    pub flagged: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub by_class: Vec<u64>,
    pub by_status: Vec<u64>,
    pub latency: Vec<u64>,
}

fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter()
        .enumerate()
        .map(|(i, x)| x.saturating_sub(b.get(i).copied().unwrap_or(0)))
        .collect()
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            requests: self.requests.saturating_sub(earlier.requests),
            allowed: self.allowed.saturating_sub(earlier.allowed),
            blocked: self.blocked.saturating_sub(earlier.blocked),
            flagged: self.flagged.saturating_sub(earlier.flagged),
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            by_class: sub(&self.by_class, &earlier.by_class),
            by_status: sub(&self.by_status, &earlier.by_status),
            latency: sub(&self.latency, &earlier.latency),
        }
    }

    pub fn minute(&self, minute_ms: u64, node: &str) -> TrafficMinute {
        TrafficMinute {
            minute_ms,
            node: node.to_owned(),
            requests: self.requests,
            allowed: self.allowed,
            blocked: self.blocked,
            flagged: self.flagged,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            by_class: Class::ALL
                .iter()
                .zip(&self.by_class)
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| (c.as_str().to_owned(), *n))
                .collect(),
            by_status: nonzero_statuses(&self.by_status),
            latency: self.latency.clone(),
        }
    }
}

/// One second of traffic, as the WebSocket tap streams it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Second {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ts_ms: u64,
    pub requests: u64,
    pub allowed: u64,
    pub blocked: u64,
    pub flagged: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

impl Second {
    pub(crate) fn from_delta(ts_ms: u64, d: &Snapshot) -> Second {
        Second {
            kind: "telemetry",
            ts_ms,
            requests: d.requests,
            allowed: d.allowed,
            blocked: d.blocked,
            flagged: d.flagged,
            bytes_in: d.bytes_in,
            bytes_out: d.bytes_out,
            statuses: nonzero_statuses(&d.by_status),
            p50_us: percentile(&d.latency, 0.5),
            p99_us: percentile(&d.latency, 0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_and_percentiles() {
        let h = Histogram::default();
        for us in [10, 60, 150, 150, 900, 30_000_000] {
            h.record(us);
        }
        let c = h.counts();
        assert_eq!(c[0], 1);
        assert_eq!(c[1], 1);
        assert_eq!(c[2], 2);
        assert_eq!(c[LATENCY_BOUNDS_US.len() - 1], 1);
        assert_eq!(percentile(&c, 0.5), Some(200));
        assert_eq!(percentile(&c, 0.99), Some(u64::MAX));
        assert_eq!(percentile(&[0, 0], 0.5), None);
    }

    #[test]
    fn deltas_and_minutes() {
        let t = Traffic::default();
        let before = t.snapshot();
        t.record(&Outcome {
            action: Action::Block,
            status: 403,
            classes: class_bits(&[Class::Sqli, Class::Xss]),
            total_us: 120,
            inspect_us: 40,
            upstream_us: None,
            bytes_in: 10,
            bytes_out: 20,
        });
        t.record(&Outcome {
            action: Action::Allow,
            status: 200,
            classes: 0,
            total_us: 800,
            inspect_us: 30,
            upstream_us: Some(700),
            bytes_in: 5,
            bytes_out: 1000,
        });
        let d = t.snapshot().since(&before);
        let m = d.minute(60_000, "n1");
        assert_eq!((m.requests, m.allowed, m.blocked, m.flagged), (2, 1, 1, 0));
        assert_eq!(m.by_class.get("sqli"), Some(&1));
        assert_eq!(m.by_class.get("xss"), Some(&1));
        assert_eq!(m.by_status, BTreeMap::from([(200, 1), (403, 1)]));
        assert_eq!(m.bytes_out, 1020);
        let s = Second::from_delta(1, &d);
        assert_eq!(s.p99_us, Some(1_000));
    }
}
