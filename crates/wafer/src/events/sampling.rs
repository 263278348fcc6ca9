//! Per-client event sampling: when one client floods, its events are sampled
//! and the rest counted, so that one attacker cannot fill the queues, the
//! store and the log with copies of the same attack (its requests are still
//! blocked: only the events are sampled).
//!
//! Each client (IP) has a token bucket: `per_sec` events a second, bursts of
//! `burst`, are kept; past that, one in `one_in` is kept and carries in
//! `sampled_before` how many of that client's events were left out since its
//! previous kept one. The table of clients is bounded: when full, clients idle
//! long enough to have a full bucket again are forgotten, and new clients past
//! the bound share one bucket (sampled together, never unsampled).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// How a client's events are sampled. `per_sec == 0`: every event is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRate {
    pub per_sec: u32,
    pub burst: u32,
    pub one_in: u32,
    /// Clients tracked at once.
    pub max_clients: usize,
}

impl SampleRate {
    pub const OFF: SampleRate = SampleRate {
        per_sec: 0,
        burst: 0,
        one_in: 1,
        max_clients: 0,
    };
}

impl Default for SampleRate {
    fn default() -> Self {
        SampleRate {
            per_sec: 20,
            burst: 200,
            one_in: 100,
            max_clients: 65_536,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
    /// Events over the rate since the bucket emptied, for the 1-in-K choice.
    over: u64,
    /// Events left out since the last one kept.
    skipped: u64,
}

impl Bucket {
    fn full(rate: &SampleRate, now_ms: u64) -> Bucket {
        Bucket {
            tokens: f64::from(rate.burst.max(1)),
            last_ms: now_ms,
            over: 0,
            skipped: 0,
        }
    }

    /// `Some(skipped before)` to keep the event, `None` to leave it out.
    fn take(&mut self, rate: &SampleRate, now_ms: u64) -> Option<u64> {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.last_ms = self.last_ms.max(now_ms);
        self.tokens =
            (self.tokens + elapsed * f64::from(rate.per_sec)).min(f64::from(rate.burst.max(1)));
        let keep = if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.over = 0;
            true
        } else {
            self.over += 1;
            self.over.is_multiple_of(u64::from(rate.one_in.max(1)))
        };
        if keep {
            Some(std::mem::take(&mut self.skipped))
        } else {
            self.skipped += 1;
            None
        }
    }

    fn idle(&self, rate: &SampleRate, now_ms: u64) -> bool {
        // Long enough without events to have refilled: forgetting it changes nothing.
        let refill_ms = u64::from(rate.burst.max(1)) * 1000 / u64::from(rate.per_sec.max(1));
        self.skipped == 0 && now_ms.saturating_sub(self.last_ms) >= refill_ms
    }
}

pub struct Sampler {
    rate: SampleRate,
    table: Mutex<Table>,
}

struct Table {
    clients: HashMap<IpAddr, Bucket>,
    /// Shared by new clients while the table is full of active ones.
    overflow: Option<Bucket>,
}

impl Sampler {
    pub fn new(rate: SampleRate) -> Sampler {
        Sampler {
            rate,
            table: Mutex::new(Table {
                clients: HashMap::new(),
                overflow: None,
            }),
        }
    }

    pub fn rate(&self) -> &SampleRate {
        &self.rate
    }

    /// `Some(n)`: keep this event; n of the client's events were left out
    /// since its previous kept one. `None`: leave it out (the caller counts it).
    pub fn admit(&self, ip: IpAddr, now_ms: u64) -> Option<u64> {
        if self.rate.per_sec == 0 {
            return Some(0);
        }
        let rate = &self.rate;
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = t.clients.get_mut(&ip) {
            return b.take(rate, now_ms);
        }
        if t.clients.len() >= rate.max_clients {
            t.clients.retain(|_, b| !b.idle(rate, now_ms));
        }
        if t.clients.len() < rate.max_clients {
            let mut b = Bucket::full(rate, now_ms);
            let kept = b.take(rate, now_ms);
            t.clients.insert(ip, b);
            return kept;
        }
        t.overflow
            .get_or_insert_with(|| Bucket::full(rate, now_ms))
            .take(rate, now_ms)
    }

    /// Clients tracked right now.
    pub fn clients(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clients
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_sec: u32, burst: u32, one_in: u32, max_clients: usize) -> SampleRate {
        SampleRate {
            per_sec,
            burst,
            one_in,
            max_clients,
        }
    }

    #[test]
    fn a_flooding_client_is_sampled_and_the_rest_counted() {
        let s = Sampler::new(rate(10, 20, 50, 100));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        // 10,000 events within one second: the burst, then one in 50.
        let kept: Vec<u64> = (0..10_000)
            .filter_map(|i| s.admit(ip, 1_000 + i / 10_000))
            .collect();
        assert_eq!(kept.len(), 20 + (10_000 - 20) / 50);
        assert_eq!(
            kept.iter().sum::<u64>() + kept.len() as u64,
            9_980 / 50 * 50 + 20
        );
        assert!(kept[20..].iter().all(|&n| n == 49), "{:?}", &kept[20..25]);
        // Another client is not affected.
        assert_eq!(s.admit(other, 1_001), Some(0));
        // A second later the flooding client has 10 more.
        let later: Vec<_> = (0..10).map(|_| s.admit(ip, 2_001)).collect();
        assert!(later.iter().all(Option::is_some), "{later:?}");
    }

    #[test]
    fn the_client_table_is_bounded_and_new_clients_past_it_are_sampled_together() {
        let s = Sampler::new(rate(1, 2, 10, 100));
        for i in 0..100u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            s.admit(ip, 1_000);
            s.admit(ip, 1_000);
        }
        assert_eq!(s.clients(), 100);
        // 1,000 new clients at once while every tracked one is active: one shared bucket.
        let kept = (1_000..2_000u32)
            .filter(|i| s.admit(IpAddr::from(i.to_be_bytes()), 1_000).is_some())
            .count();
        assert_eq!(s.clients(), 100);
        assert_eq!(kept, 2 + 998 / 10);
        // Once the tracked clients are idle, they are forgotten to make room.
        let fresh = IpAddr::from(5_000u32.to_be_bytes());
        assert_eq!(s.admit(fresh, 10_000), Some(0));
        assert_eq!(s.clients(), 1);
    }

    #[test]
    fn off_keeps_everything() {
        let s = Sampler::new(SampleRate::OFF);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..1000).all(|_| s.admit(ip, 0) == Some(0)));
        assert_eq!(s.clients(), 0);
    }
}
