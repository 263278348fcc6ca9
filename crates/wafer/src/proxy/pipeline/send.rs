//! Step 5: the request handed to the upstream, and its answer (or the
//! failure to get one) as the client's response; a body past the parse
//! buffer is inspected as it streams, and a WebSocket upgrade becomes a relay
//! that inspects each message.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Instant;

use super::inspect::{Inspection, Streaming};
use super::{RequestCtx, decide, elapsed_us};
use crate::events::{Event, RequestFacts};
use crate::proxy::body::ReplayBody;
use crate::proxy::forward::{self, ForwardInfo, Upstream, Upstreams};
use crate::proxy::pool::{self, Pool};
use crate::proxy::pump::{self, PumpEnd};
use crate::proxy::respond::{self, RespBody};
use crate::proxy::{Proxy, ProxyError, websocket};

/// What forwarding needs of the request that is taken before it is handed on.
pub(in crate::proxy) struct Outbound {
    /// The protocol of a WebSocket upgrade Wafer will relay.
    upgrade: Option<HeaderValue>,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    /// The error page, if forwarding fails, is chosen by the client's Accept
    /// header: that is all of the request kept back once it is handed on.
    accept: http::HeaderMap,
}

impl Outbound {
    pub(super) fn take(req: &mut http::Request<Incoming>) -> Outbound {
        let upgrade = websocket::upgrade_of(req);
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut *req));
        let mut accept = http::HeaderMap::new();
        for v in req.headers().get_all(header::ACCEPT) {
            accept.append(header::ACCEPT, v.clone());
        }
        Outbound {
            upgrade,
            client_upgrade,
            accept,
        }
    }

    fn info<'a>(&self, ctx: &'a RequestCtx) -> ForwardInfo<'a> {
        ForwardInfo {
            client: &ctx.client,
            request_id: &ctx.id,
            upgrade: self.upgrade.clone(),
            tls: ctx.tls,
        }
    }
}

/// The site's servers: the pool that chooses, and this worker's client for each.
#[derive(Clone, Copy)]
pub(in crate::proxy) struct Target<'a> {
    pub(in crate::proxy) pool: &'a Pool,
    pub(in crate::proxy) upstreams: &'a Upstreams,
}

impl Target<'_> {
    /// The server for this request, among those not yet `tried`.
    fn pick(&self, ctx: &RequestCtx, headers: &http::HeaderMap, tried: &[usize]) -> Option<usize> {
        self.pool.pick(ctx.client.ip, headers, tried)
    }
}

/// What a response (or the failure to get one) says of the server.
fn outcome(result: &Result<Response<Incoming>, ProxyError>) -> pool::Outcome {
    match result {
        Ok(r) if !r.status().is_server_error() => pool::Outcome::Answered,
        _ => pool::Outcome::Failed,
    }
}

/// Sends the request and answers with the upstream's response. A request
/// whose server cannot be connected to is sent to another (each server at
/// most once) when sending it twice is harmless: an idempotent method, a
/// body read whole, no upgrade.
pub(super) async fn forward(
    target: Target<'_>,
    ctx: &mut RequestCtx,
    parts: http::request::Parts,
    body: ReplayBody,
    out: Outbound,
    session: Option<websocket::Session>,
) -> Response<RespBody> {
    let sent = Instant::now();
    let mut tried: Vec<usize> = Vec::new();
    let mut request = (parts, body);
    loop {
        let (parts, body) = request;
        let Some(i) = target.pick(ctx, &parts.headers, &tried) else {
            unreachable!("a pool has a server, and the loop stops before every one was tried")
        };
        tried.push(i);
        let again = (parts.method.is_idempotent() && out.upgrade.is_none())
            .then(|| body.try_clone().map(|b| (copy_head(&parts), b)))
            .flatten()
            .filter(|_| tried.len() < target.pool.servers().len());
        let upstream = match target
            .upstreams
            .get(&target.pool.servers()[i].uri, target.pool.tls())
        {
            Ok(u) => u,
            Err(e) => return answer(Err(e), None, ctx, out, session),
        };
        let upstream = &*upstream;
        let result = {
            let _in_flight = target.pool.start(i);
            upstream.send(parts, body, &out.info(ctx)).await
        };
        target.pool.report(i, outcome(&result));
        if let (Err(e @ ProxyError::Connect { .. }), Some(next)) = (&result, again) {
            tracing::warn!(request_id = %ctx.id, upstream = upstream.display(), error = %e.chain(), "upstream server unreachable; trying another");
            request = next;
            continue;
        }
        ctx.record.upstream_us = Some(elapsed_us(sent));
        return answer(result, Some(upstream), ctx, out, session);
    }
}

/// The request's head again (its extensions are the connection's, not sent on).
fn copy_head(parts: &http::request::Parts) -> http::request::Parts {
    let mut req = http::Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    req.into_parts().0
}

