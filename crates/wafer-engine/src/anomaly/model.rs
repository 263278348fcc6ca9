//! The trained model: route profiles, forest, threshold and the statistics
//! that explain a score, in one versioned JSON document.

use super::features::{self, FEATURE_NAMES, Features, N, SCHEMA_VERSION};
use super::forest::{FitError, Forest, ForestParams};
use super::route::{Learner, RouteParams, RouteProfiles};
use super::sample::Sample;
use crate::request::Request;
use serde::{Deserialize, Serialize};
use std::hash::Hasher;

/// Bump when the JSON layout of [`Model`] changes.
pub const FORMAT_VERSION: u32 = 1;
/// The default share of normal traffic allowed above the threshold.
pub const DEFAULT_TARGET_FPR: f64 = 0.001;

/// One feature's spread over the training set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureStat {
    pub median: f32,
    /// Interquartile range (p75 - p25).
    pub iqr: f32,
    pub mean: f32,
    pub std: f32,
}

impl FeatureStat {
    /// |x - median| in units of the IQR; where the IQR is 0 (most token
    /// counts: zero for three quarters of traffic and more) in units of the
    /// standard deviation, and where that is 0 too, in raw units.
    pub fn deviation(&self, x: f32) -> f32 {
        let scale = if self.iqr > 0.0 {
            self.iqr
        } else if self.std > 0.0 {
            self.std
        } else {
            1.0
        };
        let d = (x - self.median).abs() / scale;
        if d.is_finite() { d.min(1e6) } else { 1e6 }
    }
}

/// Training scores at a few quantiles, to place a live score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreQuantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format_version: u32,
    pub schema_version: u32,
    /// When it was trained (ms since the epoch), as the caller said.
    pub created_ms: u64,
    /// FNV-1a 64 over the training vectors (f32 bits, little-endian), hex:
    /// two models with the same fingerprint saw the same data.
    pub fingerprint: String,
    pub params: ForestParams,
    pub samples: usize,
    /// Scores above this are anomalous.
    pub threshold: f64,
    pub target_fpr: f64,
    pub forest: Forest,
    pub routes: RouteProfiles,
    /// One per feature, in `FEATURE_NAMES` order.
    pub feature_stats: Vec<FeatureStat>,
    pub score_quantiles: ScoreQuantiles,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("target false positive rate {0} is not in (0, 1)")]
    TargetFpr(f64),
    #[error(transparent)]
    Fit(#[from] FitError),
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("model file is not valid JSON for this model")]
    Json(#[source] serde_json::Error),
    #[error(
        "model has format version {format} and feature schema version {schema}; \
         this build reads format {FORMAT_VERSION} with schema {SCHEMA_VERSION}: retrain the model"
    )]
    Version { format: u32, schema: u32 },
    #[error("model is inconsistent: {0}")]
    Invalid(String),
}

/// What the model says about one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyScore {
    pub score: f64,
    pub threshold: f64,
    pub anomalous: bool,
    /// Up to three (feature, value, deviation) that stand out most, largest first.
    pub top: Vec<(&'static str, f32, f32)>,
}

impl Model {
    /// Trains on requests taken as normal: learns route profiles, extracts
    /// features against them, fits the forest, and puts the threshold at
    /// the `1 - target_fpr` quantile of the training scores.
    pub fn train(
        requests: &[Request],
        params: &ForestParams,
        target_fpr: f64,
        created_ms: u64,
    ) -> Result<Model, TrainError> {
        check_target(target_fpr)?;
        let samples: Vec<Sample> = requests.iter().map(Sample::of).collect();
        Self::train_samples(&samples, params, target_fpr, created_ms)
    }

    /// [`train`](Self::train) on what was kept of the requests.
    pub fn train_samples(
        samples: &[Sample],
        params: &ForestParams,
        target_fpr: f64,
        created_ms: u64,
    ) -> Result<Model, TrainError> {
        check_target(target_fpr)?;
        if samples.is_empty() {
            return Err(FitError::Empty.into());
        }
        // Profiles need every request's arguments before any request's
        // route features can be computed.
        let mut learner = Learner::default();
        for s in samples {
            s.learn_into(&mut learner);
        }
        let routes = learner.finish(RouteParams::default());
        let vectors: Vec<Features> = samples.iter().map(|s| s.features(&routes)).collect();
        Self::from_vectors(&vectors, routes, params, target_fpr, created_ms)
    }

    /// Trains on vectors already extracted against `routes`.
    pub fn from_vectors(
        vectors: &[Features],
        routes: RouteProfiles,
        params: &ForestParams,
        target_fpr: f64,
        created_ms: u64,
    ) -> Result<Model, TrainError> {
        check_target(target_fpr)?;
        let forest = Forest::fit(vectors, params)?;
        let mut scores: Vec<f64> = vectors.iter().map(|v| forest.score(v)).collect();
        scores.sort_by(f64::total_cmp);
        let q = |p: f64| round9(quantile(&scores, p));
        Ok(Model {
            format_version: FORMAT_VERSION,
            schema_version: SCHEMA_VERSION,
            created_ms,
            fingerprint: fingerprint(vectors),
            params: *params,
            samples: vectors.len(),
            // Rounded up, so training scores at the quantile stay at or below it.
            threshold: round9(quantile(&scores, 1.0 - target_fpr) + 0.5e-9),
            target_fpr,
            forest,
            routes,
            feature_stats: feature_stats(vectors),
            score_quantiles: ScoreQuantiles {
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
                max: q(1.0),
            },
        })
    }

