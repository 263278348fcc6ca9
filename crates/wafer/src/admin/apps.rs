//! `GET /api/apps`: the application profiles Wafer knows, which are in force,
//! and which the traffic suggests (requests matching a profile's fingerprint,
//! counted since start; proposed past [`PROPOSE_AFTER`] when not in force).
//! Enabling one is a policy change (`apps` in `PUT /api/policy`), never automatic.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wafer_engine::apps;

use super::AdminState;
use crate::sightings::PROPOSE_AFTER;

pub(crate) async fn list(State(s): State<Arc<AdminState>>) -> Response {
    let p = s.keeper.primary();
    let enabled = &p.engine.policy().apps;
    let seen = s.sightings.counts();
    Json(document(enabled, &seen)).into_response()
}

/// The answer, apart from the handler so that it can be checked directly.
pub(crate) fn document(enabled: &[String], seen: &[(&str, u64)]) -> Value {
    let profiles = apps::builtin().unwrap_or_default();
    let list: Vec<Value> = profiles
        .iter()
        .map(|p| {
            let on = enabled.contains(&p.name);
            let n = seen
                .iter()
                .find(|(name, _)| *name == p.name)
                .map_or(0, |(_, n)| *n);
            let relaxes: Vec<Value> = p
                .entries()
                .map(|(kind, r)| {
                    json!({
                        "kind": kind.as_str(),
                        "about": r.about,
                        "paths": r.paths,
                        "args": r.args,
                        "classes": r.classes,
                        "headers": r.headers,
                        "needs_session": kind != apps::Kind::SelfUrl,
                    })
                })
                .collect();
            json!({
                "name": p.name,
                "title": p.title,
                "about": p.about,
                "enabled": on,
                "seen": n,
                "proposed": !on && n >= PROPOSE_AFTER,
                "sessions": p.sessions,
                "fingerprint": {"paths": p.fingerprint.paths, "cookies": p.fingerprint.cookies},
                "relaxes": relaxes,
            })
        })
        .collect();
    json!({"propose_after": PROPOSE_AFTER, "apps": list})
}

#[cfg(test)]
mod tests {
    #[test]
    fn enabled_seen_and_proposed() {
        let d = super::document(
            &["wordpress".into()],
            &[("wordpress", 500), ("jupyterlab", 40), ("grafana", 3)],
        );
        let get = |n: &str| {
            d["apps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == n)
                .unwrap()
                .clone()
        };
        let wp = get("wordpress");
        assert_eq!(
            (wp["enabled"].as_bool(), wp["proposed"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(get("jupyterlab")["proposed"], true);
        assert_eq!(get("grafana")["proposed"], false, "too few requests");
        assert_eq!(
            d["apps"].as_array().unwrap().len(),
            wafer_engine::apps::names().len()
        );
        assert!(
            wp["relaxes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["headers"][0] == "x-wp-nonce")
        );
    }
}
