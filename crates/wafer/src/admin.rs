//! The admin listener: the API, live streams and metrics, on its own address
//! (loopback by default), never on the proxy port, and only for holders of
//! the admin token.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use tokio::sync::broadcast;

use crate::anomaly::AnomalyState;
use crate::events::Publisher;
use crate::guard::door::Door;
use crate::proxy::conn::Connections;
use crate::store::Store;
use crate::traffic::Second;

pub(crate) mod api;
pub(crate) mod apps;
pub(crate) mod auth;
pub(crate) mod bans;
pub(crate) mod csrf;
pub(crate) mod dashboard;
pub(crate) mod keeper;
pub(crate) mod live;
pub(crate) mod login;
pub(crate) mod metrics;
pub(crate) mod model;
pub(crate) mod openapi;
pub(crate) mod policy;
pub(crate) mod policy_routes;
pub(crate) mod policy_sync;
pub(crate) mod sites;
pub(crate) mod suggestions;
pub(crate) mod throttle;

pub(crate) use auth::Auth;

/// What the admin handlers share: the parts of the node they read or change.
pub(crate) struct AdminState {
    pub store: Arc<dyn Store>,
    /// The policy in force, and how a change to it is saved and shared.
    pub keeper: Arc<keeper::PolicyKeeper>,
    /// Bans (listed, added, lifted here) and the rate limiter's counters.
    pub door: Arc<Door>,
    pub anomaly: Arc<AnomalyState>,
    pub events: Publisher,
    /// Counters of all traffic (`/metrics`).
    pub traffic: Arc<crate::traffic::Traffic>,
    /// The proxy's client connections (`/metrics`).
    pub proxy_connections: Arc<Connections>,
    /// This listener's own (`/metrics`).
    pub admin_connections: Arc<Connections>,
    /// Requests that look like each profiled application's (`GET /api/apps`).
    pub sightings: Arc<crate::sightings::Sightings>,
    pub telemetry: broadcast::Sender<Arc<Second>>,
    pub auth: Auth,
    /// When this process started (Unix ms), for `/api/info`.
    pub started_ms: u64,
    /// This node's name (the store's `node` column).
    pub node: String,
    /// Where trained anomaly models live.
    pub models_dir: PathBuf,
    /// The ACME client, with HTTPS (its certificates' state).
    pub acme: Option<Arc<crate::acme::Acme>>,
}

pub(crate) fn router(state: Arc<AdminState>) -> Router {
    let protected = Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard", get(dashboard::redirect))
        .route("/dashboard/", get(dashboard::index))
        .route("/dashboard/{*file}", get(dashboard::file))
        .route("/api/info", get(info))
        .route("/api/model", get(model::get))
        .route("/api/model/activate", axum::routing::post(model::activate))
        .route("/api/model/rollback", axum::routing::post(model::rollback))
        .route("/api/events", get(api::events))
        .route("/api/events/{id}", get(api::event))
        .route("/api/stats", get(api::stats))
        .route("/api/export", get(api::export))
        .route(
            "/api/policy",
            get(policy_routes::get).put(policy_routes::put),
        )
        .route(
            "/api/policy/exclusions",
            axum::routing::post(policy_routes::add_exclusion),
        )
        .route("/api/policy/ip", axum::routing::post(policy_routes::add_ip))
        .route("/api/suggestions", get(suggestions::list))
        .route(
            "/api/suggestions/accept",
            axum::routing::post(suggestions::accept),
        )
        .route("/api/apps", get(apps::list))
        .route("/api/sites", get(sites::list))
        .route("/api/rules", get(rules))
        .route("/api/bans", get(bans::list).post(bans::add))
        .route("/api/bans/{ip}", axum::routing::delete(bans::lift))
        .route("/api/openapi.json", get(openapi_json))
        .route("/events", get(live::sse))
        .route("/ws", get(live::ws))
        .route("/metrics", get(metrics::metrics))
        .route("/logout", axum::routing::post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require,
        ));
    Router::new()
        .route("/login", get(login::login_page).post(login::login))
        .merge(protected)
        .fallback(not_found)
        // Policy documents and login forms are small; nothing else has a body.
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .with_state(state)
}

/// Serves until `shutdown` resolves. The listener has its own connection
/// cap (`state.admin_connections`) and the proxy's client timeouts (`t`), so
/// a flood of connections to the proxy, or to this port, leaves it usable.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AdminState>,
    t: &crate::proxy::Timeouts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use crate::proxy::idle;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

    let conns = Arc::clone(&state.admin_connections);
    let limits = idle::Limits {
        first: t.client_header,
        idle: t.client_idle,
        write_stall: t.client_body,
    };
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(t.client_header);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let app = hyper_util::service::TowerToHyperService::new(router(state));
    crate::proxy::conn::accept_loop(
        &listener,
        &conns,
        "admin",
        shutdown,
        |stream, peer, slot| {
            let (io, activity) = idle::Watched::new(stream, slot, limits);
            let app = app.clone();
            let service =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    let busy = activity.begin();
                    // What `axum::serve` with connect info gives handlers: the peer address.
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    let answered = hyper::service::Service::call(&app, req);
                    async move { answered.await.map(|resp| idle::finish(resp, busy)) }
                });
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(io), service)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        },
    )
    .await;
    drop(listener);
    // Live streams never end on their own: they are given a moment, then dropped.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), graceful.shutdown()).await;
    Ok(())
}

async fn not_found() -> Response {
    api::ApiError::new(
        StatusCode::NOT_FOUND,
        "no such admin route (see /api/openapi.json)",
    )
    .into_response()
}

async fn openapi_json() -> Response {
    Json(openapi::document()).into_response()
}

/// Every rule and detector check of the primary site's engine: id, class,
/// severity, level, description, CRS counterparts and tags (what `wafer
/// rules list --json` prints), so that the dashboard names rules.
async fn rules(State(s): State<Arc<AdminState>>) -> Response {
    let p = s.keeper.primary();
    let mut r = Json(serde_json::json!({ "rules": p.engine.rule_infos() })).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, max-age=60"),
    );
    r
}

/// What this node is: for the dashboard's header and for support questions.
async fn info(State(s): State<Arc<AdminState>>) -> Response {
    let p = s.keeper.primary();
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "node": s.node,
        "started_ms": s.started_ms,
        "store": s.store.kind(),
        "rules": p.engine.rule_infos().len(),
        "mode": p.engine.policy().mode.to_string(),
        "paranoia": p.engine.policy().paranoia,
    }))
    .into_response()
}
