//! One request, step by step: identify the client, guard (IP lists), inspect
//! the head, inspect the body (bounded), decide, then answer or forward, and
//! record an event for anything blocked or flagged.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, Version, header};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wafer_engine::{Action, BodyPlan, Flow, Transaction};

use super::body::ReplayBody;
use super::client_ip::client_ip;
use super::forward::{self, ForwardInfo};
use super::respond::{self, RespBody};
use super::{Protection, ProxyError, Shared, request_id, websocket};
use crate::events::{Event, RequestFacts};
use crate::guard::{GuardDecision, canonical};

/// What the traffic counters need to know that only the handler knows.
#[derive(Default)]
struct Record {
    action: Option<Action>,
    classes: u32,
    inspect_us: u64,
    upstream_us: Option<u64>,
}

/// The request handler. Never fails: every error becomes a response.
pub(super) async fn handle(
    shared: Arc<Shared>,
    upstream: Arc<super::forward::Upstream>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let start = Instant::now();
    let bytes_in = content_length(req.headers());
    let mut record = Record::default();
    let resp = handle_inner(&shared, &upstream, peer, req, &mut record).await;
    shared.traffic.record(&crate::traffic::Outcome {
        action: record.action.unwrap_or(Action::Block),
        status: resp.status().as_u16(),
        classes: record.classes,
        total_us: start.elapsed().as_micros().try_into().unwrap_or(u64::MAX),
        inspect_us: record.inspect_us,
        upstream_us: record.upstream_us,
        bytes_in,
        bytes_out: content_length(resp.headers()),
    });
    Ok(resp)
}

