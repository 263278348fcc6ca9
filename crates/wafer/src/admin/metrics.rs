//! `GET /metrics` in the Prometheus text format.
//!
//! Rendered from Wafer's own counters rather than through the `metrics`
//! facade: its recorder is process-global, and several Wafer instances in one
//! process (the tests run many) must each report their own numbers.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use wafer_engine::Class;

use super::AdminState;
use crate::traffic::{Histogram, LATENCY_BOUNDS_US};

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
    );
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let counts = h.counts();
    let mut cum = 0;
    for (bound, c) in LATENCY_BOUNDS_US.iter().zip(&counts) {
        cum += c;
        if *bound == u64::MAX {
            let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cum}");
        } else {
            let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cum}", *bound as f64 / 1e6);
        }
    }
    let _ = writeln!(out, "{name}_sum {}", h.sum_us() as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {cum}");
}

/// The proxy's and the admin listener's connections (`proxy::conn`).
fn connections(out: &mut String, s: &AdminState) {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let (p, a) = (&s.proxy_connections, &s.admin_connections);
    for (name, help, values) in [
        (
            "wafer_connections_open",
            "Client connections open now.",
            [p.open() as u64, a.open() as u64],
        ),
        (
            "wafer_connections_refused_total",
            "Connections refused at the connection cap (503, then closed).",
            [load(&p.refused), load(&a.refused)],
        ),
        (
            "wafer_connections_timed_out_total",
            "Connections closed for sending no complete request in time, or idle too long.",
            [load(&p.timed_out), load(&a.timed_out)],
        ),
        (
            "wafer_connections_write_stalled_total",
            "Connections closed because the client read nothing of a response for the write-stall limit.",
            [load(&p.write_stalled), load(&a.write_stalled)],
        ),
        (
            "wafer_accept_errors_total",
            "Failed accepts (out of file descriptors and the like).",
            [load(&p.accept_errors), load(&a.accept_errors)],
        ),
    ] {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (listener, v) in ["proxy", "admin"].into_iter().zip(values) {
            let _ = writeln!(out, "{name}{{listener=\"{listener}\"}} {v}");
        }
    }
    gauge(
        out,
        "wafer_connections_max",
        "The proxy's connection cap.",
        s.proxy_connections.max() as u64,
    );
    counter(
        out,
        "wafer_request_body_too_slow_total",
        "Request bodies refused with 408 for arriving under the minimum rate.",
        load(&s.proxy_connections.slow_bodies),
    );
}

pub(crate) fn render(s: &AdminState) -> String {
    let mut out = String::with_capacity(8192);
    requests(&mut out, s);
    events(&mut out, s);
    connections(&mut out, s);
    guard(&mut out, s);
    anomaly(&mut out, s);
    out
}

