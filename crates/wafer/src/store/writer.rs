//! The task that drains the bus into the store: batches of whatever is
//! waiting (up to [`BATCH`]), one transaction each, so a burst costs a few
//! commits instead of one per event. A failed batch is retried (the store may
//! be restarting); on shutdown the queue is closed, drained and flushed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::Store;
use crate::events::{Event, EventStats};

/// Most events in one transaction.
pub const BATCH: usize = 2048;
/// Events waiting for the store before new ones are dropped (and counted).
pub const QUEUE: usize = 64 * 1024;

/// Retries of one batch once shutdown began; before that, retries go on.
const RETRIES_AT_SHUTDOWN: u32 = 5;

pub struct StoreWriter {
    task: tokio::task::JoinHandle<()>,
    closing: watch::Sender<bool>,
}

impl StoreWriter {
    /// Starts the writer; give the sender to the bus with `Publisher::with_store`.
    pub fn start(
        store: Arc<dyn Store>,
        stats: Arc<EventStats>,
    ) -> (StoreWriter, mpsc::Sender<Arc<Event>>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (closing, closing_rx) = watch::channel(false);
        let task = tokio::spawn(run(store, rx, stats, closing_rx));
        (StoreWriter { task, closing }, tx)
    }

    /// Stops taking events, stores every one already accepted, and returns.
    pub async fn close(self) {
        let _ = self.closing.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "event store writer failed");
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Arc<Event>>,
    stats: Arc<EventStats>,
    mut closing: watch::Receiver<bool>,
) {
    let mut buf = Vec::with_capacity(BATCH);
    let mut reported = 0;
    let mut closed = false;
    loop {
        let n = tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => n,
            _ = closing.changed(), if !closed => {
                // Later publishes fail (and are counted); what is queued is drained below.
                rx.close();
                closed = true;
                continue;
            }
        };
        if n == 0 {
            break;
        }
        let dropped = stats.store_dropped.load(Ordering::Relaxed);
        if dropped != reported {
            let mut first = (*buf[0]).clone();
            first.dropped_before = dropped - reported;
            buf[0] = Arc::new(first);
            reported = dropped;
        }
        let batch = std::mem::replace(&mut buf, Vec::with_capacity(BATCH));
        let len = batch.len() as u64;
        if insert_with_retry(&*store, batch, &closing).await {
            stats.stored.fetch_add(len, Ordering::Relaxed);
        } else {
            stats.store_failed.fetch_add(len, Ordering::Relaxed);
        }
    }
}

async fn insert_with_retry(
    store: &dyn Store,
    batch: Vec<Arc<Event>>,
    closing: &watch::Receiver<bool>,
) -> bool {
    let mut delay = Duration::from_millis(50);
    let mut attempts_closing = 0;
    loop {
        match store.insert(batch.clone()).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(error = %e, events = batch.len(), "storing events failed; retrying");
                if *closing.borrow() {
                    attempts_closing += 1;
                    if attempts_closing > RETRIES_AT_SHUTDOWN {
                        tracing::error!(
                            events = batch.len(),
                            "giving up on storing events at shutdown"
                        );
                        return false;
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}
