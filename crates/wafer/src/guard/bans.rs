//! Temporary bans: a client with `after` blocked requests within `within_ms`
//! is refused at the door for `duration_ms`; bans are also added and lifted
//! through the admin API.
//!
//! With Redis, strikes are counted there (one script: count, expire, ban) and
//! bans live there as keys with a time to live, so every node sees them. Each
//! node checks its own copy of the ban list (no Redis call per request),
//! refreshed from Redis every second. While Redis is unreachable the copy is
//! kept (bans are cached), new strikes and bans are local, and bans made
//! meanwhile are written to Redis when it is back. A Redis that restarted
//! empty (no persistence) is noticed by its new run id, and every node writes
//! its bans back: a ban lifted in the second or two that takes may come back,
//! and must be lifted again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;

use super::once_per::OncePer;
use super::redis::RedisLink;

/// The longest window strikes are counted in (`bans.within_secs`).
pub const MAX_WITHIN_SECS: u64 = 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanPolicy {
    /// Blocked requests that earn a ban (0: no automatic bans).
    pub after: u32,
    pub within_ms: u64,
    pub duration_ms: u64,
}

impl Default for BanPolicy {
    fn default() -> Self {
        BanPolicy {
            after: 0,
            within_ms: 60_000,
            duration_ms: 600_000,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Ban {
    pub ip: IpAddr,
    pub until_ms: u64,
    pub reason: String,
    /// Made while Redis was unreachable: still to be written there.
    #[serde(skip)]
    pending: bool,
}

const STRIKE: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

pub struct Bans {
    /// The file's `[bans]`: the length of a ban the admin API adds without one.
    /// Strikes count against each site's own policy (`strike`).
    pub policy: BanPolicy,
    active: RwLock<HashMap<IpAddr, Ban>>,
    /// Per site and client: when the window started, and the strikes in it.
    strikes: Mutex<HashMap<(String, IpAddr), (u64, u32)>>,
    reported: OncePer<IpAddr>,
    redis: Option<Arc<RedisLink>>,
    script: redis::Script,
    /// The Redis server's run id at the last sync: a new one means it restarted
    /// (and, without persistence, forgot every ban), so this node writes its bans back.
    run_id: Mutex<Option<String>>,
}

fn ban_key(ip: IpAddr) -> String {
    format!("wafer:ban:{ip}")
}

fn strike_key(site: &str, ip: IpAddr) -> String {
    format!("wafer:strike:{site}:{ip}")
}

impl Bans {
    pub fn new(policy: BanPolicy, redis: Option<Arc<RedisLink>>) -> Bans {
        Bans {
            policy,
            active: RwLock::new(HashMap::new()),
            strikes: Mutex::new(HashMap::new()),
            reported: OncePer::new(60_000),
            redis,
            script: redis::Script::new(STRIKE),
            run_id: Mutex::new(None),
        }
    }

    /// The ban on this client, if any (this node's copy: no Redis call).
    pub fn banned(&self, ip: IpAddr) -> Option<Ban> {
        let now = crate::clock::now_ms();
        let ip = super::canonical(ip);
        self.active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .filter(|b| b.until_ms > now)
            .cloned()
    }

    /// Whether to publish an event for this banned client now (one a minute).
    pub fn report(&self, ip: IpAddr) -> bool {
        self.reported.first(ip, crate::clock::now_ms())
    }

    pub fn list(&self) -> Vec<Ban> {
        let now = crate::clock::now_ms();
        let mut v: Vec<Ban> = self
            .active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|b| b.until_ms > now)
            .cloned()
            .collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.until_ms));
        v
    }

    fn insert(&self, ban: Ban) {
        let mut m = self.active.write().unwrap_or_else(|p| p.into_inner());
        let now = crate::clock::now_ms();
        if m.len() > 100_000 {
            m.retain(|_, b| b.until_ms > now);
        }
        m.insert(ban.ip, ban);
    }

