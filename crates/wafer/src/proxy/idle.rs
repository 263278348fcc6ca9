//! Closing connections that do nothing, whatever the protocol.
//!
//! hyper's header timer starts only once a request has begun, and the
//! HTTP/1-or-2 detection before it waits for a first byte forever, so a
//! connection that sends nothing (or an h2 connection between streams) would
//! stay open for good. Here the socket itself is watched: while no request is
//! in flight, a read past the deadline fails and hyper closes the connection.
//! The deadline is `first` after accept until a first request head is
//! complete, then `idle` after the last request in flight ended. A request is
//! in flight from its complete head until its response body is dropped;
//! after a `101` the connection is the upgraded protocol's and is not watched.
//!
//! Writes are watched too, against a client that asks and then does not read
//! (a slow read holds its connection, its place under the cap and an upstream
//! connection): a write the socket cannot take for `write_stall` fails, and
//! hyper closes the connection. This also holds after an upgrade.

use futures_util::task::AtomicWaker;
use http::{Response, StatusCode};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::conn::Slot;

/// How long a connection may sit without a request in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// From accept to the first complete request head.
    pub(crate) first: Duration,
    /// From the end of one request to the next complete head.
    pub(crate) idle: Duration,
    /// Longest a write may wait for the client to read.
    pub(crate) write_stall: Duration,
}

/// What a connection is doing, shared by its socket and its requests.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    served: AtomicBool,
    upgraded: AtomicBool,
    /// When the last request in flight ended, in ms after `epoch`.
    idle_since_ms: AtomicU64,
    /// The socket's reader, woken when the connection falls idle so it arms its timer.
    reader: AtomicWaker,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
            reader: AtomicWaker::new(),
        }
    }

    /// A request head is complete: the connection is busy until the returned
    /// guard (carried by the response body) is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Release);
        Busy(Arc::clone(self))
    }

    /// When an idle connection is closed; `None` while it is busy or upgraded.
    fn deadline(&self, limits: Limits) -> Option<Instant> {
        if self.upgraded.load(Ordering::Acquire) || self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = self.epoch + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
        let allowed = if self.served.load(Ordering::Acquire) {
            limits.idle
        } else {
            limits.first
        };
        Some(since + allowed)
    }
}

/// One request in flight (see [`Activity::begin`]).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.0;
        let ms = u64::try_from(a.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Before the count drops, so a reader that sees the connection idle sees since when.
        a.idle_since_ms.fetch_max(ms, Ordering::AcqRel);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
        a.reader.wake();
    }
}

/// The response leaves with the request's [`Busy`] guard in its body, so the
/// connection counts as busy until the body is sent or dropped. A `101`
/// hands the connection to the upgraded protocol: no longer watched.
pub(crate) fn finish<B>(resp: Response<B>, busy: Busy) -> Response<TrackedBody<B>> {
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        busy.0.upgraded.store(true, Ordering::Release);
    }
    resp.map(|inner| TrackedBody { inner, _busy: busy })
}

/// A response body that keeps its request in flight.
pub(crate) struct TrackedBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B: http_body::Body + Unpin> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A client socket whose reads fail once it has been idle past its deadline.
/// It also holds the connection's place under the cap.
pub(crate) struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
    limits: Limits,
    timer: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    expired: bool,
    /// Runs while a write waits for the client to read.
    write_timer: Pin<Box<Sleep>>,
    write_waiting: bool,
    slot: Slot,
}

impl<T> Watched<T> {
    pub(crate) fn new(io: T, slot: Slot, limits: Limits) -> (Watched<T>, Arc<Activity>) {
        let activity = Arc::new(Activity::new());
        let deadline = activity.epoch + limits.first;
        let w = Watched {
            io,
            activity: Arc::clone(&activity),
            limits,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            armed: Some(deadline),
            expired: false,
            write_timer: Box::pin(tokio::time::sleep_until(deadline)),
            write_waiting: false,
            slot,
        };
        (w, activity)
    }

    /// `Err` once the connection has been idle too long.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.expired {
            return Err(expired());
        }
        self.activity.reader.register(cx.waker());
        let Some(deadline) = self.activity.deadline(self.limits) else {
            return Ok(());
        };
        if self.armed != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.armed = Some(deadline);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.slot
                .connections()
                .timed_out
                .fetch_add(1, Ordering::Relaxed);
            self.expired = true;
            return Err(expired());
        }
        Ok(())
    }
}

impl<T> Watched<T> {
    /// Passes a write's result on; a write still waiting past `write_stall`
    /// becomes an error (the timer wakes the task, so it is seen in time).
    fn watch_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if !r.is_pending() {
            self.write_waiting = false;
            return r;
        }
        if !self.write_waiting {
            self.write_waiting = true;
            let at = Instant::now() + self.limits.write_stall;
            self.write_timer.as_mut().reset(at);
        }
        if self.write_timer.as_mut().poll(cx).is_ready() {
            self.slot
                .connections()
                .write_stalled
                .fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the response in time",
            )));
        }
        Poll::Pending
    }
}

fn expired() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no request on this connection in time",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch_write(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.watch_write(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::conn::Connections;

    fn limits() -> Limits {
        Limits {
            first: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            write_stall: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn deadline_runs_from_accept_then_from_the_last_request() {
        let conns = Arc::new(Connections::new(4));
        let (w, a) = Watched::new((), conns.admit().unwrap(), limits());
        let start = a.epoch;
        assert_eq!(a.deadline(limits()), Some(start + Duration::from_secs(10)));
        let busy = a.begin();
        let second = a.begin();
        assert_eq!(a.deadline(limits()), None, "busy");
        drop(busy);
        assert_eq!(a.deadline(limits()), None, "one request still in flight");
        drop(second);
        let idle = a.deadline(limits()).expect("idle again");
        // From when the last request ended, by the idle limit, not the first one's.
        assert!(idle >= start + Duration::from_secs(60), "{idle:?}");
        assert!(idle <= Instant::now() + Duration::from_secs(60), "{idle:?}");
        let up = a.begin();
        drop(finish(
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .body(())
                .unwrap(),
            up,
        ));
        assert_eq!(a.deadline(limits()), None, "upgraded");
        drop(w);
        assert_eq!(conns.open(), 0);
    }
}