    /// The request's features against this model's routes.
    pub fn features(&self, req: &Request) -> Features {
        features::extract(req, &self.routes)
    }

    pub fn score(&self, req: &Request) -> AnomalyScore {
        self.score_features(&self.features(req))
    }

    /// The score of the request a sample was taken from.
    pub fn score_sample(&self, s: &Sample) -> AnomalyScore {
        self.score_features(&s.features(&self.routes))
    }

    /// [`score`](Self::score), reusing the engine's parse of the body (the
    /// transaction's values) where it gives the same features.
    pub fn score_with_body(&self, req: &Request, body: &[crate::request::Value]) -> AnomalyScore {
        self.score_features(&features::extract_with(req, Some(body), &self.routes))
    }

    /// `top` is simply the largest robust deviations. Restricting it to the
    /// features on the isolating paths was tried on paper and rejected:
    /// 100 paths of about eight splits touch nearly every feature, so the
    /// restriction names almost nothing out, and it would cost a second walk.
    pub fn score_features(&self, x: &Features) -> AnomalyScore {
        let score = self.forest.score(x);
        let mut dev: Vec<(usize, f32)> = (0..N)
            .map(|i| (i, self.feature_stats[i].deviation(x[i])))
            .filter(|(_, d)| *d > 0.0)
            .collect();
        dev.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        AnomalyScore {
            score,
            threshold: self.threshold,
            anomalous: score > self.threshold,
            top: dev
                .into_iter()
                .take(3)
                .map(|(i, d)| (FEATURE_NAMES[i], x[i], d))
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model serializes (finite numbers, string keys)")
    }

    /// Reads a model, refusing one of another format or feature schema
    /// version before looking at the rest (its layout may differ).
    pub fn from_json(text: &str) -> Result<Model, LoadError> {
        #[derive(Deserialize)]
        struct Versions {
            format_version: u32,
            schema_version: u32,
        }
        let v: Versions = serde_json::from_str(text).map_err(LoadError::Json)?;
        if v.format_version != FORMAT_VERSION || v.schema_version != SCHEMA_VERSION {
            return Err(LoadError::Version {
                format: v.format_version,
                schema: v.schema_version,
            });
        }
        let m: Model = serde_json::from_str(text).map_err(LoadError::Json)?;
        if m.feature_stats.len() != N {
            return Err(LoadError::Invalid(format!(
                "{} feature statistics for {N} features",
                m.feature_stats.len()
            )));
        }
        if !(m.threshold.is_finite() && m.target_fpr > 0.0 && m.target_fpr < 1.0) {
            return Err(LoadError::Invalid(
                "threshold or target_fpr out of range".into(),
            ));
        }
        Ok(m)
    }
}

/// A false-positive rate to set the threshold by: strictly between 0 and 1.
/// Checked before any work in [`Model::train`], and again for direct callers of
/// [`Model::from_vectors`].
fn check_target(target_fpr: f64) -> Result<(), TrainError> {
    if target_fpr > 0.0 && target_fpr < 1.0 {
        Ok(())
    } else {
        Err(TrainError::TargetFpr(target_fpr))
    }
}

/// The `p` quantile of sorted `v` (nearest rank: the smallest value with at
/// least `p` of the values at or below it). `v` must not be empty.
pub fn quantile(v: &[f64], p: f64) -> f64 {
    let rank = (p * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// To 9 decimals: a short decimal that serde_json reads back as exactly the
/// same f64 (its default parser is not exact for 17-digit numbers), so a
/// model survives a JSON round trip unchanged.
fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

fn fingerprint(vectors: &[Features]) -> String {
    let mut h = crate::fnv::Fnv::default();
    for v in vectors {
        for x in v {
            h.write(&x.to_bits().to_le_bytes());
        }
    }
    format!("{:016x}", h.finish())
}

fn feature_stats(vectors: &[Features]) -> Vec<FeatureStat> {
    let n = vectors.len();
    let mut col = Vec::with_capacity(n);
    (0..N)
        .map(|f| {
            col.clear();
            col.extend(vectors.iter().map(|v| {
                let x = v[f];
                f64::from(if x.is_nan() {
                    0.0
                } else {
                    x.clamp(-1e30, 1e30)
                })
            }));
            col.sort_by(f64::total_cmp);
            let mean = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
            FeatureStat {
                median: quantile(&col, 0.5) as f32,
                iqr: (quantile(&col, 0.75) - quantile(&col, 0.25)) as f32,
                mean: mean as f32,
                std: var.sqrt() as f32,
            }
        })
        .collect()
}
