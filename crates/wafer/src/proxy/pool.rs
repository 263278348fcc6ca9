//! A site's upstream servers: which one takes a request, and which are fit
//! to take any.
//!
//! Choice: weighted round robin, least connections (active requests over
//! weight), or consistent hashing by the client's address or a header's value
//! (rendezvous hashing: a server leaving moves only its own share).
//!
//! Fitness: a server is out while an active health check says it is down
//! (`fall` failed checks in a row; back after `rise` good ones), or while it
//! is ejected: `eject_after` connect failures or 5xx answers in a row take it
//! out for `eject_for`, after which it is tried again. When every server is
//! out, requests still go to them (by the same choice) rather than all
//! failing here: a pool that is wrong about its servers must not be the
//! outage.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use http::{HeaderMap, HeaderName, Uri};

/// How a server is chosen for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConnections,
    /// By the client's address: a client keeps its server.
    HashClient,
    /// By a header's value (a session or user id); by address when absent.
    HashHeader(HeaderName),
}

/// When a server is taken out for failing requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ejection {
    /// Connect failures or 5xx answers in a row (0: never ejected).
    pub after: u32,
    pub for_ms: u64,
}

impl Default for Ejection {
    fn default() -> Self {
        Ejection {
            after: 3,
            for_ms: 10_000,
        }
    }
}

/// One upstream server and what is known of it.
#[derive(Debug)]
pub struct Server {
    pub uri: Uri,
    pub weight: u32,
    /// The health check's verdict (true until a check says otherwise).
    up: AtomicBool,
    /// Unix ms until which it is ejected (0: not ejected).
    ejected_until: AtomicU64,
    failures_in_row: AtomicU32,
    /// Requests sent to it and not yet answered.
    pub active: AtomicUsize,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub ejections: AtomicU64,
}

impl Server {
    pub fn new(uri: Uri, weight: u32) -> Server {
        Server {
            uri,
            weight: weight.max(1),
            up: AtomicBool::new(true),
            ejected_until: AtomicU64::new(0),
            failures_in_row: AtomicU32::new(0),
            active: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            ejections: AtomicU64::new(0),
        }
    }

    /// Fit for requests now: up by its checks, and not ejected.
    pub fn available(&self, now_ms: u64) -> bool {
        self.up.load(Ordering::Relaxed) && self.ejected_until.load(Ordering::Relaxed) <= now_ms
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn is_ejected(&self, now_ms: u64) -> bool {
        self.ejected_until.load(Ordering::Relaxed) > now_ms
    }
}

/// What became of one request sent to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer below 500.
    Answered,
    /// A 5xx answer, or no answer (connect failure, reset, timeout).
    Failed,
}

/// A site's servers.
#[derive(Debug)]
pub struct Pool {
    servers: Vec<Server>,
    balance: Balance,
    ejection: Ejection,
    /// Round robin: server indices, each as often as its weight, interleaved.
    rotation: Vec<usize>,
    next: AtomicUsize,
    /// Keys the rendezvous hash: fixed, so a client keeps its server.
    hasher: foldhash::fast::FixedState,
    /// Each server's own hash (of its URL), mixed with a key's.
    seeds: Vec<u64>,
    /// How `https://` servers are reached (`None`: the system's roots, the URL's name).
    tls: Option<Arc<crate::proxy::upstream_tls::UpstreamTls>>,
}

