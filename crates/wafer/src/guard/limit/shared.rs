//! The limiter the proxy asks: a site's limits (from its policy snapshot),
//! each counted apart per site, checked in Redis when a
//! cluster shares its limits (one Lua script per check, so the read-decide-write
//! is atomic across nodes), locally otherwise, and locally too while Redis is
//! unreachable: an error or a slow answer switches this node to its own
//! counters for a second, then Redis is tried again.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Decision, Limit, LocalLimiter, key_of};
use crate::guard::once_per::OncePer;
use crate::guard::redis::RedisLink;

/// GCRA in Redis, on Redis's own clock (one clock for every node). The
/// arrival time is stored as an integer string: Lua would print a large
/// number in exponent form.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
if tat - now > tolerance then
  return {0, tat - now - tolerance}
end
local nxt = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.floor((nxt - now) / 1000) + 1000)
return {1, 0}
";

/// One event per limited key per this long.
const REPORT_EVERY_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct LimitStats {
    pub limited: AtomicU64,
    /// Checks decided locally because Redis was unreachable.
    pub fallbacks: AtomicU64,
}

/// A request over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub limit: String,
    pub retry_after_us: u64,
    /// True the first time this key is limited in a while: publish an event then.
    pub report: bool,
}

pub struct Limiter {
    local: LocalLimiter,
    redis: Option<Arc<RedisLink>>,
    script: redis::Script,
    reported: OncePer<String>,
    pub stats: LimitStats,
}

fn now_us() -> u64 {
    crate::clock::now_ms().saturating_mul(1000)
}

impl Limiter {
    /// `redis`: share the counts through it.
    pub fn new(redis: Option<Arc<RedisLink>>) -> Limiter {
        Limiter {
            local: LocalLimiter::default(),
            redis,
            script: redis::Script::new(SCRIPT),
            reported: OncePer::new(REPORT_EVERY_MS),
            stats: LimitStats::default(),
        }
    }

    /// Whether Redis is in use right now (`None`: not configured).
    pub fn redis_up(&self) -> Option<bool> {
        self.redis.as_ref().map(|r| r.up())
    }

    /// The first of `site`'s `limits` this request is over, if any. A
    /// site's counts are its own: the same limit name on two sites is two limits.
    pub async fn check(
        &self,
        site: &str,
        limits: &[Limit],
        path: &str,
        ip: IpAddr,
        headers: &http::HeaderMap,
    ) -> Option<Limited> {
        for limit in limits.iter().filter(|l| l.applies_to(path)) {
            let Some(key) = key_of(site, limit, ip, headers) else {
                continue;
            };
            if let Decision::Limited { retry_after_us } = self.decide(limit, &key).await {
                self.stats.limited.fetch_add(1, Ordering::Relaxed);
                return Some(Limited {
                    limit: limit.name.clone(),
                    retry_after_us,
                    report: self.reported.first(key, crate::clock::now_ms()),
                });
            }
        }
        None
    }

    async fn decide(&self, limit: &Limit, key: &str) -> Decision {
        if let Some(r) = &self.redis {
            let redis_key = format!("wafer:rl:{key}");
            let answer = r
                .run("rate limit", |mut conn| {
                    let mut call = self.script.key(redis_key);
                    call.arg(limit.interval_us).arg(limit.tolerance_us());
                    async move { call.invoke_async::<(i64, i64)>(&mut conn).await }
                })
                .await;
            match answer {
                Some((1, _)) => return Decision::Allow,
                Some((_, wait)) => {
                    return Decision::Limited {
                        retry_after_us: u64::try_from(wait).unwrap_or(0),
                    };
                }
                None => {
                    self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.local.check(limit, key, now_us())
    }
}