fn load(a: &std::sync::atomic::AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// Requests, responses and their timings (`traffic`).
fn requests(out: &mut String, s: &AdminState) {
    let t = &s.traffic;
    let snap = t.snapshot();
    let _ = writeln!(
        out,
        "# HELP wafer_requests_total Requests by decision.\n# TYPE wafer_requests_total counter"
    );
    for (action, v) in [
        ("allow", snap.allowed),
        ("flag", snap.flagged),
        ("block", snap.blocked),
    ] {
        let _ = writeln!(out, "wafer_requests_total{{action=\"{action}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP wafer_site_requests_total Requests by site and decision.\n# TYPE wafer_site_requests_total counter"
    );
    for (site, c) in t.sites() {
        // Site names are letters, digits, `-`, `_` and `.` (the config checks): nothing to escape.
        for (action, v) in [
            ("allow", &c.allowed),
            ("flag", &c.flagged),
            ("block", &c.blocked),
        ] {
            let _ = writeln!(
                out,
                "wafer_site_requests_total{{site=\"{site}\",action=\"{action}\"}} {}",
                load(v)
            );
        }
    }
    let pools: Vec<(String, Arc<crate::proxy::pool::Pool>)> = s
        .keeper
        .sites
        .load()
        .iter()
        .map(|site| (site.name.to_string(), Arc::clone(&site.pool)))
        .collect();
    upstream_servers(out, &pools);
    if let Some(acme) = &s.acme {
        acme_certificates(out, &acme.status());
    }
    counter(
        out,
        "wafer_misdirected_requests_total",
        "Requests for a host name no site serves (421).",
        load(&t.misdirected),
    );
    let _ = writeln!(
        out,
        "# HELP wafer_requests_by_class_total Requests with a finding of each class.\n# TYPE wafer_requests_by_class_total counter"
    );
    for (c, v) in Class::ALL.iter().zip(&snap.by_class) {
        let _ = writeln!(
            out,
            "wafer_requests_by_class_total{{class=\"{}\"}} {v}",
            c.as_str()
        );
    }
    let _ = writeln!(
        out,
        "# HELP wafer_responses_total Responses by status.\n# TYPE wafer_responses_total counter"
    );
    for (status, v) in t.statuses() {
        let _ = writeln!(out, "wafer_responses_total{{status=\"{status}\"}} {v}");
    }
    counter(
        out,
        "wafer_request_bytes_total",
        "Request body bytes (declared).",
        snap.bytes_in,
    );
    counter(
        out,
        "wafer_response_bytes_total",
        "Response body bytes (declared).",
        snap.bytes_out,
    );
    histogram(
        out,
        "wafer_request_duration_seconds",
        "Time from request to response head.",
        &t.total,
    );
    histogram(
        out,
        "wafer_inspection_duration_seconds",
        "Time in the inspection engine.",
        &t.inspect,
    );
    histogram(
        out,
        "wafer_upstream_duration_seconds",
        "Upstream time to response head.",
        &t.upstream,
    );
}

/// The event bus and its consumers.
fn events(out: &mut String, s: &AdminState) {
    let e = s.events.stats();
    counter(
        out,
        "wafer_events_published_total",
        "Events published on the bus.",
        load(&e.published),
    );
    counter(
        out,
        "wafer_events_dropped_total",
        "Events a full queue could not take.",
        load(&e.dropped),
    );
    counter(
        out,
        "wafer_events_sampled_total",
        "Events of flooding clients left out by per-client sampling (the requests were still decided).",
        load(&e.sampled),
    );
    let (store_q, file_q) = s.events.queued_bytes();
    gauge(
        out,
        "wafer_events_store_queue_bytes",
        "Bytes of events waiting for the store.",
        store_q as u64,
    );
    gauge(
        out,
        "wafer_events_output_queue_bytes",
        "Bytes of events waiting for the output (stdout or file).",
        file_q as u64,
    );
    counter(
        out,
        "wafer_events_stored_total",
        "Events written to the store.",
        load(&e.stored),
    );
    counter(
        out,
        "wafer_events_store_failed_total",
        "Events the store refused for good.",
        load(&e.store_failed),
    );
    let lag = load(&e.published)
        .saturating_sub(load(&e.stored) + load(&e.store_dropped) + load(&e.store_failed));
    gauge(
        out,
        "wafer_store_lag_events",
        "Events published but not yet stored.",
        lag,
    );
    gauge(
        out,
        "wafer_live_subscribers",
        "Open live streams (SSE and WebSocket).",
        s.events.subscribers() as u64,
    );
}

/// The door's rate limits and the cluster's Redis.
fn guard(out: &mut String, s: &AdminState) {
    let lim = &s.door.limiter().stats;
    counter(
        out,
        "wafer_rate_limited_total",
        "Requests refused with 429.",
        load(&lim.limited),
    );
    if let Some(r) = &s.keeper.redis {
        counter(
            out,
            "wafer_redis_errors_total",
            "Redis calls that failed or did not answer in time.",
            load(&r.errors),
        );
    }
    counter(
        out,
        "wafer_rate_limit_fallbacks_total",
        "Rate-limit checks decided by this node alone because Redis was unreachable.",
        load(&lim.fallbacks),
    );
    if let Some(up) = s.door.limiter().redis_up() {
        gauge(
            out,
            "wafer_redis_up",
            "1 while the shared rate limits are in Redis.",
            u64::from(up),
        );
    }
}

fn anomaly(out: &mut String, s: &AdminState) {
    let scores = &s.anomaly.scores;
    counter(
        out,
        "wafer_anomaly_scored_total",
        "Requests the anomaly model scored.",
        load(&scores.scored),
    );
    counter(
        out,
        "wafer_anomaly_anomalous_total",
        "Requests the anomaly model called anomalous.",
        load(&scores.anomalous),
    );
    if let Some(m) = s.anomaly.active().as_deref() {
        // The version is a file name of [A-Za-z0-9._-]: safe as a label value.
        let _ = writeln!(
            out,
            "# HELP wafer_anomaly_model_info The anomaly model in use.\n# TYPE wafer_anomaly_model_info gauge\nwafer_anomaly_model_info{{version=\"{}\",learning=\"{}\"}} 1",
            m.version, m.learning
        );
    }
}

pub(crate) async fn metrics(State(s): State<Arc<AdminState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&s),
    )
        .into_response()
}

