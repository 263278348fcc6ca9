//! One request, as a fixed list of named steps over one [`RequestCtx`]:
//!
//! 0. [`route`]: the site, by host name (421 when no site takes it); it
//!    decides the protection and the upstream of every later step.
//! 1. [`door::admit`]: framing hygiene, then the door (IP lists, bans,
//!    countries, rate limits); a refusal is answered here.
//! 2. [`inspect::request`]: the head, then the body (bounded; a body past the
//!    parse buffer goes on to [`send::stream_through`], inspected as it
//!    streams).
//! 3. [`decide::decide`]: the verdict, with the anomaly model's say.
//! 4. [`decide::after_verdict`]: a ban strike and the event.
//! 5. [`send::forward`]: the upstream's answer, or the block page.
//! 6. [`record`]: the traffic counters and the `X-Request-Id` header.

use http::{Response, header};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use wafer_engine::Action;

use super::body::ReplayBody;
use super::client_ip::ClientAddr;
use super::forward::Upstreams;
use super::request_id::RequestId;
use super::respond::{self, RespBody};
use super::{ConnInfo, Proxy, Sites};
use crate::protection::Protection;

mod decide;
mod door;
mod inspect;
mod send;

/// One request's state through the steps.
pub(super) struct RequestCtx {
    pub(super) id: RequestId,
    /// The sites in force when the request arrived; kept to its end (a
    /// reload does not move a request in flight to other sites).
    pub(super) sites: Arc<Sites>,
    /// The site the request was routed to: its index in `sites`, and its name for the event.
    pub(super) site: usize,
    pub(super) site_name: Arc<str>,
    /// When the request arrived (Unix ms), for its event.
    pub(super) ts_ms: u64,
    pub(super) client: ClientAddr,
    /// The address the client connected to: a URL naming it is not SSRF.
    pub(super) local: Option<SocketAddr>,
    /// Whether the request came over TLS (`X-Forwarded-Proto`).
    pub(super) tls: bool,
    /// The engine and lists in force when the request arrived; kept to its end.
    pub(super) protection: Arc<Protection>,
    pub(super) record: Record,
}

/// What the traffic counters need to know that only the steps know.
#[derive(Default)]
pub(super) struct Record {
    /// `None` until the request is past hygiene (then counted as a block).
    pub(super) action: Option<Action>,
    pub(super) classes: u32,
    pub(super) inspect_us: u64,
    pub(super) upstream_us: Option<u64>,
}

impl RequestCtx {
    fn new(
        proxy: &Proxy,
        sites: Arc<Sites>,
        site: usize,
        peer: SocketAddr,
        conn: &ConnInfo,
        head: &http::HeaderMap,
    ) -> Self {
        let s = sites.get(site);
        RequestCtx {
            id: RequestId::next(),
            site,
            site_name: Arc::clone(&s.name),
            ts_ms: crate::clock::now_ms(),
            client: ClientAddr::identify(peer.ip(), head, &proxy.config.trusted_proxies),
            local: conn.local,
            tls: conn.tls.is_some(),
            protection: s.protection.snapshot(),
            record: Record::default(),
            sites,
        }
    }

    /// What the request's event says of it; copied only for a request that has one.
    fn facts(
        &self,
        parts: (&http::Method, &http::Uri, &http::HeaderMap),
    ) -> crate::events::RequestFacts {
        let mut facts = crate::events::RequestFacts::capture(
            parts,
            self.id.as_str(),
            self.ts_ms,
            self.client.ip,
        );
        facts.site = self.site_name.to_string();
        facts
    }
}