/// A body past the parse buffer: forwarded as it is inspected (see
/// [`pump`]), the upstream request aborted if it is blocked; steps 3 and 4
/// come once the body has ended.
pub(super) async fn stream_through(
    proxy: &Proxy,
    target: Target<'_>,
    ctx: &mut RequestCtx,
    mut step: Inspection<'_>,
    parts: http::request::Parts,
    streaming: Streaming,
    out: Outbound,
) -> Response<RespBody> {
    let Streaming {
        mut buffered,
        rest,
        mut clock,
    } = streaming;
    // The request is handed on before the verdict: what events say of it is kept now.
    let facts = ctx.facts((&parts.method, &parts.uri, &parts.headers));
    let headers = parts.headers.clone();
    let session = websocket_session(proxy, ctx, &out, &parts, || facts.clone());
    let held: Option<Frame<Bytes>> = buffered.pop_back();
    let (body, link) = ReplayBody::pumped(buffered);
    // Streamed as it arrives, the body cannot be sent twice: one server, no retry.
    let server = target
        .pick(ctx, &parts.headers, &[])
        .expect("a pool has a server");
    let upstream = match target
        .upstreams
        .get(&target.pool.servers()[server].uri, target.pool.tls())
    {
        Ok(u) => u,
        Err(e) => return answer(Err(e), None, ctx, out, None),
    };
    let upstream = &*upstream;
    let in_flight = target.pool.start(server);
    let started = Instant::now();
    // The upstream request outlives this borrow of the context: it reads copies.
    let (id, client) = (ctx.id.clone(), ctx.client);
    let info = ForwardInfo {
        client: &client,
        request_id: &id,
        upgrade: out.upgrade.clone(),
        tls: ctx.tls,
    };
    let send = upstream.send(parts, body, &info);
    tokio::pin!(send);
    let mut response = None;
    let end = {
        let pump = pump::run(&mut step, rest, held, link, &mut clock);
        tokio::pin!(pump);
        loop {
            tokio::select! {
                end = &mut pump => break end,
                r = &mut send, if response.is_none() => response = Some(r),
            }
        }
    };
    let decision = decide::conclude(step, ctx);
    decide::after_verdict(proxy, ctx, &decision, move || facts, &headers).await;
    ctx.record.settle(&decision);
    let id = id.as_str();
    match end {
        PumpEnd::Failed(e) => {
            tracing::info!(request_id = %id, client = %ctx.client.ip, error = %e.chain(), "request body failed");
            respond::error(e.status(), id, &headers)
        }
        PumpEnd::Blocked => respond::blocked(decision.status(), id, &headers),
        PumpEnd::Passed => {
            let result = match response {
                Some(r) => r,
                None => send.await,
            };
            drop(in_flight);
            target.pool.report(server, outcome(&result));
            ctx.record.upstream_us = Some(elapsed_us(started));
            answer(result, Some(upstream), ctx, out, session)
        }
    }
}

/// The upstream's answer (or the failure to get one) as the client's response.
/// A `101` switches to the WebSocket relay, which inspects each message when
/// there is a `session` (none: an allow-listed client, or inspection off).
fn answer(
    result: Result<Response<Incoming>, ProxyError>,
    upstream: Option<&Upstream>,
    ctx: &RequestCtx,
    out: Outbound,
    session: Option<websocket::Session>,
) -> Response<RespBody> {
    let id = ctx.id.as_str();
    let upstream = upstream.map_or("(none)", Upstream::display);
    match result {
        Ok(mut resp) => {
            let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
            if switching
                && let Err(why) = websocket::switch(&mut resp, out.client_upgrade, session, id)
            {
                tracing::warn!(request_id = %id, upstream, "{why}");
                return respond::error(StatusCode::BAD_GATEWAY, id, &out.accept);
            }
            forward::response_headers(resp.headers_mut(), switching);
            resp.map(|b| b.map_err(Into::into).boxed())
        }
        Err(e) => {
            tracing::warn!(request_id = %id, client = %ctx.client.ip, upstream, error = %e.chain(), "forwarding failed");
            respond::error(e.status(), id, &out.accept)
        }
    }
}

/// What inspecting the messages of the WebSocket connection this request
/// opens needs, or `None` when it opens none or they are not inspected (see
/// `websocket`).
pub(super) fn websocket_session(
    proxy: &Proxy,
    ctx: &RequestCtx,
    out: &Outbound,
    parts: &http::request::Parts,
    facts: impl FnOnce() -> RequestFacts,
) -> Option<websocket::Session> {
    out.upgrade.as_ref()?;
    let facts = facts();
    let headers = parts.headers.clone();
    websocket::Session {
        id: ctx.id.as_str().to_owned(),
        protection: Arc::clone(&ctx.protection),
        target: parts.uri.to_string(),
        cookie_names: parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(wafer_engine::view::cookies)
            .map(|(name, _)| name.to_owned())
            .collect(),
        events: proxy.events.clone(),
        event: Box::new(move |v| Event::from_verdict(&facts, &headers, 0, v)),
    }
    .inspecting()
}
