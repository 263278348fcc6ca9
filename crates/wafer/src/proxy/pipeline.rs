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
use super::deadline::BodyClock;
use super::forward::{self, ForwardInfo};
use super::pump::PumpEnd;
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
    local: Option<SocketAddr>,
    req: http::Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let start = Instant::now();
    let bytes_in = content_length(req.headers());
    let mut record = Record::default();
    let resp = handle_inner(&shared, &upstream, peer, local, req, &mut record).await;
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
    local: Option<SocketAddr>,
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

    if let Some(why) = super::hygiene::problem(req.version(), req.uri(), req.headers()) {
        record.action = Some(Action::Block);
        let facts = facts((req.method(), req.uri(), req.headers()));
        let status = StatusCode::BAD_REQUEST;
        let reason = format!("malformed request: {why}");
        shared.events.publish(Event::guard(
            &facts.borrow(0, req.headers()),
            status.as_u16(),
            &reason,
        ));
        return with_id(respond::error(status, &id, req.headers()), &id);
    }
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
    let info = ForwardInfo {
        peer: peer.ip(),
        peer_trusted,
        client,
        request_id: &id,
        upgrade,
    };
    // The error page, if forwarding fails, is chosen by the client's Accept
    // header: that is all of the request kept back once it is handed on.
    let mut accept = http::HeaderMap::new();
    for v in parts.headers.get_all(header::ACCEPT) {
        accept.append(header::ACCEPT, v.clone());
    }
    if guard == GuardDecision::Allow {
        let sent = upstream
            .send(parts, ReplayBody::streaming(incoming), &info)
            .await;
        return answer(sent, upstream, client_upgrade, None, &accept, &id, client);
    }

    let mut step = Inspection::new(shared, &protection.engine, client, local);
    let flow = step.head(&parts);
    let body = if flow == Flow::Stop {
        None
    } else {
        match step.tx.body_plan() {
            BodyPlan::Skip => Some(ReplayBody::streaming(incoming)),
            BodyPlan::Inspect { .. } => {
                let mut clock = BodyClock::new(&cfg.timeouts, &shared.connections);
                match read_for_inspection(&mut step, incoming, &mut clock).await {
                    Ok(Read::Whole(buffered)) => {
                        let stop = step.clock.time(|| step.tx.on_request_body_end()) == Flow::Stop;
                        (!stop).then(|| ReplayBody::replay(buffered))
                    }
                    Ok(Read::Stopped) => None,
                    Ok(Read::Streaming { buffered, rest }) => {
                        return stream_through(
                            step,
                            &protection,
                            parts,
                            buffered,
                            rest,
                            clock,
                            upstream,
                            &info,
                            client_upgrade,
                            &accept,
                            &id,
                            ts_ms,
                            client,
                            record,
                        )
                        .await;
                    }
                    Err(e) => {
                        tracing::info!(request_id = %id, %client, error = %e.chain(), "request body failed");
                        return with_id(respond::error(e.status(), &id, &parts.headers), &id);
                    }
                }
            }
        }
    };
    step.score_model();
    let request_facts = || facts((&parts.method, &parts.uri, &parts.headers));
    let verdict = step
        .conclude(record, &id, request_facts, &parts.headers)
        .await;
    let body = match (verdict.action, body) {
        (Action::Block, _) | (_, None) => {
            return with_id(respond::blocked(verdict.status, &id, &parts.headers), &id);
        }
        (_, Some(body)) => body,
    };
    let session = info
        .upgrade
        .is_some()
        .then(|| websocket_session(shared, &protection, request_facts(), &parts, &id))
        .flatten();
    let sent = Instant::now();
    let result = upstream.send(parts, body, &info).await;
    record.upstream_us = Some(elapsed_us(sent));
    answer(
        result,
        upstream,
        client_upgrade,
        session,
        &accept,
        &id,
        client,
    )
}

