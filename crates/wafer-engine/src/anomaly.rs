//! Anomaly model: how unlike the training traffic is this request?
//!
//! Signatures and detectors know what attacks look like; this knows what
//! *this site's* traffic looks like, and flags what is isolated from it.
//! A request becomes a fixed vector of cheap features ([`features`]: sizes,
//! counts, character classes, a few attack-ish tokens, and how its arguments
//! compare with what its route usually receives, [`route`]); an isolation
//! forest ([`forest`]) trained on normal traffic scores it in (0, 1); the
//! [`Model`] carries the threshold (a quantile of training scores, for a
//! chosen false positive rate) and names the features that stood out.
//!
//! The forest is ours, not a crate's: the IsolationForest crates we looked
//! at draw from an unseeded thread RNG, and a model must be reproducible
//! from its training set and seed (same input, same bytes, same scores), so
//! a retrained model can be compared with the one it replaces.
//!
//! Pure like the rest of the engine: no clock (`created_ms` is an argument),
//! no files (the model is a JSON string in and out), no threads.
//!
//! **Cost:** feature extraction looks at most at 64 arguments, 8 KiB per
//! value, 64 KiB of body; scoring walks 100 trees of depth at most 8.

pub mod features;
pub mod forest;
pub mod model;
pub mod route;
pub mod sample;

#[cfg(test)]
mod tests;

pub use features::{FEATURE_NAMES, Features, N, SCHEMA_VERSION, extract};
pub use forest::{FitError, Forest, ForestParams, SplitMix64};
pub use model::{
    AnomalyScore, DEFAULT_TARGET_FPR, FORMAT_VERSION, FeatureStat, LoadError, Model,
    ScoreQuantiles, TrainError,
};
pub use route::{RouteProfile, RouteProfiles, Shape, route_template};
pub use sample::Sample;
