//! Suggested exclusions over HTTP: `GET /api/suggestions` lists them with
//! their evidence and preview (see [`crate::suggest`]); `POST
//! /api/suggestions/accept` names one by id, recomputes the list with the same
//! parameters (so that what is accepted is still supported by the evidence),
//! and adds its exclusion through the policy's one way of changing. Both are
//! per site (`site`, default: the primary one): a site's suggestions come from
//! its own events, are measured against its own policy, and go into it.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AdminState;
use super::api::{ApiError, ApiResult, pairs};
use crate::guard::GuardDecision;
use crate::store::filter;
use crate::suggest::{self, MAX_EVENTS_LIMIT, Params, Report};

fn bad(name: &str, msg: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("bad parameter {name:?}: {msg}"),
    )
}

/// The parameters, from the query string or the accept body (same names).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    site: Option<String>,
    min_clients: Option<String>,
    window: Option<String>,
    max_events: Option<String>,
}

impl Knobs {
    fn params(&self, now_ms: u64) -> ApiResult<Params> {
        let mut p = Params::new(now_ms);
        p.site = self.site.clone();
        if let Some(v) = &self.min_clients {
            p.min_clients = v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| bad("min_clients", "a whole number from 1 to 10000"))?;
        }
        if let Some(v) = &self.window {
            p.window_ms = v
                .parse::<u64>()
                .ok()
                .or_else(|| filter::span_ms(v))
                .filter(|&ms| ms >= 60_000)
                .ok_or_else(|| bad("window", "a span of at least 1m: 1h, 7d, 30d, or ms"))?;
        }
        if let Some(v) = &self.max_events {
            p.max_events = v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_EVENTS_LIMIT).contains(n))
                .ok_or_else(|| {
                    bad(
                        "max_events",
                        &format!("a whole number from 1 to {MAX_EVENTS_LIMIT}"),
                    )
                })?;
        }
        Ok(p)
    }
}

/// The suggestions for the site `p` names (the primary one when none), from
/// its events and against its policy; with the site's name.
async fn report(s: &AdminState, mut p: Params) -> ApiResult<(String, Report)> {
    let (name, live) = s.keeper.site(p.site.as_deref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no site is named {:?} (GET /api/sites lists them)",
                p.site.as_deref().unwrap_or_default()
            ),
        )
    })?;
    // With one site every event is its own, those recorded before events
    // carried a site (`''`) too.
    p.site = (s.keeper.names().len() > 1).then(|| name.clone());
    let protection = live.snapshot();
    let door = Arc::clone(&s.door);
    let lists = protection.ip_lists.clone();
    // Banned now, or on the policy's block list: their requests are no evidence.
    let banned = Arc::new(move |ip: IpAddr| {
        door.bans().banned(ip).is_some() || lists.check(ip) == GuardDecision::Block
    });
    let policy = protection.engine.policy().clone();
    let report = suggest::suggest(&*s.store, policy, banned, &p).await?;
    Ok((name, report))
}

pub(crate) async fn list(
    State(s): State<Arc<AdminState>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut k = Knobs::default();
    for (name, v) in pairs(q.as_deref())? {
        match name.as_str() {
            "site" => k.site = Some(v),
            "min_clients" => k.min_clients = Some(v),
            "window" => k.window = Some(v),
            "max_events" => k.max_events = Some(v),
            other => {
                return Err(bad(
                    other,
                    "unknown (site, min_clients, window, max_events)",
                ));
            }
        }
    }
    let p = k.params(crate::clock::now_ms())?;
    Ok(Json(report(&s, p).await?.1).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Accept {
    id: String,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    min_clients: Option<serde_json::Value>,
    #[serde(default)]
    window: Option<serde_json::Value>,
    #[serde(default)]
    max_events: Option<serde_json::Value>,
}

/// A number or a string, as text (the dashboard sends what the list was asked with).
fn text(v: Option<serde_json::Value>) -> Option<String> {
    v.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

pub(crate) async fn accept(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let a: Accept = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("suggestion: {e}")))?;
    let k = Knobs {
        site: a.site,
        min_clients: text(a.min_clients),
        window: text(a.window),
        max_events: text(a.max_events),
    };
    let (site, report) = report(&s, k.params(crate::clock::now_ms())?).await?;
    let found = report
        .suggestions
        .into_iter()
        .find(|x| x.id == a.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no suggestion {:?} now: already accepted, covered by the policy, or no longer supported by the events",
                    wafer_engine::finding::excerpt(&a.id, 0, 80)
                ),
            )
        })?;
    let exclusion = found.exclusion.clone();
    let (_, policy) = super::policy_routes::commit(&s, Some(&site), None, move |d| {
        if !d.exclusions.contains(&exclusion) {
            d.exclusions.push(exclusion);
        }
    })
    .await?;
    tracing::info!(id = %found.id, %site, rules = ?found.exclusion.rules, path = %found.path, "suggested exclusion accepted");
    Ok(Json(json!({"accepted": found, "policy": policy})).into_response())
}
