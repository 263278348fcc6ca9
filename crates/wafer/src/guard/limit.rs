//! Rate limits: per client IP, per route, per key (a header or a cookie),
//! with bursts, by GCRA (the generic cell rate algorithm: one stored time per
//! key, the "theoretical arrival time", instead of a window of counters).
//!
//! The algorithm is written here rather than taken from `governor` because the
//! same arithmetic must run in two places: in process, and inside Redis as one
//! atomic script when a cluster shares its limits (`shared.rs`). With Redis
//! configured and unreachable, each node falls back to its own local limiter
//! (no request fails because Redis did), and goes back to Redis when it answers.

use std::collections::HashMap;
use std::sync::Mutex;

use wafer_engine::PathPattern;

pub mod shared;

/// What a limit counts by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitKey {
    Ip,
    /// A request header's value (lowercase name), e.g. an API key.
    Header(String),
    Cookie(String),
}

impl std::str::FromStr for LimitKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = |n: &str| {
            let n = n.trim().to_ascii_lowercase();
            if n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                Err(format!(
                    "{s:?}: a header or cookie name is letters, digits, '-', '_' or '.'"
                ))
            } else {
                Ok(n)
            }
        };
        match s.split_once(':') {
            None if s == "ip" => Ok(LimitKey::Ip),
            Some(("header", n)) => Ok(LimitKey::Header(name(n)?)),
            Some(("cookie", n)) => Ok(LimitKey::Cookie(name(n)?)),
            _ => Err(format!("{s:?}: expected ip, header:NAME or cookie:NAME")),
        }
    }
}

impl std::fmt::Display for LimitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitKey::Ip => f.write_str("ip"),
            LimitKey::Header(n) => write!(f, "header:{n}"),
            LimitKey::Cookie(n) => write!(f, "cookie:{n}"),
        }
    }
}

/// One configured limit.
#[derive(Clone, Debug)]
pub struct Limit {
    pub name: String,
    /// The rate as written (`100/s`), to show and save it as it was given.
    pub rate: String,
    /// Where it applies (every path when `None`).
    pub path: Option<PathPattern>,
    pub key: LimitKey,
    /// Microseconds between requests at the sustained rate (GCRA's T).
    pub interval_us: u64,
    /// Requests allowed at once (GCRA's tolerance is `(burst - 1) × T`).
    pub burst: u32,
}

impl Limit {
    /// `rate` like `100/s`, `600/m`, `5000/h`.
    pub fn new(
        name: &str,
        path: Option<PathPattern>,
        key: LimitKey,
        rate: &str,
        burst: Option<u32>,
    ) -> Result<Limit, String> {
        let (n, per) = rate
            .split_once('/')
            .ok_or_else(|| format!("rate {rate:?}: expected N/s, N/m or N/h"))?;
        let n: u64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| format!("rate {rate:?}: N is a whole number from 1 to 1000000"))?;
        let period_us: u64 = match per.trim() {
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            other => return Err(format!("rate {rate:?}: per s, m or h, not {other:?}")),
        };
        let burst = burst.unwrap_or(n.min(u64::from(u32::MAX)) as u32);
        if burst == 0 {
            return Err("burst must be at least 1".into());
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!("name {name:?}: letters, digits, '-', '_' or '.'"));
        }
        Ok(Limit {
            name: name.to_owned(),
            rate: format!("{n}/{}", per.trim()),
            path,
            key,
            interval_us: (period_us / n).max(1),
            burst,
        })
    }

    fn tolerance_us(&self) -> u64 {
        u64::from(self.burst - 1) * self.interval_us
    }

    pub fn applies_to(&self, path: &str) -> bool {
        self.path.as_ref().is_none_or(|p| p.matches(path))
    }
}

/// Whether a request may pass; when not, how long until it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Limited { retry_after_us: u64 },
}

/// One GCRA step: the stored arrival time (if any) and now, to the decision
/// and the time to store. The local limiter runs it; the Redis script
/// (`shared::SCRIPT`) is the same arithmetic in Lua, and must change with it.
pub fn gcra(tat: Option<u64>, now: u64, interval: u64, tolerance: u64) -> (Decision, Option<u64>) {
    let tat = tat.unwrap_or(now).max(now);
    if tat - now > tolerance {
        return (
            Decision::Limited {
                retry_after_us: tat - now - tolerance,
            },
            None,
        );
    }
    (Decision::Allow, Some(tat + interval))
}

/// FNV-1a: a fast, stable hash for shard choice and long keys (not a defence
/// against collisions). Stable matters: a long key's hash names it in Redis.
fn fnv(s: &str) -> u64 {
    wafer_engine::fnv::hash64(s.as_bytes())
}

const SHARDS: usize = 16;
/// Keys one node tracks before expired ones are swept (per shard).
const SHARD_KEYS: usize = 50_000;

/// The in-process limiter: arrival times in sharded maps.
#[derive(Default)]
pub struct LocalLimiter {
    shards: [Mutex<HashMap<String, u64>>; SHARDS],
}

