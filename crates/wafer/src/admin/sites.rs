//! `GET /api/sites`: each site as it is served now: its names, mode, and
//! each upstream server's state (the dashboard's Sites panel, and what
//! `/metrics` says per server, in one document).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AdminState;
use crate::proxy::pool::Balance;

pub(crate) async fn list(State(s): State<Arc<AdminState>>) -> Json<Value> {
    let sites = s.keeper.sites.load();
    let now = crate::clock::now_ms();
    let default = sites.default_index();
    let acme = s.acme.as_ref().map(|a| a.status()).unwrap_or_default();
    let list: Vec<Value> = sites
        .iter()
        .enumerate()
        .map(|(i, site)| {
            let protection = site.protection.snapshot();
            let policy = protection.engine.policy();
            let servers: Vec<Value> = site
                .pool
                .servers()
                .iter()
                .map(|srv| {
                    // One word for the dashboard: why a server takes no requests.
                    let state = if !srv.is_up() {
                        "down"
                    } else if srv.is_ejected(now) {
                        "ejected"
                    } else {
                        "up"
                    };
                    json!({
                        "url": srv.uri.to_string(),
                        "weight": srv.weight,
                        "state": state,
                        "in_flight": srv.active.load(Ordering::Relaxed),
                        "requests": srv.requests.load(Ordering::Relaxed),
                        "failures": srv.failures.load(Ordering::Relaxed),
                        "ejections": srv.ejections.load(Ordering::Relaxed),
                    })
                })
                .collect();
            json!({
                "name": &*site.name,
                "hosts": site.hosts.iter().map(|h| h.as_text()).collect::<Vec<_>>(),
                "default": default == Some(i),
                "mode": policy.mode,
                "threshold": policy.threshold,
                "https_redirect": site.redirect_https.is_some(),
                "hsts": site.hsts.is_some(),
                "balance": balance_name(site.pool.balance()),
                "servers": servers,
                // Sites whose certificate comes from ACME: its end, and the last failure.
                "acme": acme.get(&*site.name),
            })
        })
        .collect();
    Json(json!({ "sites": list }))
}

fn balance_name(b: &Balance) -> String {
    match b {
        Balance::RoundRobin => "round_robin".into(),
        Balance::LeastConnections => "least_connections".into(),
        Balance::HashClient => "hash_client".into(),
        Balance::HashHeader(h) => format!("hash_header:{h}"),
    }
}
