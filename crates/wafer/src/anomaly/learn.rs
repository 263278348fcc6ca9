//! The learning period: until a model trained on this site is active, the
//! proxy keeps a sample of each clean request it sees (up to
//! `anomaly.learn_requests`), then trains on them in the background, saves
//! the model to the models directory and switches to it. The built-in model
//! only scores meanwhile: a generic model flags much of any particular site's
//! normal traffic (12 to 50 % of real browser traffic in `docs/ANOMALY.md`),
//! so its flags would be noise.
//!
//! What is learned is what an attacker would like to shape, so it is bounded
//! three ways:
//! - **bytes**: a [`Sample`] (features, route template, argument names), never
//!   the request, at most `Sample::MAX_BYTES` each, and `learn_max_bytes` in all;
//! - **clients**: one client (an IPv4 address or an IPv6 /64) gives at most
//!   `learn_client_share` % of the set, and a set from fewer than
//!   `learn_min_clients` distinct clients is not trained on: the period goes
//!   on, each request from a new client taking the place of one from the
//!   client with the most;
//! - **cleanliness**: only requests allowed with no finding are offered (the
//!   proxy refuses guard, rate-limit and protocol failures before inspection).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use wafer_engine::anomaly::{DEFAULT_TARGET_FPR, ForestParams, Model, Sample};

use super::{ActiveModel, AnomalyState, ModelsDir};

/// The learning period's bounds besides its length (`learn_requests`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnLimits {
    /// Memory the kept samples may hold in all.
    pub max_bytes: usize,
    /// The most of the set one client may give, in percent.
    pub client_share_pct: f64,
    /// Distinct clients a set needs before a model is trained on it.
    pub min_clients: usize,
}

impl Default for LearnLimits {
    fn default() -> Self {
        LearnLimits {
            max_bytes: 32 << 20,
            client_share_pct: 5.0,
            min_clients: 20,
        }
    }
}

/// What one kept sample costs: the sample and its client's key.
fn cost(s: &Sample) -> usize {
    s.bytes() + std::mem::size_of::<u128>()
}

/// The most one kept sample costs.
pub const MAX_SAMPLE_COST: usize = Sample::MAX_BYTES + std::mem::size_of::<u128>();

/// A client as the learning period counts them: an IPv4 address, or an IPv6
/// /64 (a host commonly holds a whole /64 and may use any address in it).
fn client_key(ip: IpAddr) -> u128 {
    match crate::guard::canonical(ip) {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        // The /64, marked so that it never equals an IPv4 key (< 2^32).
        IpAddr::V6(v6) => (u128::from(v6) & !((1u128 << 64) - 1)) | (1 << 32),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Collecting,
    /// The set is full but from too few distinct clients.
    WaitingForClients,
    Training,
    Active(String),
    Failed(String),
}

#[derive(Default)]
struct State {
    kept: Vec<(u128, Sample)>,
    per_client: HashMap<u128, u32>,
    bytes: usize,
    /// `kept.len()` and `per_client.len()` when the set was handed to training.
    handed: Option<(usize, usize)>,
    skipped_share: u64,
    skipped_findings: u64,
    skipped_budget: u64,
    phase: Option<Phase>,
}

pub struct Learner {
    /// Where the learned model is saved.
    pub dir: std::path::PathBuf,
    want: usize,
    limits: LearnLimits,
    per_client_max: u32,
    state: Mutex<State>,
    /// Set once the set is handed to training (then nothing more is taken).
    done: AtomicBool,
}

/// The learning period as the model status shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LearnStatus {
    /// `off`, `collecting`, `waiting_for_clients`, `training`, `done` or `failed`.
    pub state: &'static str,
    /// Where the period stands, in a sentence (why no model yet, when there is none).
    pub reason: String,
    /// Samples kept.
    pub requests: usize,
    pub of: usize,
    pub bytes: usize,
    pub max_bytes: usize,
    /// Distinct clients among the samples kept.
    pub clients: usize,
    pub min_clients: usize,
    pub max_per_client: u32,
    /// Not kept: their client had given its share already.
    pub skipped_share: u64,
    /// Not kept: they had findings or were blocked.
    pub skipped_findings: u64,
    /// Not kept: no room left in `learn_max_bytes`.
    pub skipped_budget: u64,
}

