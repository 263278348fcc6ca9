//! The limiter the proxy asks: every configured limit, checked in Redis when a
//! cluster shares its limits (one Lua script per check, so the read-decide-write
//! is atomic across nodes), locally otherwise, and locally too while Redis is
//! unreachable: an error or a slow answer switches this node to its own
//! counters for a second, then Redis is tried again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Decision, Limit, LocalLimiter, key_of};

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

/// How long one Redis check may take before this node decides alone.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// After a Redis failure, how long this node uses its own counters only.
const BACKOFF_MS: u64 = 1_000;
/// One event per limited key per this long.
const REPORT_EVERY_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct LimitStats {
    pub limited: AtomicU64,
    pub redis_checks: AtomicU64,
    pub redis_errors: AtomicU64,
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

struct Redis {
    client: redis::Client,
    conn: ArcSwapOption<ConnectionManager>,
    connecting: AtomicBool,
    down_until_ms: AtomicU64,
    script: redis::Script,
    prefix: String,
}

pub struct Limiter {
    limits: Vec<Limit>,
    local: LocalLimiter,
    redis: Option<Arc<Redis>>,
    reported: Mutex<HashMap<String, u64>>,
    pub stats: LimitStats,
}

fn now_us() -> u64 {
    crate::clock::now_ms().saturating_mul(1000)
}

impl Limiter {
    /// `redis_url`: share the limits through that Redis (`redis://host:port/db`).
    pub fn new(limits: Vec<Limit>, redis_url: Option<&str>) -> Result<Limiter, String> {
        let redis = match redis_url {
            None => None,
            Some(url) => Some(Arc::new(Redis {
                client: redis::Client::open(url).map_err(|e| format!("redis url {url:?}: {e}"))?,
                conn: ArcSwapOption::empty(),
                connecting: AtomicBool::new(false),
                down_until_ms: AtomicU64::new(0),
                script: redis::Script::new(SCRIPT),
                prefix: "wafer:rl:".into(),
            })),
        };
        Ok(Limiter {
            limits,
            local: LocalLimiter::default(),
            redis,
            reported: Mutex::new(HashMap::new()),
            stats: LimitStats::default(),
        })
    }

    /// Starts connecting to Redis now, so the first requests already share
    /// their counts (needs a tokio runtime; without Redis, does nothing).
    pub fn connect(&self) {
        if let Some(r) = &self.redis {
            r.connect();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Whether Redis is in use right now (`None`: not configured).
    pub fn redis_up(&self) -> Option<bool> {
        self.redis.as_ref().map(|r| {
            r.conn.load().is_some()
                && r.down_until_ms.load(Ordering::Relaxed) <= crate::clock::now_ms()
        })
    }

    /// The first limit this request is over, if any.
    pub async fn check(
        &self,
        path: &str,
        ip: IpAddr,
        headers: &http::HeaderMap,
    ) -> Option<Limited> {
        for limit in self.limits.iter().filter(|l| l.applies_to(path)) {
            let Some(key) = key_of(limit, ip, headers) else {
                continue;
            };
            if let Decision::Limited { retry_after_us } = self.decide(limit, &key).await {
                self.stats.limited.fetch_add(1, Ordering::Relaxed);
                return Some(Limited {
                    limit: limit.name.clone(),
                    retry_after_us,
                    report: self.first_report(&key),
                });
            }
        }
        None
    }

    async fn decide(&self, limit: &Limit, key: &str) -> Decision {
        if let Some(r) = &self.redis {
            match r.check(limit, key).await {
                Ok(d) => {
                    self.stats.redis_checks.fetch_add(1, Ordering::Relaxed);
                    return d;
                }
                Err(Some(e)) => {
                    self.stats.redis_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "redis unreachable: rate limits are this node's own for now");
                }
                Err(None) => {}
            }
            self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        self.local.check(limit, key, now_us())
    }

    fn first_report(&self, key: &str) -> bool {
        let now = crate::clock::now_ms();
        let mut m = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, at| now.saturating_sub(*at) < REPORT_EVERY_MS);
        }
        match m.get(key) {
            Some(at) if now.saturating_sub(*at) < REPORT_EVERY_MS => false,
            _ => {
                m.insert(key.to_owned(), now);
                true
            }
        }
    }
}

impl Redis {
    /// `Err(None)`: not tried (no connection yet, or backing off); `Err(Some)`: it failed.
    async fn check(self: &Arc<Self>, limit: &Limit, key: &str) -> Result<Decision, Option<String>> {
        let now = crate::clock::now_ms();
        if self.down_until_ms.load(Ordering::Relaxed) > now {
            return Err(None);
        }
        let Some(conn) = self.conn.load_full() else {
            self.connect();
            return Err(None);
        };
        let mut conn = (*conn).clone();
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation.arg(limit.interval_us).arg(limit.tolerance_us());
        let call = invocation.invoke_async::<(i64, i64)>(&mut conn);
        let failure = match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok((1, _))) => return Ok(Decision::Allow),
            Ok(Ok((_, wait))) => {
                return Ok(Decision::Limited {
                    retry_after_us: u64::try_from(wait).unwrap_or(0),
                });
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer in {} ms", REDIS_TIMEOUT.as_millis()),
        };
        self.down_until_ms
            .store(now + BACKOFF_MS, Ordering::Relaxed);
        Err(Some(failure))
    }

    /// Connects in the background; checks go local until it succeeds.
    fn connect(self: &Arc<Self>) {
        if self.connecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)))
                .set_response_timeout(Some(REDIS_TIMEOUT))
                .set_number_of_retries(2);
            match ConnectionManager::new_with_config(me.client.clone(), cfg).await {
                Ok(c) => {
                    tracing::info!("connected to redis: rate limits are shared");
                    me.conn.store(Some(Arc::new(c)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach redis yet: rate limits are this node's own");
                    me.down_until_ms
                        .store(crate::clock::now_ms() + BACKOFF_MS, Ordering::Relaxed);
                }
            }
            me.connecting.store(false, Ordering::Release);
        });
    }
}