/// A per-server series: its name, type, help and value.
type ServerSeries<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a dyn Fn(&crate::proxy::pool::Server) -> u64,
);

/// Each site's upstream servers: up by their checks, ejected, in flight, requests and failures.
/// Each ACME site's certificate end, and whether its last order failed.
fn acme_certificates(
    out: &mut String,
    status: &std::collections::HashMap<String, crate::acme::CertStatus>,
) {
    let mut sites: Vec<_> = status.iter().collect();
    sites.sort_by(|a, b| a.0.cmp(b.0));
    type Value = fn(&crate::acme::CertStatus) -> u64;
    let series: [(&str, &str, Value); 2] = [
        (
            "wafer_acme_certificate_expiry_seconds",
            "When the site's ACME certificate ends (Unix time; 0: none yet).",
            |st| st.not_after_ms.unwrap_or(0) / 1000,
        ),
        (
            "wafer_acme_order_failing",
            "1 when the site's last certificate order failed (it is retried).",
            |st| u64::from(st.last_error.is_some()),
        ),
    ];
    for (name, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (site, st) in &sites {
            let site = site.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{site=\"{site}\"}} {}", value(st));
        }
    }
}

fn upstream_servers(out: &mut String, pools: &[(String, Arc<crate::proxy::pool::Pool>)]) {
    let now = crate::clock::now_ms();
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let series: [ServerSeries; 5] = [
        (
            "wafer_upstream_server_up",
            "gauge",
            "1 when the server takes requests (its checks pass and it is not ejected).",
            &|s| u64::from(s.available(now)),
        ),
        (
            "wafer_upstream_server_in_flight",
            "gauge",
            "Requests sent to the server and not yet answered.",
            &|s| s.active.load(Ordering::Relaxed) as u64,
        ),
        (
            "wafer_upstream_requests_total",
            "counter",
            "Requests sent to the server.",
            &|s| s.requests.load(Ordering::Relaxed),
        ),
        (
            "wafer_upstream_failures_total",
            "counter",
            "Connect failures and 5xx answers from the server.",
            &|s| s.failures.load(Ordering::Relaxed),
        ),
        (
            "wafer_upstream_ejections_total",
            "counter",
            "Times the server was taken out for failing requests in a row.",
            &|s| s.ejections.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (site, pool) in pools {
            for s in pool.servers() {
                let _ = writeln!(
                    out,
                    "{name}{{site=\"{}\",server=\"{}\"}} {}",
                    label(site),
                    label(&s.uri.to_string()),
                    value(s)
                );
            }
        }
    }
}