    /// A blocked request from `ip` on `site`, counted against that site's
    /// `policy`; returns the ban when this one earned it. Strikes are counted
    /// per site (each site says how many it tolerates); the ban they earn
    /// refuses the client at every site, as one attacker.
    pub async fn strike(&self, ip: IpAddr, site: &str, policy: &BanPolicy) -> Option<Ban> {
        if policy.after == 0 {
            return None;
        }
        let ip = super::canonical(ip);
        let reason = format!(
            "{} blocked requests within {} s",
            policy.after,
            policy.within_ms / 1000
        );
        if let Some(r) = &self.redis {
            let keys = (strike_key(site, ip), ban_key(ip));
            let p = *policy;
            let reason2 = reason.clone();
            let answer = r
                .run("ban strike", |mut conn| {
                    let mut call = self.script.key(keys.0);
                    call.key(keys.1)
                        .arg(p.within_ms)
                        .arg(p.after)
                        .arg(p.duration_ms)
                        .arg(reason2);
                    async move { call.invoke_async::<i64>(&mut conn).await }
                })
                .await;
            match answer {
                Some(1) => return Some(self.banned_now(ip, policy, reason, false)),
                Some(_) => return None,
                None => {}
            }
        }
        let now = crate::clock::now_ms();
        let earned = {
            let mut m = self.strikes.lock().unwrap_or_else(|p| p.into_inner());
            if m.len() > 100_000 {
                // No site's window is longer.
                m.retain(|_, (start, _)| now.saturating_sub(*start) < MAX_WITHIN_SECS * 1000);
            }
            let e = m.entry((site.to_owned(), ip)).or_insert((now, 0));
            if now.saturating_sub(e.0) >= policy.within_ms {
                *e = (now, 0);
            }
            e.1 += 1;
            let earned = e.1 >= policy.after;
            if earned {
                m.remove(&(site.to_owned(), ip));
            }
            earned
        };
        earned.then(|| self.banned_now(ip, policy, reason, self.redis.is_some()))
    }

    fn banned_now(&self, ip: IpAddr, policy: &BanPolicy, reason: String, pending: bool) -> Ban {
        let ban = Ban {
            ip,
            until_ms: crate::clock::now_ms() + policy.duration_ms,
            reason,
            pending,
        };
        tracing::info!(%ip, until_ms = ban.until_ms, reason = %ban.reason, "client banned");
        self.insert(ban.clone());
        ban
    }