/// Marks a request as in flight on a server until dropped.
pub struct InFlight<'p> {
    server: &'p Server,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.server.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pool {
    pub fn new(servers: Vec<Server>, balance: Balance, ejection: Ejection) -> Pool {
        assert!(!servers.is_empty(), "a pool has a server");
        let rotation = rotation(&servers);
        let hasher = foldhash::fast::FixedState::with_seed(0x5afe_57a7);
        let seeds = servers
            .iter()
            .map(|s| hasher.hash_one(s.uri.to_string()))
            .collect();
        Pool {
            servers,
            balance,
            ejection,
            rotation,
            next: AtomicUsize::new(0),
            hasher,
            seeds,
            tls: None,
        }
    }

    /// The pool's servers reached over HTTPS with `tls`.
    pub fn with_tls(mut self, tls: Arc<crate::proxy::upstream_tls::UpstreamTls>) -> Pool {
        self.tls = Some(tls);
        self
    }

    pub fn tls(&self) -> Option<&Arc<crate::proxy::upstream_tls::UpstreamTls>> {
        self.tls.as_ref()
    }

    /// One server, round robin: what a single `upstream` is.
    pub fn single(uri: Uri) -> Pool {
        Pool::new(
            vec![Server::new(uri, 1)],
            Balance::RoundRobin,
            Ejection::default(),
        )
    }

    pub fn balance(&self) -> &Balance {
        &self.balance
    }

    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The server for a request, not one of `tried`; `None` once every server was tried.
    pub fn pick(&self, client: IpAddr, headers: &HeaderMap, tried: &[usize]) -> Option<usize> {
        let now = crate::clock::now_ms();
        let fit = |i: usize| !tried.contains(&i) && self.servers[i].available(now);
        let untried = |i: usize| !tried.contains(&i);
        self.choose(client, headers, &fit)
            .or_else(|| self.choose(client, headers, &untried))
    }

    fn choose(
        &self,
        client: IpAddr,
        headers: &HeaderMap,
        ok: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        match &self.balance {
            Balance::RoundRobin => {
                // Each turn taken from the shared counter, so an unfit
                // server's turns spread over the others by their weights
                // instead of all falling to the one after it.
                let n = self.rotation.len();
                (0..n)
                    .map(|_| self.rotation[self.next.fetch_add(1, Ordering::Relaxed) % n])
                    .find(|&i| ok(i))
            }
            Balance::LeastConnections => {
                (0..self.servers.len()).filter(|&i| ok(i)).min_by_key(|&i| {
                    let s = &self.servers[i];
                    // Active requests per unit of weight, compared without division.
                    (s.active.load(Ordering::Relaxed) as u128 * 1_000_000) / u128::from(s.weight)
                })
            }
            Balance::HashClient => self.rendezvous(self.hash_ip(client), ok),
            Balance::HashHeader(name) => match headers.get(name) {
                Some(v) => self.rendezvous(self.hasher.hash_one(v.as_bytes()), ok),
                None => self.rendezvous(self.hash_ip(client), ok),
            },
        }
    }

    fn hash_ip(&self, ip: IpAddr) -> u64 {
        match crate::guard::canonical(ip) {
            IpAddr::V4(v4) => self.hasher.hash_one(v4.octets()),
            IpAddr::V6(v6) => self.hasher.hash_one(v6.octets()),
        }
    }

    /// Highest random weight: each server scores the key; the best fit one wins.
    fn rendezvous(&self, key: u64, ok: &dyn Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        for i in (0..self.servers.len()).filter(|&i| ok(i)) {
            let s = self.score(key, i);
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, i));
            }
        }
        best.map(|(_, i)| i)
    }

    fn score(&self, key: u64, i: usize) -> f64 {
        let h = mix(key ^ self.seeds[i]);
        // A uniform number in (0, 1], weighted: -w / ln(u) (weighted rendezvous hashing).
        let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        -f64::from(self.servers[i].weight) / u.ln().min(-f64::MIN_POSITIVE)
    }

    /// Counts a request as in flight on server `i` until the guard drops.
    pub fn start(&self, i: usize) -> InFlight<'_> {
        let s = &self.servers[i];
        s.active.fetch_add(1, Ordering::Relaxed);
        s.requests.fetch_add(1, Ordering::Relaxed);
        InFlight { server: s }
    }

    /// What a request on server `i` came to (passive health).
    pub fn report(&self, i: usize, outcome: Outcome) {
        let s = &self.servers[i];
        match outcome {
            Outcome::Answered => {
                s.failures_in_row.store(0, Ordering::Relaxed);
            }
            Outcome::Failed => {
                s.failures.fetch_add(1, Ordering::Relaxed);
                let n = s.failures_in_row.fetch_add(1, Ordering::Relaxed) + 1;
                if self.ejection.after > 0 && n >= self.ejection.after {
                    s.failures_in_row.store(0, Ordering::Relaxed);
                    s.ejected_until.store(
                        crate::clock::now_ms() + self.ejection.for_ms,
                        Ordering::Relaxed,
                    );
                    s.ejections.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(server = %s.uri, for_ms = self.ejection.for_ms, "upstream server ejected after failures in a row");
                }
            }
        }
    }

    /// The health check's verdict on server `i`; an up verdict also ends an ejection.
    pub fn set_up(&self, i: usize, up: bool) {
        let s = &self.servers[i];
        let was = s.up.swap(up, Ordering::Relaxed);
        if up {
            s.ejected_until.store(0, Ordering::Relaxed);
            s.failures_in_row.store(0, Ordering::Relaxed);
        }
        if was != up {
            tracing::warn!(server = %s.uri, up, "upstream server health changed");
        }
    }
}

