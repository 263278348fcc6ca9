//! Wrong admin tokens, per client: the first few are free (typos), then each
//! further attempt waits out a backoff that doubles with every failure, and
//! is refused with 429 until it has passed. A right token resets the client.
//! Memory is bounded (the oldest client is forgotten first), and the log gets
//! one line per interval with counts, never one line per attempt.
//!
//! Refused attempts do not lengthen the backoff: a script that keeps knocking
//! gains nothing, and an operator who retries after the wait is not punished
//! for what was refused meanwhile.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Failures allowed before the backoff starts.
pub(crate) const FREE_FAILURES: u32 = 5;
/// The first backoff; each further failure doubles it.
const BASE_BACKOFF_MS: u64 = 1_000;
/// The longest backoff.
pub(crate) const MAX_BACKOFF_MS: u64 = 300_000;
/// A client with no failure for this long starts afresh.
const FORGET_AFTER_MS: u64 = 15 * 60_000;
/// Clients tracked at most; beyond, the one seen longest ago is dropped.
pub(crate) const MAX_CLIENTS: usize = 10_000;
/// How often counts are logged while failures go on.
const LOG_EVERY_MS: u64 = 60_000;

#[derive(Clone, Copy)]
struct Client {
    failures: u32,
    blocked_until_ms: u64,
    last_ms: u64,
}

#[derive(Default)]
struct Inner {
    clients: HashMap<IpAddr, Client>,
    /// Since the last log line.
    failed: u64,
    refused: u64,
    flush_scheduled: bool,
}

#[derive(Default)]
pub(crate) struct Throttle {
    inner: Mutex<Inner>,
}

/// IPv6 clients are keyed by their /64: one host usually holds a whole /64,
/// and could otherwise start afresh from each of its addresses.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(seconds to wait)` when `ip` must not try a token now. Counts the
    /// refusal for the log.
    pub(crate) fn check(self: &Arc<Self>, ip: IpAddr, now_ms: u64) -> Result<(), u64> {
        let mut inner = self.lock();
        let wait = match inner.clients.get(&key(ip)) {
            Some(c) if c.blocked_until_ms > now_ms => c.blocked_until_ms - now_ms,
            _ => return Ok(()),
        };
        inner.refused += 1;
        self.schedule_flush(&mut inner);
        Err(wait.div_ceil(1000))
    }

    /// A wrong token from `ip`.
    pub(crate) fn failure(self: &Arc<Self>, ip: IpAddr, now_ms: u64) {
        let mut inner = self.lock();
        let k = key(ip);
        if !inner.clients.contains_key(&k) && inner.clients.len() >= MAX_CLIENTS {
            // Bounded memory: forget whoever was seen longest ago.
            if let Some(oldest) = inner
                .clients
                .iter()
                .min_by_key(|(_, c)| c.last_ms)
                .map(|(ip, _)| *ip)
            {
                inner.clients.remove(&oldest);
            }
        }
        let c = inner.clients.entry(k).or_insert(Client {
            failures: 0,
            blocked_until_ms: 0,
            last_ms: now_ms,
        });
        if now_ms.saturating_sub(c.last_ms) > FORGET_AFTER_MS {
            c.failures = 0;
        }
        c.failures = c.failures.saturating_add(1);
        c.last_ms = now_ms;
        if c.failures >= FREE_FAILURES {
            let doublings = (c.failures - FREE_FAILURES).min(20);
            let backoff = BASE_BACKOFF_MS
                .saturating_mul(1 << doublings)
                .min(MAX_BACKOFF_MS);
            c.blocked_until_ms = now_ms + backoff;
        }
        let first = inner.failed == 0 && inner.refused == 0 && !inner.flush_scheduled;
        inner.failed += 1;
        if first {
            // The first of a burst is logged at once; the rest as counts.
            tracing::warn!(client = %ip, "wrong admin token (further ones are counted and logged once a minute)");
            inner.failed = 0;
        }
        self.schedule_flush(&mut inner);
    }

    /// A right token from `ip`: its failures are forgotten.
    pub(crate) fn success(&self, ip: IpAddr) {
        self.lock().clients.remove(&key(ip));
    }

    /// Clients tracked now.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.lock().clients.len()
    }

    fn schedule_flush(self: &Arc<Self>, inner: &mut Inner) {
        if inner.flush_scheduled {
            return;
        }
        // Outside a runtime (unit tests) counts just wait for the next event.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        inner.flush_scheduled = true;
        let me = Arc::clone(self);
        rt.spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(LOG_EVERY_MS)).await;
                let mut inner = me.lock();
                let (failed, refused) = (inner.failed, inner.refused);
                if failed == 0 && refused == 0 {
                    inner.flush_scheduled = false;
                    return;
                }
                inner.failed = 0;
                inner.refused = 0;
                let clients = inner.clients.len();
                drop(inner);
                tracing::warn!(
                    wrong_tokens = failed,
                    refused_while_throttled = refused,
                    clients_tracked = clients,
                    "admin token failures in the last minute"
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn backoff_doubles_after_the_free_failures_and_success_resets() {
        let t = Arc::new(Throttle::default());
        let now = 1_000_000;
        for _ in 0..FREE_FAILURES - 1 {
            assert!(t.check(A, now).is_ok());
            t.failure(A, now);
        }
        assert!(t.check(A, now).is_ok());
        t.failure(A, now); // the fifth: 1 s
        assert_eq!(t.check(A, now), Err(1));
        assert_eq!(t.check(A, now + 999), Err(1));
        assert!(t.check(B, now).is_ok(), "another client is not affected");
        assert!(t.check(A, now + 1_000).is_ok());
        t.failure(A, now + 1_000); // the sixth: 2 s
        assert_eq!(t.check(A, now + 1_000), Err(2));
        assert!(t.check(A, now + 3_000).is_ok());
        // Many more: capped.
        let mut at = now + 3_000;
        for _ in 0..40 {
            t.failure(A, at);
            at += MAX_BACKOFF_MS;
        }
        t.failure(A, at);
        assert_eq!(t.check(A, at), Err(MAX_BACKOFF_MS / 1000));
        t.success(A);
        assert!(t.check(A, at).is_ok());
    }

    #[test]
    fn refusals_do_not_lengthen_the_wait_and_old_failures_are_forgotten() {
        let t = Arc::new(Throttle::default());
        for _ in 0..FREE_FAILURES {
            t.failure(A, 0);
        }
        for ms in 0..1_000 {
            assert!(t.check(A, ms).is_err());
        }
        assert!(t.check(A, 1_000).is_ok());
        // Long after, a typo is free again.
        t.failure(A, 1_000 + FORGET_AFTER_MS + 1);
        assert!(t.check(A, 1_000 + FORGET_AFTER_MS + 1).is_ok());
    }

    #[test]
    fn memory_is_bounded_and_ipv6_is_keyed_by_its_64() {
        let t = Arc::new(Throttle::default());
        for i in 0..(MAX_CLIENTS as u32 + 500) {
            t.failure(IpAddr::V4(i.into()), u64::from(i));
        }
        assert_eq!(t.tracked(), MAX_CLIENTS);
        let t = Arc::new(Throttle::default());
        for i in 0..FREE_FAILURES as u16 {
            t.failure(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i)),
                0,
            );
        }
        let other = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        assert!(t.check(other, 0).is_err());
    }
}