    /// A ban from the admin API.
    pub async fn add(&self, ip: IpAddr, duration_ms: u64, reason: String) -> Ban {
        let ip = super::canonical(ip);
        let mut ban = Ban {
            ip,
            until_ms: crate::clock::now_ms() + duration_ms,
            reason,
            pending: self.redis.is_some(),
        };
        if let Some(r) = &self.redis {
            let (k, v) = (ban_key(ip), ban.reason.clone());
            let written = r
                .run("ban", |mut conn| async move {
                    redis::cmd("SET")
                        .arg(k)
                        .arg(v)
                        .arg("PX")
                        .arg(duration_ms.max(1))
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            ban.pending = written.is_none();
        }
        self.insert(ban.clone());
        ban
    }

    /// Lifts a ban, and the strikes counted against it on each of `sites`
    /// (so that one more block does not ban again at once); false when there
    /// was no ban here. With Redis unreachable the lift is local only (the
    /// next sync would bring a shared ban back).
    pub async fn lift(&self, ip: IpAddr, sites: &[&str]) -> bool {
        let ip = super::canonical(ip);
        if let Some(r) = &self.redis {
            let mut keys = vec![ban_key(ip)];
            keys.extend(sites.iter().map(|s| strike_key(s, ip)));
            r.run("unban", |mut conn| async move {
                redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        }
        self.strikes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, struck), _| *struck != ip);
        self.active
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip)
            .is_some()
    }

    /// Makes this node's copy the cluster's list: writes bans made while Redis
    /// was away, then reads every ban key with its time to live.
    pub async fn sync(&self) {
        let Some(r) = &self.redis else { return };
        if !self.notice_restart(r).await {
            return;
        }
        let now = crate::clock::now_ms();
        if !self.write_pending(r, now).await {
            return;
        }
        let Some(found) = read_bans(r).await else {
            return;
        };
        let fresh: HashMap<IpAddr, Ban> = found
            .into_iter()
            .filter_map(|(k, reason, ttl)| {
                let ip: IpAddr = k.strip_prefix("wafer:ban:")?.parse().ok()?;
                let until_ms = now + ttl;
                let pending = false;
                Some((
                    ip,
                    Ban {
                        ip,
                        until_ms,
                        reason,
                        pending,
                    },
                ))
            })
            .collect();
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    /// A Redis that restarted (a new run id) lost its bans: every ban this
    /// node has is marked to be written back. `false`: Redis did not answer.
    async fn notice_restart(&self, r: &Arc<RedisLink>) -> bool {
        let info = r
            .run("ban sync", |mut conn| async move {
                redis::cmd("INFO")
                    .arg("server")
                    .query_async::<String>(&mut conn)
                    .await
            })
            .await;
        let Some(info) = info else { return false };
        let run_id = info
            .lines()
            .find_map(|l| l.strip_prefix("run_id:"))
            .map(|v| v.trim().to_owned());
        let mut last = self.run_id.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some() && *last != run_id {
            tracing::warn!("redis restarted: writing this node's bans back");
            let mut active = self.active.write().unwrap_or_else(|p| p.into_inner());
            for b in active.values_mut() {
                b.pending = true;
            }
        }
        *last = run_id;
        true
    }

    /// Writes the bans still to be written. `false`: Redis stopped answering.
    async fn write_pending(&self, r: &Arc<RedisLink>, now: u64) -> bool {
        let pending: Vec<Ban> = self
            .active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|b| b.pending && b.until_ms > now)
            .cloned()
            .collect();
        for b in pending {
            let (k, v, ttl) = (ban_key(b.ip), b.reason.clone(), b.until_ms - now);
            let written = r
                .run("ban sync", |mut conn| async move {
                    redis::cmd("SET")
                        .arg(k)
                        .arg(v)
                        .arg("PX")
                        .arg(ttl)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if written.is_none() {
                return false;
            }
        }
        true
    }
}

/// Every ban key in Redis with its reason and time to live (ms), at most
/// about 100,000; `None` when Redis did not answer.
async fn read_bans(r: &Arc<RedisLink>) -> Option<Vec<(String, String, u64)>> {
    r.run("ban sync", |mut conn| async move {
        let mut cursor: u64 = 0;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg("wafer:ban:*")
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            for k in keys {
                let (reason, ttl): (Option<String>, i64) = redis::pipe()
                    .cmd("GET")
                    .arg(&k)
                    .cmd("PTTL")
                    .arg(&k)
                    .query_async(&mut conn)
                    .await?;
                if let (Some(reason), Ok(ttl)) = (reason, u64::try_from(ttl)) {
                    found.push((k, reason, ttl));
                }
            }
            if next == 0 || found.len() > 100_000 {
                return Ok(found);
            }
            cursor = next;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn strikes_within_the_window_earn_a_ban_that_expires_and_lifts() {
        let policy = BanPolicy {
            after: 3,
            within_ms: 60_000,
            duration_ms: 600_000,
        };
        let bans = Bans::new(BanPolicy::default(), None);
        let ip: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert!(bans.strike(ip, "shop", &policy).await.is_none());
        assert!(bans.strike(ip, "shop", &policy).await.is_none());
        // Another site's strikes are counted against its own policy, apart.
        assert!(bans.strike(ip, "blog", &policy).await.is_none());
        let ban = bans
            .strike(ip, "shop", &policy)
            .await
            .expect("the third strike bans");
        assert_eq!(
            ban.ip,
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "mapped addresses are one client"
        );
        assert!(bans.banned("203.0.113.9".parse().unwrap()).is_some());
        assert!(bans.banned("203.0.113.10".parse().unwrap()).is_none());
        assert_eq!(bans.list().len(), 1);
        assert!(bans.banned(ip).unwrap().until_ms >= crate::clock::now_ms() + 599_000);
        assert!(bans.lift(ip, &["shop", "blog"]).await);
        assert!(bans.banned(ip).is_none());
        assert!(!bans.lift(ip, &["shop", "blog"]).await);
        // The lift cleared the other site's strikes too: two more there do not ban.
        assert!(bans.strike(ip, "blog", &policy).await.is_none());
        assert!(bans.strike(ip, "blog", &policy).await.is_none());

        let short = bans
            .add("198.51.100.1".parse().unwrap(), 0, "test".into())
            .await;
        assert!(
            bans.banned(short.ip).is_none(),
            "a ban that already ended does not hold"
        );
        let off = BanPolicy::default();
        for _ in 0..100 {
            assert!(
                bans.strike(ip, "docs", &off).await.is_none(),
                "after = 0 bans no one"
            );
        }
    }
}
