//! The JSON-lines sink: a dedicated thread that drains the event queue. The
//! queue is bounded in entries and in bytes (`events.queue_bytes`), so what
//! waits for a slow stdout or disk stays bounded; the rest is dropped and
//! counted on the next line written.

use super::{ByteBudget, EventStats, Publisher, Queue, Queued};
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// Where events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkTarget {
    Stdout,
    File(PathBuf),
    None,
}

impl From<&str> for SinkTarget {
    /// `stdout` (or `-`), `none` (or `off`), else a file path.
    fn from(v: &str) -> SinkTarget {
        match v {
            "stdout" | "-" => SinkTarget::Stdout,
            "none" | "off" => SinkTarget::None,
            path => SinkTarget::File(PathBuf::from(path)),
        }
    }
}

/// The running sink. `close` (or dropping the last `Publisher`) flushes everything.
pub struct EventSink {
    handle: Option<JoinHandle<io::Result<()>>>,
    closing: Arc<AtomicBool>,
}

/// Events waiting to be written before new ones are dropped.
pub const QUEUE: usize = 16 * 1024;

impl EventSink {
    /// Starts the writer thread; returns it with the publisher handle.
    pub fn start(target: SinkTarget) -> io::Result<(EventSink, Publisher)> {
        Self::start_on(target, Publisher::disabled())
    }

    /// As [`start`](Self::start), adding the file to an existing bus.
    pub fn start_on(target: SinkTarget, bus: Publisher) -> io::Result<(EventSink, Publisher)> {
        let out: Box<dyn Write + Send> = match &target {
            SinkTarget::None => {
                let closing = Arc::default();
                return Ok((
                    EventSink {
                        handle: None,
                        closing,
                    },
                    bus,
                ));
            }
            SinkTarget::Stdout => Box::new(io::stdout()),
            SinkTarget::File(p) => Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        io::Error::new(e.kind(), format!("opening event file {}: {e}", p.display()))
                    })?,
            ),
        };
        let (tx, rx) = sync_channel(QUEUE);
        let budget = ByteBudget::new(bus.bounds().queue_bytes);
        let thread_budget = Arc::clone(&budget);
        let stats = Arc::clone(bus.stats());
        let thread_stats = Arc::clone(&stats);
        let closing = Arc::new(AtomicBool::new(false));
        let thread_closing = Arc::clone(&closing);
        let handle = std::thread::Builder::new()
            .name("wafer-events".into())
            .spawn(move || {
                write_loop(
                    rx,
                    BufWriter::new(out),
                    &thread_stats,
                    &thread_budget,
                    &thread_closing,
                )
            })?;
        Ok((
            EventSink {
                handle: Some(handle),
                closing,
            },
            bus.with_file(Queue::new(tx, budget), stats),
        ))
    }

    /// Waits until every queued event is written. Publishing must have
    /// stopped; a `Publisher` still held elsewhere (a live admin connection
    /// outlives the shutdown) does not keep the sink open.
    pub fn close(mut self) -> io::Result<()> {
        self.closing.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("event writer panicked"))),
            None => Ok(()),
        }
    }
}

fn write_loop(
    rx: Receiver<Queued>,
    mut out: BufWriter<Box<dyn Write + Send>>,
    stats: &EventStats,
    budget: &ByteBudget,
    closing: &AtomicBool,
) -> io::Result<()> {
    let mut reported_drops = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Queued { event: ev, bytes }) => {
                let dropped = stats.file_dropped.load(Ordering::Relaxed);
                let line = if dropped != reported_drops {
                    let mut e = (*ev).clone();
                    e.dropped_before = dropped - reported_drops;
                    reported_drops = dropped;
                    serde_json::to_string(&e)
                } else {
                    serde_json::to_string(&*ev)
                };
                out.write_all(line.map_err(io::Error::other)?.as_bytes())?;
                out.write_all(b"\n")?;
                drop(ev);
                budget.give(bytes);
                stats.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(RecvTimeoutError::Timeout) => {
                out.flush()?;
                // Nothing came for a while: whatever was queued before `close` is written.
                if closing.load(Ordering::Acquire) {
                    return Ok(());
                }
            }
            Err(RecvTimeoutError::Disconnected) => return out.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, RequestFacts};

    #[test]
    fn close_writes_every_queued_event_while_a_publisher_is_still_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let (sink, bus) = EventSink::start(SinkTarget::File(path.clone())).unwrap();
        let headers = http::HeaderMap::new();
        for i in 0..3 {
            let id = format!("{i:016x}");
            let facts = RequestFacts {
                id,
                ts_ms: 1,
                client_ip: "127.0.0.1".parse().unwrap(),
                method: "GET".into(),
                host: "a".into(),
                site: "default".into(),
                path: "/".into(),
                query: String::new(),
                user_agent: String::new(),
            };
            bus.publish(Event::guard(&facts, &headers, 403, "test"));
        }
        // As a live admin connection does, past the shutdown.
        let _held = bus.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(sink.close().map_err(|e| e.to_string())));
        let closed = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("close() returned although a publisher is still held");
        closed.unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.lines().count(), 3);
    }
}