/// The request handler. Never fails: every error becomes a response.
pub(super) async fn handle(
    proxy: Arc<Proxy>,
    upstreams: Arc<Upstreams>,
    peer: SocketAddr,
    conn: ConnInfo,
    req: http::Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let started = Instant::now();
    let bytes_in = content_length(req.headers());
    if let Some(resp) = acme_check(&proxy, &req).await {
        return Ok(resp);
    }
    let sites = proxy.sites();
    let Some(site) = route(&sites, &req, &conn) else {
        return Ok(misdirected(&proxy, peer, &req, started, bytes_in));
    };
    if conn.tls.is_none()
        && let Some(port) = sites.get(site).redirect_https
        && let Some(resp) = to_https(&req, port)
    {
        sites.get(site).counters.record(Action::Allow);
        return Ok(resp);
    }
    let mut ctx = RequestCtx::new(&proxy, Arc::clone(&sites), site, peer, &conn, req.headers());
    let target = send::Target {
        pool: &sites.get(site).pool,
        upstreams: &upstreams,
    };
    let resp = steps(&proxy, target, &mut ctx, req).await;
    Ok(record(&proxy, &ctx, started, bytes_in, resp))
}

/// Before step 0: the ACME CA checking a name this node asked a
/// certificate for (a GET for a token it handed out, nothing else).
async fn acme_check(proxy: &Proxy, req: &http::Request<Incoming>) -> Option<Response<RespBody>> {
    let challenges = proxy.challenges.as_ref()?;
    if req.method() != http::Method::GET {
        return None;
    }
    let answer = challenges.answer(req.uri().path()).await?;
    let mut resp = Response::new(respond::full(bytes::Bytes::from(answer)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/octet-stream"),
    );
    Some(resp)
}

/// Step 0: the site that serves the host name the request names; on a TLS
/// connection whose client named a server, only the site that name routes to.
fn route(sites: &Sites, req: &http::Request<Incoming>, conn: &ConnInfo) -> Option<usize> {
    let host = super::sites::request_host(req.version(), req.uri(), req.headers());
    let site = sites.route(host)?;
    match conn.tls.as_ref().and_then(|t| t.sni.as_deref()) {
        Some(sni) if sites.route(Some(sni.as_bytes())) != Some(site) => None,
        _ => Some(site),
    }
}

/// A site that is served over HTTPS only: a plain request gets 308 to the
/// same host and target on `port` (not inspected: nothing reaches the
/// application). `None` for a request whose framing or host is malformed:
/// it goes on to be refused by hygiene, not echoed into a `Location`.
fn to_https(req: &http::Request<Incoming>, port: u16) -> Option<Response<RespBody>> {
    if super::hygiene::problem(req.version(), req.uri(), req.headers()).is_some() {
        return None;
    }
    let host = super::sites::request_host(req.version(), req.uri(), req.headers())?;
    let host = std::str::from_utf8(host).ok()?;
    // Drop the port the plain request named; a literal keeps its brackets.
    let name = match host.rfind(']') {
        Some(end) => &host[..=end],
        None => host.split(':').next().unwrap_or(host),
    };
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = if port == 443 {
        format!("https://{name}{target}")
    } else {
        format!("https://{name}:{port}{target}")
    };
    let mut resp = Response::new(respond::full(bytes::Bytes::new()));
    *resp.status_mut() = http::StatusCode::PERMANENT_REDIRECT;
    resp.headers_mut().insert(
        header::LOCATION,
        http::HeaderValue::from_str(&location).ok()?,
    );
    Some(resp)
}

/// A host name no site serves, and no default site, or another site than the
/// TLS connection's: 421 (RFC 9110 §15.5.20),
/// counted as refused. Not an event: it is not an attack, and a scan of
/// names would otherwise fill the store.
fn misdirected(
    proxy: &Proxy,
    peer: SocketAddr,
    req: &http::Request<Incoming>,
    started: Instant,
    bytes_in: u64,
) -> Response<RespBody> {
    let id = RequestId::next();
    tracing::debug!(request_id = %id, %peer, host = ?req.headers().get(http::header::HOST), "no site serves this host name");
    let mut resp = respond::error(
        http::StatusCode::MISDIRECTED_REQUEST,
        id.as_str(),
        req.headers(),
    );
    proxy
        .traffic
        .misdirected
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    proxy.traffic.record(&crate::traffic::Outcome {
        action: Action::Block,
        status: resp.status().as_u16(),
        classes: 0,
        total_us: elapsed_us(started),
        inspect_us: 0,
        upstream_us: None,
        bytes_in,
        bytes_out: content_length(resp.headers()),
    });
    id.stamp(resp.headers_mut());
    resp
}

/// Steps 1 to 5; each may answer the request itself.
async fn steps(
    proxy: &Arc<Proxy>,
    upstream: send::Target<'_>,
    ctx: &mut RequestCtx,
    mut req: http::Request<Incoming>,
) -> Response<RespBody> {
    let trusted = match door::admit(proxy, ctx, &req).await {
        door::Admitted::Refused(resp) => return resp,
        door::Admitted::Trusted => true,
        door::Admitted::Inspect => false,
    };
    let out = send::Outbound::take(&mut req);
    let (parts, incoming) = req.into_parts();
    if trusted {
        let body = ReplayBody::streaming(incoming);
        return send::forward(upstream, ctx, parts, body, out, None).await;
    }
    let protection = Arc::clone(&ctx.protection);
    let mut step = inspect::Inspection::new(proxy, &protection.engine, ctx);
    let body = match inspect::request(&mut step, &parts, incoming, proxy).await {
        inspect::Inspected::Whole(body) => body,
        inspect::Inspected::Streaming(streaming) => {
            return send::stream_through(proxy, upstream, ctx, step, parts, streaming, out).await;
        }
        inspect::Inspected::Failed(e) => {
            tracing::info!(request_id = %ctx.id, client = %ctx.client.ip, error = %e.chain(), "request body failed");
            return respond::error(e.status(), ctx.id.as_str(), &parts.headers);
        }
    };
    let decision = decide::decide(step, ctx);
    let facts = || ctx.facts((&parts.method, &parts.uri, &parts.headers));
    decide::after_verdict(proxy, ctx, &decision, facts, &parts.headers).await;
    ctx.record.settle(&decision);
    match body {
        Some(body) if decision.verdict.action != Action::Block => {
            let session = send::websocket_session(proxy, ctx, &out, &parts, || {
                ctx.facts((&parts.method, &parts.uri, &parts.headers))
            });
            send::forward(upstream, ctx, parts, body, out, session).await
        }
        _ => respond::blocked(decision.status(), ctx.id.as_str(), &parts.headers),
    }
}

/// Step 6: the traffic counters, and the request id on the response.
fn record(
    proxy: &Proxy,
    ctx: &RequestCtx,
    started: Instant,
    bytes_in: u64,
    mut resp: Response<RespBody>,
) -> Response<RespBody> {
    let r = &ctx.record;
    let action = r.action.unwrap_or(Action::Block);
    ctx.sites.get(ctx.site).counters.record(action);
    proxy.traffic.record(&crate::traffic::Outcome {
        action,
        status: resp.status().as_u16(),
        classes: r.classes,
        total_us: elapsed_us(started),
        inspect_us: r.inspect_us,
        upstream_us: r.upstream_us,
        bytes_in,
        bytes_out: content_length(resp.headers()),
    });
    ctx.id.stamp(resp.headers_mut());
    if ctx.tls
        && let Some(hsts) = &ctx.sites.get(ctx.site).hsts
    {
        resp.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    resp
}

impl Record {
    fn settle(&mut self, decision: &decide::Decision) {
        self.action = Some(decision.verdict.action);
        self.inspect_us = decision.inspect_us;
        self.classes =
            crate::traffic::class_bits(decision.verdict.findings.iter().map(|f| &f.class));
    }
}

/// The declared body length (streamed bodies of unknown length count as 0).
fn content_length(h: &http::HeaderMap) -> u64 {
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn elapsed_us(since: Instant) -> u64 {
    since.elapsed().as_micros().try_into().unwrap_or(u64::MAX)
}