impl LocalLimiter {
    pub fn check(&self, limit: &Limit, key: &str, now_us: u64) -> Decision {
        let i = (fnv(key) % SHARDS as u64) as usize;
        let mut m = self.shards[i].lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= SHARD_KEYS {
            // Keys whose arrival time has passed hold no information: drop them.
            m.retain(|_, tat| *tat > now_us);
            if m.len() >= SHARD_KEYS {
                m.clear();
            }
        }
        let (d, next) = gcra(
            m.get(key).copied(),
            now_us,
            limit.interval_us,
            limit.tolerance_us(),
        );
        if let Some(t) = next {
            m.insert(key.to_owned(), t);
        }
        d
    }
}

/// The value `site`'s `limit` counts by, for this request, as one key (a
/// site's counts are its own; site names have no '/'); `None` when the
/// request has no such header or cookie (then the limit does not apply to it).
pub fn key_of(
    site: &str,
    limit: &Limit,
    ip: std::net::IpAddr,
    headers: &http::HeaderMap,
) -> Option<String> {
    let value = match &limit.key {
        LimitKey::Ip => {
            let ip = crate::guard::canonical(ip);
            return Some(format!("{site}/{}:ip:{ip}", limit.name));
        }
        LimitKey::Header(h) => headers.get(h.as_str())?.to_str().ok()?.trim().to_owned(),
        LimitKey::Cookie(c) => headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case(c))
            .map(|(_, v)| v.to_owned())?,
    };
    if value.is_empty() {
        return None;
    }
    // Hostile values can be long: past 64 bytes a key is its hash.
    let value = if value.len() > 64 {
        format!("h{:016x}", fnv(&value))
    } else {
        value
    };
    Some(format!("{site}/{}:k:{value}", limit.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(rate: &str, burst: Option<u32>) -> Limit {
        Limit::new("t", None, LimitKey::Ip, rate, burst).unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_sustained_rate() {
        let l = limit("10/s", Some(3)); // one every 100 ms, three at once
        let local = LocalLimiter::default();
        let t0 = 1_000_000_000;
        for _ in 0..3 {
            assert_eq!(local.check(&l, "a", t0), Decision::Allow);
        }
        let Decision::Limited { retry_after_us } = local.check(&l, "a", t0) else {
            panic!("the fourth at once must wait")
        };
        assert_eq!(retry_after_us, 100_000);
        // Another key is unaffected.
        assert_eq!(local.check(&l, "b", t0), Decision::Allow);
        // After the retry time, one more; not two.
        assert_eq!(local.check(&l, "a", t0 + 100_000), Decision::Allow);
        assert!(matches!(
            local.check(&l, "a", t0 + 100_000),
            Decision::Limited { .. }
        ));
        // Idle long enough, the whole burst is back.
        for _ in 0..3 {
            assert_eq!(local.check(&l, "a", t0 + 10_000_000), Decision::Allow);
        }
    }

    #[test]
    fn rates_keys_and_names_parse_or_say_why() {
        assert_eq!(limit("600/m", None).interval_us, 100_000);
        assert_eq!(limit("5/h", None).burst, 5);
        for bad in ["10", "0/s", "10/d", "x/s", "10/s/2"] {
            assert!(
                Limit::new("t", None, LimitKey::Ip, bad, None).is_err(),
                "{bad}"
            );
        }
        assert!(Limit::new("t", None, LimitKey::Ip, "1/s", Some(0)).is_err());
        assert!(Limit::new("a b", None, LimitKey::Ip, "1/s", None).is_err());
        assert_eq!(
            "header:X-Api-Key".parse(),
            Ok(LimitKey::Header("x-api-key".into()))
        );
        assert_eq!("cookie:sid".parse(), Ok(LimitKey::Cookie("sid".into())));
        assert!("header:".parse::<LimitKey>().is_err());
        assert!("query:x".parse::<LimitKey>().is_err());
    }

    #[test]
    fn keys_come_from_the_ip_a_header_or_a_cookie() {
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "k1".parse().unwrap());
        h.insert("cookie", "a=1; sid=s9".parse().unwrap());
        let ip: std::net::IpAddr = "::ffff:203.0.113.5".parse().unwrap();
        let by = |k: &str, h: &http::HeaderMap| {
            key_of(
                "s",
                &Limit::new("n", None, k.parse().unwrap(), "1/s", None).unwrap(),
                ip,
                h,
            )
        };
        assert_eq!(by("ip", &h).as_deref(), Some("s/n:ip:203.0.113.5"));
        assert_eq!(by("header:x-api-key", &h).as_deref(), Some("s/n:k:k1"));
        assert_eq!(by("cookie:sid", &h).as_deref(), Some("s/n:k:s9"));
        assert_eq!(by("header:authorization", &h), None);
        h.insert("x-api-key", "z".repeat(500).parse().unwrap());
        assert!(by("header:x-api-key", &h).unwrap().len() < 40);
    }

    #[test]
    fn the_local_map_stays_bounded() {
        let l = limit("1/s", None);
        let local = LocalLimiter::default();
        for i in 0..(SHARDS * SHARD_KEYS + 1000) {
            local.check(&l, &format!("k{i}"), 1_000_000);
        }
        let total: usize = local.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS * SHARD_KEYS, "{total}");
    }
}
