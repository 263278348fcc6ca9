//! The latency histogram's layout, shared by the live counters
//! ([`crate::traffic`]), the stored per-minute rows ([`crate::store`]) and the
//! Prometheus endpoint: a leaf, so that none of them depends on another for it.

/// Upper bounds (µs) of the latency histogram buckets; the last is open.
pub(crate) const LATENCY_BOUNDS_US: [u64; 18] = [
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    u64::MAX,
];

/// The bucket bound below which a fraction `q` of the counts lie.
pub(crate) fn percentile(counts: &[u64], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return LATENCY_BOUNDS_US.get(i).copied();
        }
    }
    None
}