/// A body past the parse buffer: forwarded as it is inspected (see
/// [`pump`](super::pump)), the upstream request aborted if it is blocked.
#[allow(clippy::too_many_arguments)]
async fn stream_through(
    mut step: Inspection<'_>,
    protection: &Arc<Protection>,
    parts: http::request::Parts,
    mut buffered: VecDeque<Frame<Bytes>>,
    rest: Incoming,
    mut clock: BodyClock,
    upstream: &super::forward::Upstream,
    info: &ForwardInfo<'_>,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    accept: &http::HeaderMap,
    id: &str,
    ts_ms: u64,
    client: std::net::IpAddr,
    record: &mut Record,
) -> Response<RespBody> {
    // The request is handed on before the verdict: what events say of it is kept now.
    let facts = Facts::of(
        (&parts.method, &parts.uri, &parts.headers),
        id,
        ts_ms,
        client,
    );
    let headers = parts.headers.clone();
    let session = info
        .upgrade
        .is_some()
        .then(|| websocket_session(step.shared, protection, facts.clone(), &parts, id))
        .flatten();
    let held = buffered.pop_back();
    let (body, link) = ReplayBody::pumped(buffered);
    let started = Instant::now();
    let send = upstream.send(parts, body, info);
    tokio::pin!(send);
    let mut response = None;
    let end = {
        let pump = super::pump::run(&mut step, rest, held, link, &mut clock);
        tokio::pin!(pump);
        loop {
            tokio::select! {
                end = &mut pump => break end,
                r = &mut send, if response.is_none() => response = Some(r),
            }
        }
    };
    let verdict = step.conclude(record, id, move || facts, &headers).await;
    match end {
        PumpEnd::Failed(e) => {
            tracing::info!(request_id = %id, %client, error = %e.chain(), "request body failed");
            with_id(respond::error(e.status(), id, &headers), id)
        }
        PumpEnd::Blocked => with_id(respond::blocked(verdict.status, id, &headers), id),
        PumpEnd::Passed => {
            let result = match response {
                Some(r) => r,
                None => send.await,
            };
            record.upstream_us = Some(elapsed_us(started));
            answer(
                result,
                upstream,
                client_upgrade,
                session,
                accept,
                id,
                client,
            )
        }
    }
}

/// The upstream's answer (or the failure to get one) as the client's response.
/// A `101` switches to the WebSocket relay, which inspects each message when
/// there is a `session` (none: an allow-listed client, or inspection off).
fn answer(
    result: Result<Response<Incoming>, ProxyError>,
    upstream: &super::forward::Upstream,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    session: Option<websocket::Session>,
    accept: &http::HeaderMap,
    id: &str,
    client: std::net::IpAddr,
) -> Response<RespBody> {
    match result {
        Ok(mut resp) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if switching && let Err(why) = websocket::switch(&mut resp, client_upgrade, session, id)
            {
                tracing::warn!(request_id = %id, upstream = upstream.display(), "{why}");
                return with_id(respond::error(StatusCode::BAD_GATEWAY, id, accept), id);
            }
            forward::response_headers(resp.headers_mut(), switching);
            let resp = resp.map(|b| b.map_err(Into::into).boxed());
            with_id(resp, id)
        }
        Err(e) => {
            tracing::warn!(request_id = %id, %client, upstream = upstream.display(), error = %e.chain(), "forwarding failed");
            with_id(respond::error(e.status(), id, accept), id)
        }
    }
}

fn elapsed_us(since: Instant) -> u64 {
    since.elapsed().as_micros().try_into().unwrap_or(u64::MAX)
}

/// One request's inspection: the transaction, the time spent in it, and what
/// the learning period may keep of it.
struct Inspection<'a> {
    shared: &'a Arc<Shared>,
    tx: Transaction<'a>,
    clock: Clock,
    client: std::net::IpAddr,
    to_learn: Option<wafer_engine::anomaly::Sample>,
}

impl<'a> Inspection<'a> {
    fn new(
        shared: &'a Arc<Shared>,
        engine: &'a wafer_engine::Engine,
        client: std::net::IpAddr,
        local: Option<SocketAddr>,
    ) -> Self {
        let mut tx = engine.transaction();
        if let Some(local) = local {
            tx.set_local_addr(local);
        }
        Inspection {
            shared,
            tx,
            clock: Clock::default(),
            client,
            to_learn: None,
        }
    }

    fn head(&mut self, parts: &http::request::Parts) -> Flow {
        self.shared
            .sightings
            .observe(parts.uri.path(), &parts.headers);
        let head = engine_head(parts);
        self.clock.time(|| self.tx.on_request_head(head))
    }

    /// Scores the request with the anomaly model in use (or, while it is
    /// learning, scores it for the record and offers it to the learner).
    fn score_model(&mut self) {
        let shared = self.shared;
        let model = shared.model.load_full();
        match model.as_deref() {
            Some(m) if m.learning => {
                // The learner keeps a sample (features, not the request); it
                // is scored from the same numbers.
                let req = self.tx.request();
                let s = if shared.learner.takes(self.client) {
                    let sample = self.clock.time(|| wafer_engine::anomaly::Sample::of(req));
                    let s = m.model.score_sample(&sample);
                    self.to_learn = Some(sample);
                    s
                } else {
                    self.clock.time(|| m.model.score(req))
                };
                shared.scores.record(s.score, false);
            }
            Some(m) => {
                let tx = &mut self.tx;
                self.clock.time(|| tx.score_anomaly(&m.model, &m.version));
            }
            None => {}
        }
    }