/// The declared body length (streamed bodies of unknown length count as 0).
fn content_length(h: &http::HeaderMap) -> u64 {
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether an allowed request is kept as an event, at `rate` (0..=1): decided
/// by the request id, which is already uniformly random.
fn sampled(id: &str, rate: f64) -> bool {
    rate >= 1.0
        || (rate > 0.0
            && u32::from_str_radix(id.get(..8).unwrap_or(""), 16)
                .is_ok_and(|x| f64::from(x) < rate * f64::from(u32::MAX)))
}

/// A request refused before inspection.
struct Refusal {
    status: StatusCode,
    /// The event's reason; `None` when this client was already reported lately.
    report: Option<String>,
    /// For 429: when to come back.
    retry_after_us: Option<u64>,
}

/// The checks at the door, in order: IP block lists, bans, countries, rate
/// limits. An allow-listed client skips them all.
async fn at_the_door(
    shared: &Shared,
    guard: GuardDecision,
    client: std::net::IpAddr,
    path: &str,
    headers: &http::HeaderMap,
) -> Option<Refusal> {
    let forbidden = |report: Option<String>| Refusal {
        status: StatusCode::FORBIDDEN,
        report,
        retry_after_us: None,
    };
    match guard {
        GuardDecision::Allow => return None,
        GuardDecision::Block => {
            return Some(forbidden(Some("client IP is on the block list".into())));
        }
        GuardDecision::Inspect => {}
    }
    if let Some(ban) = shared.bans.banned(client) {
        let report = shared
            .bans
            .report(ban.ip)
            .then(|| format!("banned: {}", ban.reason));
        return Some(forbidden(report));
    }
    if let Some(why) = shared.country.as_ref().and_then(|g| g.refuses(client)) {
        return Some(forbidden(Some(why)));
    }
    if shared.limiter.is_empty() {
        return None;
    }
    let l = shared.limiter.check(path, client, headers).await?;
    Some(Refusal {
        status: StatusCode::TOO_MANY_REQUESTS,
        report: l.report.then(|| format!("rate limit {} exceeded", l.limit)),
        retry_after_us: Some(l.retry_after_us),
    })
}

async fn handle_inner(
    shared: &Arc<Shared>,
    upstream: &super::forward::Upstream,
    peer: SocketAddr,
    mut req: http::Request<Incoming>,
    record: &mut Record,
) -> Response<RespBody> {
    let id = request_id::next();
    let cfg = &shared.config;
    let peer_trusted = cfg
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&canonical(peer.ip())));
    let client = client_ip(peer.ip(), req.headers(), &cfg.trusted_proxies);
    let upgrade = websocket::upgrade_of(&req);
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    // What events say of the request is copied only for a request that has one.
    let ts_ms = crate::clock::now_ms();
    let facts =
        |parts: (&http::Method, &http::Uri, &http::HeaderMap)| Facts::of(parts, &id, ts_ms, client);

    let protection = shared.protection.load_full();
    let guard = match &shared.list_files {
        Some(f) => protection.ip_lists.check_both(&f.lists.load(), client),
        None => protection.ip_lists.check(client),
    };
    record.action = Some(Action::Allow);
    if let Some(no) = at_the_door(shared, guard, client, req.uri().path(), req.headers()).await {
        record.action = Some(Action::Block);
        if let Some(reason) = &no.report {
            let facts = facts((req.method(), req.uri(), req.headers()));
            shared.events.publish(Event::guard(
                &facts.borrow(0, req.headers()),
                no.status.as_u16(),
                reason,
            ));
        }
        let resp = match no.retry_after_us {
            Some(us) => respond::limited(us, &id, req.headers()),
            None => respond::blocked(no.status, &id, req.headers()),
        };
        return with_id(resp, &id);
    }

    let (parts, incoming) = req.into_parts();
    let body = if guard == GuardDecision::Allow {
        ReplayBody::streaming(incoming)
    } else {
        let engine = &protection.engine;
        let mut tx = engine.transaction();
        let mut clock = Clock::default();
        let head = engine_head(&parts);
        let flow = clock.time(|| tx.on_request_head(head));
        let body = if flow == Flow::Stop {
            None
        } else {
            match tx.body_plan() {
                BodyPlan::Skip => Some(ReplayBody::streaming(incoming)),
                BodyPlan::Inspect { .. } => {
                    match read_for_inspection(
                        &mut tx,
                        incoming,
                        cfg.timeouts.client_body,
                        &mut clock,
                    )
                    .await
                    {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::info!(request_id = %id, %client, error = %e.chain(), "request body failed");
                            let _ = tx.finish();
                            return with_id(respond::error(e.status(), &id, &parts.headers), &id);
                        }
                    }
                }
            }
        };
        let model = shared.model.load_full();
        let mut to_learn = None;
        match model.as_deref() {
            Some(m) if m.learning => {
                let s = clock.time(|| m.model.score(tx.request()));
                shared.scores.record(s.score, false);
                if shared.learner.takes(tx.request()) {
                    to_learn = Some(tx.request().clone());
                }
            }
            Some(m) => clock.time(|| tx.score_anomaly(&m.model, &m.version)),
            None => {}
        }
        let verdict = tx.finish();
        if let Some(a) = &verdict.anomaly {
            shared.scores.record(a.score, a.anomalous);
        }
        if verdict.action == Action::Allow
            && let Some(set) = to_learn.and_then(|r| shared.learner.offer(r))
        {
            crate::anomaly::learn::finish(
                set,
                crate::anomaly::ModelsDir::new(&shared.learner.dir),
                Arc::clone(shared),
            );
        }
        let inspect_us = clock.total.as_micros().try_into().unwrap_or(u64::MAX);
        record.action = Some(verdict.action);
        record.inspect_us = inspect_us;
        record.classes = crate::traffic::class_bits(verdict.findings.iter().map(|f| &f.class));
        // A block may earn the client a ban: said on this request's own event.
        let ban = match verdict.action {
            Action::Block => shared.bans.strike(client).await,
            _ => None,
        };
        if verdict.action != Action::Allow || sampled(&id, shared.record_all) {
            let facts = facts((&parts.method, &parts.uri, &parts.headers));
            let mut ev = Event::from_verdict(&facts.borrow(inspect_us, &parts.headers), &verdict);
            if let Some(b) = ban {
                ev.reason = Some(format!(
                    "client banned for {} min: {}",
                    shared.bans.policy.duration_ms / 60_000,
                    b.reason
                ));
            }
            shared.events.publish(ev);
        }
        match (verdict.action, body) {
            (Action::Block, _) | (_, None) => {
                let status = verdict
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::FORBIDDEN);
                return with_id(respond::blocked(status, &id, &parts.headers), &id);
            }
            (_, Some(body)) => body,
        }
    };

    let session = (upgrade.is_some() && guard != GuardDecision::Allow)
        .then(|| {
            let facts = facts((&parts.method, &parts.uri, &parts.headers));
            websocket_session(shared, &protection, facts, &parts, &id)
        })
        .flatten();
    let info = ForwardInfo {
        peer: peer.ip(),
        peer_trusted,
        request_id: &id,
        upgrade,
    };
    // The error page, if forwarding fails, is chosen by the client's Accept
    // header: that is all of the request kept back once it is handed on.
    let mut req_headers = http::HeaderMap::new();
    for v in parts.headers.get_all(header::ACCEPT) {
        req_headers.append(header::ACCEPT, v.clone());
    }
    let sent = Instant::now();
    let result = upstream.send(parts, body, &info).await;
    record.upstream_us = Some(sent.elapsed().as_micros().try_into().unwrap_or(u64::MAX));
    match result {
        Ok(mut resp) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if switching
                && let Err(why) = websocket::switch(&mut resp, client_upgrade, session, &id)
            {
                tracing::warn!(request_id = %id, upstream = upstream.display(), "{why}");
                return with_id(
                    respond::error(StatusCode::BAD_GATEWAY, &id, &req_headers),
                    &id,
                );
            }
            forward::response_headers(resp.headers_mut(), switching);
            let resp = resp.map(|b| b.map_err(Into::into).boxed());
            with_id(resp, &id)
        }
        Err(e) => {
            tracing::warn!(request_id = %id, %client, upstream = upstream.display(), error = %e.chain(), "forwarding failed");
            with_id(respond::error(e.status(), &id, &req_headers), &id)
        }
    }
}

