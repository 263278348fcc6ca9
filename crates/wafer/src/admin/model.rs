//! The anomaly model over HTTP: what is active, what it scored lately, the
//! trained models there are, and activate / roll back (the same files the
//! `wafer model` commands change, swapped in at once).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AdminState;
use super::api::{ApiError, ApiResult};
use crate::anomaly::models::ModelInfo;
use crate::anomaly::{ActiveModel, ModelError, ModelsDir};

fn error(e: ModelError) -> ApiError {
    let status = match e {
        ModelError::NotFound(_) => StatusCode::NOT_FOUND,
        ModelError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ModelError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(error)
}

pub(crate) async fn get(State(s): State<Arc<AdminState>>) -> ApiResult<Response> {
    let active = s.anomaly.active();
    let policy = s.keeper.primary().engine.policy().anomaly;
    let dir = ModelsDir::new(&s.models_dir);
    let models: Vec<ModelInfo> = blocking(move || dir.list())
        .await?
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    let scores = &s.anomaly.scores;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    Ok(Json(json!({
        "available": active.is_some(),
        "message": if active.is_some() { "" } else { "No anomaly model is loaded: requests are scored by signatures and detectors only." },
        "active": active.as_deref().map(|m| json!({
            "info": ModelInfo::of(&m.version, &m.model),
            "trees": m.model.forest.trees(),
            "routes": m.model.routes.routes.len(),
            "features": wafer_engine::anomaly::FEATURE_NAMES.as_slice(),
        })),
        "learning": active.as_deref().is_some_and(|m| m.learning),
        "learned": s.anomaly.learner.status(),
        "mode": policy.mode.to_string(),
        "threshold_override": policy.threshold,
        "recent": {
            "scored": scores.scored.load(relaxed),
            "anomalous": scores.anomalous.load(relaxed),
            "bins": scores.bins(),
            "bin_width": 0.05,
        },
        "models": models,
        "models_dir": s.models_dir.display().to_string(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Activate {
    version: String,
}

pub(crate) async fn activate(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let a: Activate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("activation: {e}")))?;
    let dir = ModelsDir::new(&s.models_dir);
    let version = a.version.clone();
    let model = blocking(move || dir.activate(&version)).await?;
    swap(&s, a.version, model);
    get(State(s)).await
}

pub(crate) async fn rollback(State(s): State<Arc<AdminState>>) -> ApiResult<Response> {
    let dir = ModelsDir::new(&s.models_dir);
    let (version, model) = blocking(move || dir.rollback()).await?;
    swap(&s, version, model);
    get(State(s)).await
}

fn swap(s: &AdminState, version: String, model: wafer_engine::anomaly::Model) {
    tracing::info!(%version, "anomaly model activated through the admin API");
    s.anomaly.activate(ActiveModel {
        version,
        model,
        learning: false,
    });
}
