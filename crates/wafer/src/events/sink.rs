//! The JSON-lines sink: a dedicated thread that drains the event queue. The
//! queue is bounded in entries and in bytes (`events.queue_bytes`), so what
//! waits for a slow stdout or disk stays bounded; the rest is dropped and
//! counted on the next line written.

use super::{ByteBudget, EventStats, Publisher, Queue, Queued};
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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

/// The running sink. Dropping the last `Publisher` and calling `close` flushes everything.
pub struct EventSink {
    handle: Option<JoinHandle<io::Result<()>>>,
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
            SinkTarget::None => return Ok((EventSink { handle: None }, bus)),
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
        let handle = std::thread::Builder::new()
            .name("wafer-events".into())
            .spawn(move || write_loop(rx, BufWriter::new(out), &thread_stats, &thread_budget))?;
        Ok((
            EventSink {
                handle: Some(handle),
            },
            bus.with_file(Queue::new(tx, budget), stats),
        ))
    }

    /// Waits until every queued event is written. All publishers must be dropped first.
    pub fn close(mut self) -> io::Result<()> {
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
            Err(RecvTimeoutError::Timeout) => out.flush()?,
            Err(RecvTimeoutError::Disconnected) => return out.flush(),
        }
    }
}