/// splitmix64's finalizer: spreads a key's and a server's hashes into one.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Each server as often as its weight, spread out: server `i`'s k-th turn
/// sits at (k + 0.5) / weight of the way round, so heavier servers do not
/// come in runs.
fn rotation(servers: &[Server]) -> Vec<usize> {
    let mut slots: Vec<(f64, usize)> = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let w = s.weight.min(100);
        for k in 0..w {
            slots.push(((f64::from(k) + 0.5) / f64::from(w), i));
        }
    }
    slots.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.cmp(&b.1))
    });
    slots.into_iter().map(|(_, i)| i).collect()
}

/// An active health check: `GET path` on each server every `interval`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    /// Failed checks in a row that take a server out.
    pub fall: u32,
    /// Good checks in a row that bring it back.
    pub rise: u32,
}

/// Runs `check` on every server of `pool` once, updating their state;
/// `streaks` holds each server's run of like results across rounds.
pub async fn check_round(pool: &Arc<Pool>, check: &HealthCheck, streaks: &mut [(bool, u32)]) {
    // Plain or HTTPS, as the servers are, with the TLS settings requests use.
    let tls = match pool.tls() {
        Some(t) => Arc::clone(t),
        None => match crate::proxy::upstream_tls::UpstreamTls::system() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "no TLS settings for health checks");
                return;
            }
        },
    };
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(tls.connector(hyper_util::client::legacy::connect::HttpConnector::new()));
    for (i, s) in pool.servers().iter().enumerate() {
        let ok = probe(&client, &s.uri, check).await;
        let (last, run) = &mut streaks[i];
        if *last == ok {
            *run = run.saturating_add(1);
        } else {
            *last = ok;
            *run = 1;
        }
        if ok && !s.is_up() && *run >= check.rise {
            pool.set_up(i, true);
        } else if !ok && s.is_up() && *run >= check.fall {
            pool.set_up(i, false);
        } else if ok && s.is_up() && s.is_ejected(crate::clock::now_ms()) && *run >= check.rise {
            // A passing check ends an ejection early.
            pool.set_up(i, true);
        }
    }
}

