//! The anomaly model in the running proxy: which model is active (a trained
//! one from the models directory, or the built-in default), how it is swapped
//! while traffic flows, and what it has scored lately.
//!
//! The model itself (features, forest, file format) is the engine's
//! (`wafer_engine::anomaly`); this side does the files and the clock.

use arc_swap::ArcSwapOption;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wafer_engine::anomaly::{LoadError, Model, Sample};
use wafer_engine::{Action, Transaction, Verdict};

pub mod learn;
pub mod models;
pub mod reload;
pub mod sources;

pub use models::{ModelError, ModelsDir};

/// The version name of the model built into the binary.
pub const DEFAULT_VERSION: &str = "default";

/// Trained by `bench/default-model.sh` (its provenance is in docs/ANOMALY.md).
const DEFAULT_JSON: &str = include_str!("../models/default.json");

/// A model in use, with the name it is known by.
pub struct ActiveModel {
    pub version: String,
    pub model: Model,
    /// The built-in model during the learning period: it scores, but does not flag.
    pub learning: bool,
}

/// The model built into the binary: generic features only (no routes), so it
/// fits any site until one is trained on the site's own traffic.
pub fn builtin() -> Result<Arc<ActiveModel>, LoadError> {
    Ok(Arc::new(ActiveModel {
        version: DEFAULT_VERSION.to_owned(),
        model: Model::from_json(DEFAULT_JSON)?,
        learning: false,
    }))
}

/// The anomaly side of a running node: the model in use (swapped on its own,
/// apart from the policy), what it has scored, and the learning period.
pub struct AnomalyState {
    model: ArcSwapOption<ActiveModel>,
    pub scores: ScoreStats,
    /// The learning period's requests (wants none once a trained model is active).
    pub learner: learn::Learner,
}

/// What scoring one request leaves for after its verdict: the sample the
/// learning period may keep.
#[must_use = "settle it after the verdict"]
#[derive(Default)]
pub struct Scored {
    to_learn: Option<Sample>,
}

impl AnomalyState {
    pub fn new(first: Option<Arc<ActiveModel>>, learner: learn::Learner) -> AnomalyState {
        AnomalyState {
            model: ArcSwapOption::new(first),
            scores: ScoreStats::default(),
            learner,
        }
    }

    /// No model: requests are not scored.
    pub fn off() -> AnomalyState {
        AnomalyState::new(None, learn::Learner::off())
    }

    /// The model in use, if any.
    pub fn active(&self) -> Option<Arc<ActiveModel>> {
        self.model.load_full()
    }

    /// Swaps in `model` for the requests that start from now on.
    pub fn activate(&self, model: ActiveModel) {
        self.model.store(Some(Arc::new(model)));
    }

    /// Scores the request with the model in use: into the verdict once a
    /// trained model is active; while learning, for the statistics only,
    /// keeping the request's sample when the learning period wants it.
    pub fn apply(&self, tx: &mut Transaction<'_>, client: IpAddr) -> Scored {
        let model = self.model.load();
        match model.as_deref() {
            Some(m) if m.learning => {
                // The learner keeps a sample (features, not the request); it
                // is scored from the same numbers.
                // Both from the engine's parse of the body, not a second one.
                let (req, body) = (tx.request(), tx.body_values());
                let (score, to_learn) = if self.learner.takes(client) {
                    let sample = Sample::of_with(req, body);
                    (m.model.score_sample(&sample), Some(sample))
                } else {
                    let score = match body {
                        Some(values) => m.model.score_with_body(req, values),
                        None => m.model.score(req),
                    };
                    (score, None)
                };
                self.scores.record(score.score, false);
                Scored { to_learn }
            }
            Some(m) => {
                tx.score_anomaly(&m.model, &m.version);
                Scored::default()
            }
            None => Scored::default(),
        }
    }

    /// After the verdict: its score in the statistics, and the request's
    /// sample to the learning period when it was allowed with no finding at
    /// all; a full learning set is trained on in the background.
    pub fn settle(self: &Arc<Self>, scored: Scored, verdict: &Verdict, client: IpAddr) {
        if let Some(a) = &verdict.anomaly {
            self.scores.record(a.score, a.anomalous);
        }
        let clean = verdict.action == Action::Allow && verdict.findings.is_empty();
        if let Some(set) = scored
            .to_learn
            .and_then(|s| self.learner.offer(client, s, clean))
        {
            learn::finish(set, ModelsDir::new(&self.learner.dir), Arc::clone(self));
        }
    }
}

const BINS: usize = 20;

/// Scores seen since start, in twenty bins of 0.05: the recent distribution
/// the dashboard's Model view draws next to the threshold.
#[derive(Debug, Default)]
pub struct ScoreStats {
    bins: [AtomicU64; BINS],
    pub scored: AtomicU64,
    pub anomalous: AtomicU64,
}

impl ScoreStats {
    pub fn record(&self, score: f64, anomalous: bool) {
        let i = ((score.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1);
        self.bins[i].fetch_add(1, Ordering::Relaxed);
        self.scored.fetch_add(1, Ordering::Relaxed);
        if anomalous {
            self.anomalous.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn bins(&self) -> Vec<u64> {
        self.bins
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_loads_and_scores() {
        let m = builtin().unwrap();
        assert_eq!(m.version, DEFAULT_VERSION);
        assert!(
            m.model.routes.routes.is_empty(),
            "the default knows no site's routes"
        );
        let req = wafer_engine::Request::new("GET", "/search?q=shoes").header("Host", "a.example");
        let s = m.model.score(&req);
        assert!(s.score > 0.0 && s.score < 1.0);
    }

    #[test]
    fn score_bins_cover_zero_to_one() {
        let s = ScoreStats::default();
        for x in [0.0, 0.049, 0.05, 0.99, 1.0, 7.0, -1.0] {
            s.record(x, x > 0.9);
        }
        let b = s.bins();
        assert_eq!((b[0], b[1], b[19]), (3, 1, 3));
        assert_eq!(s.scored.load(Ordering::Relaxed), 7);
        assert_eq!(s.anomalous.load(Ordering::Relaxed), 3);
    }
}
