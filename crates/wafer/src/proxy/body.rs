//! Request bodies on their way to the upstream: the frames buffered for
//! inspection, replayed first, then the rest of the client's stream, never
//! held whole in memory.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(super) struct ReplayBody {
    buffered: VecDeque<Frame<Bytes>>,
    buffered_len: u64,
    rest: Option<Incoming>,
}

impl ReplayBody {
    /// The client's body, streamed as it arrives.
    pub(super) fn streaming(rest: Incoming) -> ReplayBody {
        ReplayBody {
            buffered: VecDeque::new(),
            buffered_len: 0,
            rest: Some(rest),
        }
    }

    /// Frames already read, then whatever remains of `rest` (`None`: the body ended).
    pub(super) fn replay(buffered: VecDeque<Frame<Bytes>>, rest: Option<Incoming>) -> ReplayBody {
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
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.buffered.pop_front() {
            if let Some(d) = frame.data_ref() {
                this.buffered_len -= d.len() as u64;
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.buffered.is_empty() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self
            .rest
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |r| r.size_hint());
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + self.buffered_len);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + self.buffered_len);
        }
        hint
    }
}