/// Reads the body into the transaction up to its inspection limit. Returns the
/// body to forward (what was read, then the unread rest), or `None` when the
/// transaction decided to stop while reading.
async fn read_for_inspection(
    tx: &mut Transaction<'_>,
    incoming: Incoming,
    idle: Duration,
    clock: &mut Clock,
) -> Result<Option<ReplayBody>, ProxyError> {
    let mut buffered: VecDeque<Frame<Bytes>> = VecDeque::new();
    let mut rest = Some(incoming);
    while let Some(body) = rest.as_mut() {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(ProxyError::ClientBodyTimeout(idle)),
            Ok(None) => {
                rest = None;
                break;
            }
            Ok(Some(Err(e))) => return Err(ProxyError::ClientBody(e)),
            Ok(Some(Ok(frame))) => frame,
        };
        let flow = match frame.data_ref() {
            Some(data) => clock.time(|| tx.on_request_chunk(data)),
            None => Flow::Continue,
        };
        buffered.push_back(frame);
        if flow == Flow::Stop {
            return Ok(None);
        }
        if tx.body_full() {
            break;
        }
    }
    if clock.time(|| tx.on_request_body_end()) == Flow::Stop {
        return Ok(None);
    }
    Ok(Some(ReplayBody::replay(buffered, rest)))
}

/// Time spent inside the engine, summed over the phases.
#[derive(Default)]
struct Clock {
    total: Duration,
}

impl Clock {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.total += start.elapsed();
        out
    }
}

/// The request head as the engine sees it.
fn engine_head(parts: &http::request::Parts) -> wafer_engine::Request {
    let (version, target) = match parts.version {
        Version::HTTP_2 => (
            "HTTP/2",
            parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
        ),
        Version::HTTP_10 => ("HTTP/1.0", parts.uri.to_string()),
        Version::HTTP_3 => ("HTTP/3", parts.uri.to_string()),
        _ => ("HTTP/1.1", parts.uri.to_string()),
    };
    let mut req = wafer_engine::Request::new(parts.method.as_str(), &target);
    req.version = version.to_owned();
    req.headers.reserve(parts.headers.len() + 1);
    for (name, value) in &parts.headers {
        req.headers.push((
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ));
    }
    if !parts.headers.contains_key(header::HOST)
        && let Some(a) = parts.uri.authority()
    {
        req.headers.push(("host".to_owned(), a.as_str().to_owned()));
    }
    req
}

/// What inspecting the messages of the WebSocket connection this request
/// opens needs, or `None` when they are not inspected (see `websocket`).
fn websocket_session(
    shared: &Shared,
    protection: &Arc<Protection>,
    facts: Facts,
    parts: &http::request::Parts,
    id: &str,
) -> Option<websocket::Session> {
    let headers = parts.headers.clone();
    websocket::Session {
        id: id.to_owned(),
        protection: Arc::clone(protection),
        target: parts.uri.to_string(),
        events: shared.events.clone(),
        event: Box::new(move |v| Event::from_verdict(&facts.borrow(0, &headers), v)),
    }
    .inspecting()
}

fn with_id(mut resp: Response<RespBody>, id: &str) -> Response<RespBody> {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// What an event says about the request besides the verdict, captured before
/// the request is handed on.
struct Facts {
    id: String,
    ts_ms: u64,
    client: std::net::IpAddr,
    method: String,
    host: String,
    path: String,
    query: String,
    user_agent: String,
}

impl Facts {
    fn of(
        (method, uri, headers): (&http::Method, &http::Uri, &http::HeaderMap),
        id: &str,
        ts_ms: u64,
        client: std::net::IpAddr,
    ) -> Facts {
        let header = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Facts {
            id: id.to_owned(),
            ts_ms,
            client,
            method: method.as_str().to_owned(),
            host: header(header::HOST)
                .or_else(|| uri.authority().map(|a| a.to_string()))
                .unwrap_or_default(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or("").to_owned(),
            user_agent: header(header::USER_AGENT).unwrap_or_default(),
        }
    }

    fn borrow<'a>(&'a self, inspect_us: u64, headers: &'a http::HeaderMap) -> RequestFacts<'a> {
        RequestFacts {
            id: &self.id,
            ts_ms: self.ts_ms,
            client_ip: self.client,
            method: &self.method,
            host: &self.host,
            path: &self.path,
            query: &self.query,
            user_agent: &self.user_agent,
            headers,
            inspect_us,
        }
    }
}