async fn probe(
    client: &hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Empty<bytes::Bytes>,
    >,
    server: &Uri,
    check: &HealthCheck,
) -> bool {
    let base = server.to_string();
    let url = format!("{}{}", base.trim_end_matches('/'), check.path);
    let Ok(uri) = url.parse::<Uri>() else {
        return false;
    };
    let req = http::Request::get(uri)
        .header("user-agent", "wafer-health-check")
        .body(http_body_util::Empty::new());
    let Ok(req) = req else { return false };
    match tokio::time::timeout(check.timeout, client.request(req)).await {
        Ok(Ok(resp)) => resp.status().is_success() || resp.status().is_redirection(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(weights: &[u32], balance: Balance) -> Pool {
        let servers = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Server::new(format!("http://10.0.0.{i}:80").parse().unwrap(), w))
            .collect();
        Pool::new(
            servers,
            balance,
            Ejection {
                after: 2,
                for_ms: 60_000,
            },
        )
    }

    fn counts(p: &Pool, n: usize, ip: impl Fn(usize) -> IpAddr) -> Vec<usize> {
        let mut c = vec![0; p.servers().len()];
        for k in 0..n {
            c[p.pick(ip(k), &HeaderMap::new(), &[]).unwrap()] += 1;
        }
        c
    }

    #[test]
    fn round_robin_follows_the_weights_and_skips_the_unfit() {
        let p = pool(&[1, 3, 1], Balance::RoundRobin);
        assert_eq!(
            counts(&p, 500, |_| "192.0.2.1".parse().unwrap()),
            [100, 300, 100]
        );
        // No runs: the heavy server never takes more than two in a row.
        let seq: Vec<usize> = (0..10)
            .map(|_| {
                p.pick("192.0.2.1".parse().unwrap(), &HeaderMap::new(), &[])
                    .unwrap()
            })
            .collect();
        assert!(
            seq.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])),
            "{seq:?}"
        );
        p.set_up(1, false);
        assert_eq!(
            counts(&p, 100, |_| "192.0.2.1".parse().unwrap()),
            [50, 0, 50]
        );
        // Every server out: they are still tried, rather than failing here.
        p.set_up(0, false);
        p.set_up(2, false);
        assert_eq!(
            counts(&p, 50, |_| "192.0.2.1".parse().unwrap())
                .iter()
                .sum::<usize>(),
            50
        );
        // Tried servers are not picked again; after all, none is left.
        let ip = "192.0.2.1".parse().unwrap();
        assert_eq!(p.pick(ip, &HeaderMap::new(), &[0, 1, 2]), None);
        assert!(![0, 2].contains(&p.pick(ip, &HeaderMap::new(), &[0, 2]).unwrap()));
    }

    #[test]
    fn failures_in_a_row_eject_and_a_good_answer_resets_the_count() {
        let p = pool(&[1, 1], Balance::RoundRobin);
        p.report(0, Outcome::Failed);
        p.report(0, Outcome::Answered);
        p.report(0, Outcome::Failed);
        assert!(p.servers()[0].available(crate::clock::now_ms()));
        p.report(0, Outcome::Failed);
        assert!(!p.servers()[0].available(crate::clock::now_ms()));
        assert_eq!(counts(&p, 20, |_| "192.0.2.1".parse().unwrap()), [0, 20]);
        // Back once the ejection is over, or at once when a check passes.
        assert!(p.servers()[0].available(crate::clock::now_ms() + 60_001));
        p.set_up(0, true);
        assert!(p.servers()[0].available(crate::clock::now_ms()));
    }

    #[test]
    fn least_connections_prefers_the_least_busy_per_weight() {
        let p = pool(&[1, 2], Balance::LeastConnections);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = p.start(0);
        let _b = p.start(1);
        // 1 active at weight 1 against 1 at weight 2: the heavier takes it.
        assert_eq!(p.pick(ip, &HeaderMap::new(), &[]), Some(1));
        let _c = p.start(1);
        let _d = p.start(1);
        // 1/1 against 3/2.
        assert_eq!(p.pick(ip, &HeaderMap::new(), &[]), Some(0));
        drop(a);
        assert_eq!(p.servers()[0].active.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn hashing_keeps_a_client_on_its_server_and_moves_only_the_lost_share() {
        let p = pool(&[1, 1, 1, 1], Balance::HashClient);
        let ip = |k: usize| IpAddr::from([10, 1, (k / 256) as u8, (k % 256) as u8]);
        let before: Vec<usize> = (0..2000)
            .map(|k| p.pick(ip(k), &HeaderMap::new(), &[]).unwrap())
            .collect();
        let again: Vec<usize> = (0..2000)
            .map(|k| p.pick(ip(k), &HeaderMap::new(), &[]).unwrap())
            .collect();
        assert_eq!(before, again);
        let c = counts(&p, 2000, ip);
        assert!(c.iter().all(|&n| (350..650).contains(&n)), "{c:?}");
        p.set_up(2, false);
        let after: Vec<usize> = (0..2000)
            .map(|k| p.pick(ip(k), &HeaderMap::new(), &[]).unwrap())
            .collect();
        for k in 0..2000 {
            if before[k] != 2 {
                assert_eq!(
                    after[k], before[k],
                    "client {k} moved though its server stayed"
                );
            } else {
                assert_ne!(after[k], 2);
            }
        }
        // By header: the same value, the same server, whatever the address.
        let p = pool(
            &[1, 1, 1],
            Balance::HashHeader(HeaderName::from_static("x-user")),
        );
        let mut h = HeaderMap::new();
        h.insert("x-user", "alice".parse().unwrap());
        let first = p.pick(ip(1), &h, &[]).unwrap();
        assert!((2..200).all(|k| p.pick(ip(k), &h, &[]) == Some(first)));
    }
}
