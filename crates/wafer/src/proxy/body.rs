//! Request bodies on their way to the upstream: the frames buffered for
//! inspection, replayed first, then the rest, never held whole in memory.
//! The rest is either the client's stream as it is (a body not inspected:
//! allow-listed client, mode off) or the frames the [`pump`](super::pump)
//! passes on once they are inspected.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tokio::sync::mpsc;

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The pump's end of a pumped body. The body ends cleanly only after
/// [`finish`](PumpLink::finish); dropped before that (a block, a client that
/// went away, a cancelled handler) it fails, so the upstream request is
/// aborted and never ends as if the body were complete.
pub(super) struct PumpLink {
    tx: mpsc::Sender<Frame<Bytes>>,
    finished: Arc<AtomicBool>,
}

impl PumpLink {
    /// Passes a frame on; `false` once the upstream stopped reading.
    pub(super) async fn send(&self, frame: Frame<Bytes>) -> bool {
        self.tx.send(frame).await.is_ok()
    }

    /// The whole body was passed on: end it cleanly.
    pub(super) fn finish(self) {
        self.finished.store(true, Ordering::Release);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("request body aborted before its end (blocked, or the client failed)")]
struct Aborted;

enum Rest {
    None,
    Client(Incoming),
    Pump {
        rx: mpsc::Receiver<Frame<Bytes>>,
        finished: Arc<AtomicBool>,
    },
}

pub(super) struct ReplayBody {
    buffered: VecDeque<Frame<Bytes>>,
    buffered_len: u64,
    rest: Rest,
}

impl ReplayBody {
    /// The client's body, streamed as it arrives.
    pub(super) fn streaming(rest: Incoming) -> ReplayBody {
        ReplayBody {
            buffered: VecDeque::new(),
            buffered_len: 0,
            rest: Rest::Client(rest),
        }
    }

    /// Frames already read and inspected: the whole body.
    pub(super) fn replay(buffered: VecDeque<Frame<Bytes>>) -> ReplayBody {
        Self::with_rest(buffered, Rest::None)
    }

    /// Frames already read and inspected, then what the pump sends.
    pub(super) fn pumped(buffered: VecDeque<Frame<Bytes>>) -> (ReplayBody, PumpLink) {
        // One frame in flight: the pump waits for the upstream, so memory
        // stays bounded by the frames themselves.
        let (tx, rx) = mpsc::channel(1);
        let finished = Arc::new(AtomicBool::new(false));
        let link = PumpLink {
            tx,
            finished: Arc::clone(&finished),
        };
        (Self::with_rest(buffered, Rest::Pump { rx, finished }), link)
    }

    /// A second copy, for sending again to another server: only a body read
    /// whole (nothing left to stream, or a request without one) can be sent twice.
    pub(super) fn try_clone(&self) -> Option<ReplayBody> {
        match &self.rest {
            Rest::None => {}
            Rest::Client(incoming) if incoming.is_end_stream() => {}
            _ => return None,
        }
        let frames = self
            .buffered
            .iter()
            .map(|f| match (f.data_ref(), f.trailers_ref()) {
                (Some(d), _) => Some(Frame::data(d.clone())),
                (None, Some(t)) => Some(Frame::trailers(t.clone())),
                (None, None) => None,
            })
            .collect::<Option<VecDeque<_>>>()?;
        Some(Self::replay(frames))
    }

    fn with_rest(buffered: VecDeque<Frame<Bytes>>, rest: Rest) -> ReplayBody {
        let buffered_len = buffered
            .iter()
            .filter_map(Frame::data_ref)
            .map(|d| d.len() as u64)
            .sum();
        ReplayBody {
            buffered,
            buffered_len,
            rest,
        }
    }
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(frame) = this.buffered.pop_front() {
            if let Some(d) = frame.data_ref() {
                this.buffered_len -= d.len() as u64;
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        match &mut this.rest {
            Rest::Client(rest) => Pin::new(rest).poll_frame(cx).map_err(Into::into),
            Rest::Pump { rx, finished } => match rx.poll_recv(cx) {
                Poll::Ready(Some(frame)) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(None) if finished.load(Ordering::Acquire) => Poll::Ready(None),
                Poll::Ready(None) => Poll::Ready(Some(Err(Box::new(Aborted)))),
                Poll::Pending => Poll::Pending,
            },
            Rest::None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.buffered.is_empty()
            && match &self.rest {
                Rest::None => true,
                Rest::Client(r) => r.is_end_stream(),
                Rest::Pump { .. } => false,
            }
    }

    fn size_hint(&self) -> SizeHint {
        let rest = match &self.rest {
            Rest::None => SizeHint::with_exact(0),
            Rest::Client(r) => r.size_hint(),
            Rest::Pump { .. } => SizeHint::new(),
        };
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + self.buffered_len);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + self.buffered_len);
        }
        hint
    }
}