    /// The verdict, and everything it sets off: the model's statistics, the
    /// learning period, a ban, the event.
    async fn conclude(
        self,
        record: &mut Record,
        id: &str,
        facts: impl FnOnce() -> Facts,
        headers: &http::HeaderMap,
    ) -> Concluded {
        let shared = self.shared;
        let verdict = self.tx.finish();
        if let Some(a) = &verdict.anomaly {
            shared.scores.record(a.score, a.anomalous);
        }
        // Learned only when allowed with no finding at all.
        let clean = verdict.action == Action::Allow && verdict.findings.is_empty();
        if let Some(set) = self
            .to_learn
            .and_then(|s| shared.learner.offer(self.client, s, clean))
        {
            crate::anomaly::learn::finish(
                set,
                crate::anomaly::ModelsDir::new(&shared.learner.dir),
                Arc::clone(shared),
            );
        }
        let inspect_us = self.clock.total.as_micros().try_into().unwrap_or(u64::MAX);
        record.action = Some(verdict.action);
        record.inspect_us = inspect_us;
        record.classes = crate::traffic::class_bits(verdict.findings.iter().map(|f| &f.class));
        let status = verdict
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::FORBIDDEN);
        if verdict.action != Action::Allow || sampled(id, shared.record_all) {
            let facts = facts();
            // A block may earn the client a ban: said on this request's own event.
            let ban = match verdict.action {
                Action::Block => shared.bans.strike(facts.client).await,
                _ => None,
            };
            let mut ev = Event::from_verdict(&facts.borrow(inspect_us, headers), &verdict);
            if let Some(b) = ban {
                ev.reason = Some(format!(
                    "client banned for {} min: {}",
                    shared.bans.policy.duration_ms / 60_000,
                    b.reason
                ));
            }
            shared.events.publish(ev);
        }
        Concluded {
            action: verdict.action,
            status,
        }
    }
}

/// What the rest of the handler needs of the verdict.
struct Concluded {
    action: Action,
    status: StatusCode,
}

impl super::pump::Inspect for Inspection<'_> {
    fn chunk(&mut self, data: &[u8]) -> bool {
        let tx = &mut self.tx;
        self.clock.time(|| tx.on_request_chunk(data)) == Flow::Stop
    }

    fn end(&mut self) -> bool {
        let tx = &mut self.tx;
        if self.clock.time(|| tx.on_request_body_end()) == Flow::Stop {
            return true;
        }
        // The model may block too: it speaks before the last bytes leave.
        self.score_model();
        self.tx.blocks()
    }
}

/// How reading the body for inspection ended.
enum Read {
    /// The whole body, inspected up to its end phase (not yet called).
    Whole(VecDeque<Frame<Bytes>>),
    /// The transaction decided to block while reading.
    Stopped,
    /// The body outgrew the parse buffer: what was read (all inspected),
    /// and the rest, to be inspected as it streams on.
    Streaming {
        buffered: VecDeque<Frame<Bytes>>,
        rest: Incoming,
    },
}

/// Reads the body into the transaction until it ends, the transaction stops
/// it, or it outgrows the parse buffer.
async fn read_for_inspection(
    step: &mut Inspection<'_>,
    mut incoming: Incoming,
    clock: &mut BodyClock,
) -> Result<Read, ProxyError> {
    let mut buffered: VecDeque<Frame<Bytes>> = VecDeque::new();
    loop {
        let Some(frame) = clock.frame(&mut incoming).await? else {
            return Ok(Read::Whole(buffered));
        };
        let flow = match frame.data_ref() {
            Some(data) => {
                let tx = &mut step.tx;
                step.clock.time(|| tx.on_request_chunk(data))
            }
            None => Flow::Continue,
        };
        buffered.push_back(frame);
        if flow == Flow::Stop {
            return Ok(Read::Stopped);
        }
        if step.tx.body_streaming() {
            return Ok(Read::Streaming {
                buffered,
                rest: incoming,
            });
        }
    }
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
        cookie_names: parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(wafer_engine::view::cookies)
            .map(|(name, _)| name.to_owned())
            .collect(),
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
#[derive(Clone)]
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
