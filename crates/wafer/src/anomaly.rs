//! The anomaly model in the running proxy: which model is active (a trained
//! one from the models directory, or the built-in default), how it is swapped
//! while traffic flows, and what it has scored lately.
//!
//! The model itself (features, forest, file format) is the engine's
//! (`wafer_engine::anomaly`); this side does the files and the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wafer_engine::anomaly::{LoadError, Model};

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
