//! Request ids: 16 hex digits, unique per process and hard to guess, without a
//! system call per request (a random key from the OS once, then a counter
//! mixed through SplitMix64).

use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

static KEY: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0x0057_4146_4552_u64));
static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(super) fn next() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", splitmix(n ^ *KEY))
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
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| super::next()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|i| i.len() == 16 && i.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