impl Learner {
    /// No learning period: wants no requests.
    pub fn off() -> Learner {
        Learner::new(0, LearnLimits::default(), std::path::PathBuf::new())
    }

    pub fn new(want: usize, limits: LearnLimits, dir: std::path::PathBuf) -> Learner {
        let share = (want as f64 * limits.client_share_pct / 100.0).floor();
        Learner {
            dir,
            want,
            limits,
            per_client_max: (share as u32).max(1),
            state: Mutex::new(State::default()),
            done: AtomicBool::new(want == 0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether requests are still wanted (cheap: checked on every request).
    pub fn wants(&self) -> bool {
        !self.done.load(Ordering::Relaxed)
    }

    /// Whether a request from `client` would be kept, were it clean: asked
    /// before its sample is made. A client past its share is counted here.
    pub fn takes(&self, client: IpAddr) -> bool {
        if !self.wants() {
            return false;
        }
        let key = client_key(client);
        let mut st = self.lock();
        let n = st.per_client.get(&key).copied().unwrap_or(0);
        let ok = match st.phase {
            None | Some(Phase::Collecting) => n < self.per_client_max,
            Some(Phase::WaitingForClients) => n == 0,
            _ => return false,
        };
        if !ok {
            st.skipped_share += 1;
        }
        ok
    }

    /// Offers a request's sample once its verdict is known: kept when `clean`
    /// (allowed, no finding) and within the bounds. Returns the training set
    /// exactly once, when it is complete and from enough clients.
    pub fn offer(&self, client: IpAddr, sample: Sample, clean: bool) -> Option<Vec<Sample>> {
        if !self.wants() {
            return None;
        }
        let mut st = self.lock();
        if !clean {
            st.skipped_findings += 1;
            return None;
        }
        let key = client_key(client);
        let n = st.per_client.get(&key).copied().unwrap_or(0);
        let c = cost(&sample);
        match st.phase.clone().unwrap_or(Phase::Collecting) {
            Phase::Collecting => {
                if n >= self.per_client_max {
                    st.skipped_share += 1;
                    return None;
                }
                if st.bytes + c > self.limits.max_bytes {
                    st.skipped_budget += 1;
                    return None;
                }
                st.keep(key, sample, c);
                // Complete at the count, or when a sample of the largest size
                // might no longer fit.
                let complete = st.kept.len() >= self.want
                    || st.bytes + MAX_SAMPLE_COST > self.limits.max_bytes;
                complete.then(|| self.complete(&mut st)).flatten()
            }
            Phase::WaitingForClients => {
                if n > 0 {
                    st.skipped_share += 1;
                    return None;
                }
                if !st.make_room(c, self.limits.max_bytes) {
                    st.skipped_budget += 1;
                    return None;
                }
                st.keep(key, sample, c);
                self.complete(&mut st)
            }
            _ => None,
        }
    }

    /// Hands the set over when it comes from enough clients; otherwise says
    /// why not (once) and waits for more.
    fn complete(&self, st: &mut State) -> Option<Vec<Sample>> {
        let clients = st.per_client.len();
        if clients < self.limits.min_clients {
            if st.phase != Some(Phase::WaitingForClients) {
                st.phase = Some(Phase::WaitingForClients);
                tracing::warn!(
                    requests = st.kept.len(),
                    clients,
                    min_clients = self.limits.min_clients,
                    "anomaly learning set is full but from too few distinct clients: \
                     no model trained yet; requests from new clients now replace \
                     those of the most represented one"
                );
            }
            return None;
        }
        st.phase = Some(Phase::Training);
        st.handed = Some((st.kept.len(), clients));
        st.per_client = HashMap::new();
        self.done.store(true, Ordering::Relaxed);
        Some(
            std::mem::take(&mut st.kept)
                .into_iter()
                .map(|(_, s)| s)
                .collect(),
        )
    }

    fn set_phase(&self, p: Phase) {
        self.lock().phase = Some(p);
    }

    pub fn status(&self) -> LearnStatus {
        let st = self.lock();
        let (requests, clients) = st.handed.unwrap_or((st.kept.len(), st.per_client.len()));
        let min = self.limits.min_clients;
        let (state, reason) = match &st.phase {
            _ if self.want == 0 => (
                "off",
                "no learning period: a trained model was active at start, or anomaly.learn_requests is 0".to_owned(),
            ),
            None | Some(Phase::Collecting) => (
                "collecting",
                format!(
                    "learning: {requests} of {} requests kept, from {clients} distinct clients \
                     (at most {} from one; a model needs at least {min})",
                    self.want, self.per_client_max
                ),
            ),
            Some(Phase::WaitingForClients) => (
                "waiting_for_clients",
                format!(
                    "not trained: the learning set is full ({requests} requests) but comes from \
                     {clients} distinct clients, and a model needs at least {min} \
                     (anomaly.learn_min_clients); learning goes on, each request from a new \
                     client replacing one from the client with the most"
                ),
            ),
            Some(Phase::Training) => (
                "training",
                format!("training on {requests} requests from {clients} distinct clients"),
            ),
            Some(Phase::Active(v)) => (
                "done",
                format!("learned from {requests} requests from {clients} distinct clients; model {v} activated"),
            ),
            Some(Phase::Failed(e)) => ("failed", format!("no model learned: {e}")),
        };
        LearnStatus {
            state,
            reason,
            requests,
            of: self.want,
            bytes: st.bytes,
            max_bytes: self.limits.max_bytes,
            clients,
            min_clients: min,
            max_per_client: self.per_client_max,
            skipped_share: st.skipped_share,
            skipped_findings: st.skipped_findings,
            skipped_budget: st.skipped_budget,
        }
    }
}

impl State {
    fn keep(&mut self, key: u128, sample: Sample, cost: usize) {
        self.bytes += cost;
        *self.per_client.entry(key).or_default() += 1;
        self.kept.push((key, sample));
    }

    /// Drops samples of the client with the most (never its last) until
    /// `cost` more bytes fit. False when they cannot.
    fn make_room(&mut self, need: usize, max_bytes: usize) -> bool {
        loop {
            let Some((&top, &n)) = self
                .per_client
                .iter()
                .max_by_key(|(k, n)| (**n, std::cmp::Reverse(**k)))
            else {
                return need <= max_bytes;
            };
            if n < 2 {
                // Replacing a client's only sample would not add a client.
                return false;
            }
            let Some(i) = self.kept.iter().rposition(|(k, _)| *k == top) else {
                return false;
            };
            let (_, old) = self.kept.swap_remove(i);
            self.bytes -= cost(&old);
            if let Some(c) = self.per_client.get_mut(&top) {
                *c -= 1;
            }
            if self.bytes + need <= max_bytes {
                return true;
            }
        }
    }
}

/// Trains on the learning set, saves and activates the model, and swaps it in.
pub fn finish(samples: Vec<Sample>, dir: ModelsDir, anomaly: Arc<AnomalyState>) {
    tokio::task::spawn_blocking(move || {
        let n = samples.len();
        let started = std::time::Instant::now();
        let trained = Model::train_samples(
            &samples,
            &ForestParams::default(),
            DEFAULT_TARGET_FPR,
            crate::clock::now_ms(),
        );
        drop(samples);
        let fail = |what: &str, e: String| {
            tracing::error!(error = %e, "{what}");
            anomaly
                .learner
                .set_phase(Phase::Failed(format!("{what}: {e}")));
        };
        let model = match trained {
            Ok(m) => m,
            Err(e) => return fail("training on the learning period failed", e.to_string()),
        };
        let version = match dir.save(&model).and_then(|v| dir.activate(&v).map(|_| v)) {
            Ok(v) => v,
            Err(e) => return fail("saving the learned model failed", e.to_string()),
        };
        tracing::info!(
            %version,
            requests = n,
            ms = started.elapsed().as_millis() as u64,
            threshold = model.threshold,
            "anomaly model learned from this site's traffic; now active"
        );
        anomaly.learner.set_phase(Phase::Active(version.clone()));
        anomaly.activate(ActiveModel {
            version,
            model,
            learning: false,
        });
    });
}

#[cfg(test)]
mod tests;
