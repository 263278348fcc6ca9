//! A listener's client connections: how many may be open at once (one cap per
//! process, shared by the proxy's workers, so the file descriptors left over
//! stay free for the admin listener, the store and upstream connections),
//! the clean refusal at the cap, and accept failures, which back off and are
//! logged at most once a second with a count instead of once each.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// One listener's connections and what became of them (`/metrics`).
#[derive(Debug)]
pub struct Connections {
    max: usize,
    open: AtomicUsize,
    /// Connections served.
    pub accepted: AtomicU64,
    /// Connections refused at the cap.
    pub refused: AtomicU64,
    /// Connections closed for sending no complete request in time (see `idle`).
    pub timed_out: AtomicU64,
    /// Request bodies refused with 408 for arriving too slowly on average.
    pub slow_bodies: AtomicU64,
    /// Connections closed because the client stopped reading (see `idle`).
    pub write_stalled: AtomicU64,
    pub accept_errors: AtomicU64,
    /// Accept errors since the last line logged about them.
    unlogged: AtomicU64,
    /// When that line was, in ms after `epoch` (0: never).
    logged_ms: AtomicU64,
    epoch: Instant,
}

/// At the cap an HTTP/1 client gets this instead of a silent close; an h2
/// client sees the connection end. Written once, never waited on.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
content-length: 0\r\nretry-after: 1\r\ncache-control: no-store\r\n\r\n";

/// Connections the kernel queues for accept. The usual 128 overflows in a
/// burst, and what overflows is half-open: the client believes it connected
/// and waits, never accepted, never refused.
const BACKLOG: u32 = 1024;

/// Longest pause between two accept attempts while accepting fails.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const LOG_EVERY: Duration = Duration::from_secs(1);

impl Connections {
    /// At most `max` (at least 1) connections open at once.
    pub fn new(max: usize) -> Connections {
        Connections {
            max: max.max(1),
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            slow_bodies: AtomicU64::new(0),
            write_stalled: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
            logged_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for one more connection, or `None` at the cap.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Some(Slot(Arc::clone(self)))
    }

    /// Counts a failed accept and logs it, at most once per second for the
    /// whole process, with how many failed since the last line.
    fn accept_failed(&self, listener: &'static str, e: &io::Error) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let last = self.logged_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= LOG_EVERY.as_millis() as u64;
        if due
            && self
                .logged_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let failures = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::warn!(
                listener,
                error = %e,
                failures,
                open = self.open(),
                "accepting connections fails (logged at most once a second)"
            );
        }
    }
}

/// One open connection's place under the cap, given back when dropped (with
/// the connection's socket, also after an upgrade to WebSocket).
#[derive(Debug)]
pub(crate) struct Slot(Arc<Connections>);

impl Slot {
    pub(crate) fn connections(&self) -> &Connections {
        &self.0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A listening socket with a backlog for bursts (see `BACKLOG`).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Errors about the one connection being accepted (it went away first), not
/// about the listener or the process: the next accept may well work at once.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Accepts until `shutdown` resolves. Each connection within the cap goes to
/// `serve` with its slot; past the cap it is refused at once. When accepting
/// fails (out of file descriptors above all) the loop waits, 10 ms doubling
/// up to a second, instead of spinning on the pending connection.
pub(crate) async fn accept_loop(
    listener: &TcpListener,
    conns: &Arc<Connections>,
    name: &'static str,
    shutdown: impl std::future::Future<Output = ()>,
    mut serve: impl FnMut(TcpStream, SocketAddr, Slot),
) {
    tokio::pin!(shutdown);
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                match conns.admit() {
                    Some(slot) => serve(stream, peer, slot),
                    None => refuse(stream, conns),
                }
            }
            Err(e) => {
                conns.accept_failed(name, &e);
                if transient(&e) {
                    continue;
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_BACKOFF);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => return,
                }
            }
        }
    }
}

/// Past the cap: a 503 if the socket takes it now, then the connection is
/// closed. Nothing waits, so refusing costs no file descriptor past this call.
fn refuse(stream: TcpStream, conns: &Connections) {
    conns.refused.fetch_add(1, Ordering::Relaxed);
    // What the client already sent is read first: closing a socket with
    // unread data resets it, and the client might lose the 503.
    let mut scratch = [0u8; 2048];
    let _ = stream.try_read(&mut scratch);
    let _ = stream.try_write(REFUSAL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_admits_up_to_max_and_frees_a_place_on_drop() {
        let c = Arc::new(Connections::new(2));
        let a = c.admit().expect("first");
        let b = c.admit().expect("second");
        assert!(c.admit().is_none());
        assert_eq!(c.open(), 2);
        drop(a);
        let _c = c.admit().expect("a place again");
        drop(b);
        assert_eq!(c.open(), 1);
        assert_eq!(c.accepted.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn accept_failures_are_counted_each_but_logged_once_per_interval() {
        let c = Connections::new(1);
        let e = io::Error::from_raw_os_error(24); // EMFILE
        for _ in 0..100 {
            c.accept_failed("test", &e);
        }
        assert_eq!(c.accept_errors.load(Ordering::Relaxed), 100);
        // The first failure was logged; the other 99 wait for the next line.
        assert_eq!(c.unlogged.load(Ordering::Relaxed), 99);
    }

    #[tokio::test]
    async fn past_the_cap_a_client_gets_503_and_the_connection_ends() {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(Connections::new(1));
        let held = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (c, h) = (Arc::clone(&conns), Arc::clone(&held));
        let task = tokio::spawn(async move {
            accept_loop(
                &listener,
                &c,
                "test",
                async {
                    let _ = stopped.await;
                },
                move |s, _, slot| h.lock().unwrap().push((s, slot)),
            )
            .await;
        });
        let _first = TcpStream::connect(addr).await.unwrap();
        // Sends nothing: a request not yet read when the socket closes could
        // reset it before the 503 is read, which would make this test flaky.
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut out)).await;
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
        assert_eq!(conns.refused.load(Ordering::Relaxed), 1);
        assert_eq!(conns.open(), 1);
        let _ = stop.send(());
        task.await.unwrap();
    }
}
