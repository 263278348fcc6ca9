//! Bans over HTTP: list, add, lift (shared through Redis in a cluster).

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AdminState;
use super::api::{ApiError, ApiResult};

pub(crate) async fn list(State(s): State<Arc<AdminState>>) -> Response {
    let p = s.door.bans().policy;
    Json(json!({
        "bans": s.door.bans().list(),
        "policy": {"after": p.after, "within_secs": p.within_ms / 1000, "minutes": p.duration_ms / 60_000},
        "shared": s.keeper.redis.is_some(),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BanAdd {
    ip: String,
    /// Default: the configured ban length.
    minutes: Option<u64>,
    reason: Option<String>,
}

pub(crate) async fn add(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let a: BanAdd = serde_json::from_slice(&body).map_err(|e| bad(format!("ban: {e}")))?;
    let ip: IpAddr =
        a.ip.trim()
            .parse()
            .map_err(|_| bad(format!("ip: {:?} is not an IP address", a.ip)))?;
    let minutes = a
        .minutes
        .unwrap_or(s.door.bans().policy.duration_ms / 60_000);
    if !(1..=43_200).contains(&minutes) {
        return Err(bad("minutes: 1 to 43200 (30 days)".into()));
    }
    let reason = a
        .reason
        .unwrap_or_else(|| "banned through the admin API".into());
    let reason = wafer_engine::finding::excerpt(reason.trim(), 0, 200);
    let ban = s.door.bans().add(ip, minutes * 60_000, reason).await;
    tracing::info!(%ip, minutes, "client banned through the admin API");
    Ok((StatusCode::CREATED, Json(ban)).into_response())
}

pub(crate) async fn lift(
    State(s): State<Arc<AdminState>>,
    Path(ip): Path<String>,
) -> ApiResult<Response> {
    let ip: IpAddr = ip.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{ip:?} is not an IP address"),
        )
    })?;
    let names = s.keeper.names();
    let sites: Vec<&str> = names.iter().map(String::as_str).collect();
    if s.door.bans().lift(ip, &sites).await {
        tracing::info!(%ip, "ban lifted through the admin API");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{ip} is not banned"),
        ))
    }
}
