//! Step 2: the engine's transaction over the request head, then its body:
//! read whole into the transaction when it fits the parse buffer, or handed
//! on to be inspected as it streams when it does not.

use bytes::Bytes;
use http::{Version, header};
use http_body::Frame;
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use wafer_engine::{BodyPlan, Engine, Flow, Transaction};

use super::RequestCtx;
use crate::anomaly::Scored;
use crate::proxy::body::ReplayBody;
use crate::proxy::deadline::BodyClock;
use crate::proxy::{Proxy, ProxyError};

/// One request's inspection: the transaction, the time spent in it, and what
/// the anomaly model left for after the verdict.
pub(in crate::proxy) struct Inspection<'a> {
    pub(super) proxy: &'a Proxy,
    pub(super) tx: Transaction<'a>,
    pub(super) clock: Clock,
    client: std::net::IpAddr,
    pub(super) scored: Scored,
}

/// How inspecting the request ended.
pub(in crate::proxy) enum Inspected {
    /// Inspected to its end; the body to forward, `None` when it is blocked.
    Whole(Option<ReplayBody>),
    /// The body outgrew the parse buffer (see `send::stream_through`).
    Streaming(Streaming),
    /// The client's body failed (too slow, cut off).
    Failed(ProxyError),
}

/// A body past the parse buffer: what was read (all inspected), the rest,
/// and the clock that holds it to its minimum rate.
pub(in crate::proxy) struct Streaming {
    pub(super) buffered: VecDeque<Frame<Bytes>>,
    pub(super) rest: Incoming,
    pub(super) clock: BodyClock,
}

impl<'a> Inspection<'a> {
    pub(super) fn new(proxy: &'a Proxy, engine: &'a Engine, ctx: &RequestCtx) -> Self {
        let mut tx = engine.transaction();
        if let Some(local) = ctx.local {
            tx.set_local_addr(local);
        }
        Inspection {
            proxy,
            tx,
            clock: Clock::default(),
            client: ctx.client.ip,
            scored: Scored::default(),
        }
    }

    fn head(&mut self, parts: &http::request::Parts) -> Flow {
        self.proxy
            .sightings
            .observe(parts.uri.path(), &parts.headers);
        let head = engine_head(parts);
        self.clock.time(|| self.tx.on_request_head(head))
    }

    fn chunk(&mut self, data: &[u8]) -> Flow {
        let tx = &mut self.tx;
        self.clock.time(|| tx.on_request_chunk(data))
    }

    fn body_end(&mut self) -> Flow {
        let tx = &mut self.tx;
        self.clock.time(|| tx.on_request_body_end())
    }

    /// Scores the request with the anomaly model in use (see `AnomalyState::apply`).
    pub(super) fn score_model(&mut self) {
        let (tx, anomaly, client) = (&mut self.tx, &self.proxy.anomaly, self.client);
        self.scored = self.clock.time(|| anomaly.apply(tx, client));
    }
}

/// The head, then the body as its plan says.
pub(in crate::proxy) async fn request(
    step: &mut Inspection<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
    proxy: &Proxy,
) -> Inspected {
    if step.head(parts) == Flow::Stop {
        return Inspected::Whole(None);
    }
    if step.tx.body_plan() == BodyPlan::Skip {
        return Inspected::Whole(Some(ReplayBody::streaming(incoming)));
    }
    let mut clock = BodyClock::new(&proxy.config.timeouts, &proxy.connections);
    match read_body(step, incoming, &mut clock).await {
        Ok(Read::Whole(buffered)) => {
            let stop = step.body_end() == Flow::Stop;
            Inspected::Whole((!stop).then(|| ReplayBody::replay(buffered)))
        }
        Ok(Read::Stopped) => Inspected::Whole(None),
        Ok(Read::Streaming { buffered, rest }) => Inspected::Streaming(Streaming {
            buffered,
            rest,
            clock,
        }),
        Err(e) => Inspected::Failed(e),
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
async fn read_body(
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
            Some(data) => step.chunk(data),
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

impl crate::proxy::pump::Inspect for Inspection<'_> {
    fn chunk(&mut self, data: &[u8]) -> bool {
        Inspection::chunk(self, data) == Flow::Stop
    }

    fn end(&mut self) -> bool {
        if self.body_end() == Flow::Stop {
            return true;
        }
        // The model may block too: it speaks before the last bytes leave.
        self.score_model();
        self.tx.blocks()
    }
}

/// Time spent inside the engine, summed over the phases.
#[derive(Default)]
pub(in crate::proxy) struct Clock {
    total: Duration,
}

impl Clock {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.total += start.elapsed();
        out
    }

    pub(super) fn total_us(&self) -> u64 {
        self.total.as_micros().try_into().unwrap_or(u64::MAX)
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
