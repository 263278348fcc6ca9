//! A body larger than the parse buffer, inspected as it streams to the
//! upstream: each frame is passed on only after it was inspected *and* the
//! frame after it was too (so a token cut between two frames is seen before
//! either half leaves), and the last frame only once the verdict is known.
//! A block mid-body aborts the upstream request, so the upstream never
//! receives a complete body that was not inspected whole.

use bytes::Bytes;
use http_body::Frame;
use hyper::body::Incoming;
use std::time::Duration;

use super::ProxyError;
use super::body::PumpLink;
use super::deadline::BodyClock;

/// How the pump ended.
pub(super) enum PumpEnd {
    /// The whole body was inspected and passed on.
    Passed,
    /// The transaction decided to block; the upstream request was aborted.
    Blocked,
    /// The client's body failed; the upstream request was aborted.
    Failed(ProxyError),
}

/// What the pump asks of the inspection for each step.
pub(super) trait Inspect {
    /// A data frame; `true`: stop, the request is blocked.
    fn chunk(&mut self, data: &[u8]) -> bool;
    /// The end of the body (and anything decided after it); `true`: blocked.
    fn end(&mut self) -> bool;
}

/// Reads the rest of the client's body, inspects it and passes it on.
/// `held` is the last frame already read and inspected but not yet sent.
pub(super) async fn run(
    inspect: &mut (dyn Inspect + Send),
    mut rest: Incoming,
    mut held: Option<Frame<Bytes>>,
    link: PumpLink,
    clock: &mut BodyClock,
) -> PumpEnd {
    let idle = clock.idle();
    // Once the upstream stops reading (it answered early, or went away), the
    // body is still read and inspected for the verdict, just not sent.
    let mut link = Some(link);
    loop {
        // Dropping the link on a return below aborts the upstream request.
        let frame = match clock.frame(&mut rest).await {
            Err(e) => return PumpEnd::Failed(e),
            Ok(None) => break,
            Ok(Some(frame)) => frame,
        };
        if let Some(data) = frame.data_ref()
            && inspect.chunk(data)
        {
            return PumpEnd::Blocked;
        }
        if let Some(previous) = held.replace(frame) {
            send(&mut link, previous, idle).await;
        }
    }
    if inspect.end() {
        return PumpEnd::Blocked;
    }
    if let Some(last) = held {
        send(&mut link, last, idle).await;
    }
    if let Some(link) = link {
        link.finish();
    }
    PumpEnd::Passed
}

async fn send(link: &mut Option<PumpLink>, frame: Frame<Bytes>, idle: Duration) {
    if let Some(l) = link.as_ref() {
        let sent = tokio::time::timeout(idle, l.send(frame)).await;
        if !matches!(sent, Ok(true)) {
            *link = None;
        }
    }
}
