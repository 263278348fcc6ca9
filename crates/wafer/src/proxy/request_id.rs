//! Request ids: 16 hex digits, unique per process and hard to guess, without a
//! system call per request (a random key from the OS once, then a counter
//! mixed through SplitMix64).

use http::{HeaderMap, HeaderName, HeaderValue};
use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

static KEY: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0x0057_4146_4552_u64));
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The header that carries the id: to the upstream on the request, and back
/// to the client on every response, Wafer's own pages included.
pub(super) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// One request's id: what its event is keyed by and what the client is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RequestId(String);

impl RequestId {
    pub(super) fn next() -> RequestId {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        RequestId(format!("{:016x}", splitmix(n ^ *KEY)))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    /// Sets the id header on `headers` (the upstream request's or a response's).
    pub(super) fn stamp(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.0) {
            headers.insert(HEADER, v);
        }
    }

    /// Whether an allowed request is kept as an event, at `rate` (0..=1):
    /// decided by the id, which is already uniformly random.
    pub(super) fn sampled(&self, rate: f64) -> bool {
        rate >= 1.0
            || (rate > 0.0
                && u32::from_str_radix(self.0.get(..8).unwrap_or(""), 16)
                    .is_ok_and(|x| f64::from(x) < rate * f64::from(u32::MAX)))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_hex() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| super::RequestId::next().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|i| i.len() == 16 && i.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
