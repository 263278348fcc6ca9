//! The task that drains the bus into the store: batches of whatever is
//! waiting, one transaction each, so a burst costs a few commits instead of
//! one per event. A failed batch is retried (the store may be restarting); on
//! shutdown the queue is closed, drained and flushed.
//!
//! Durability: the writer never waits to fill a batch; it commits whatever is
//! queued as soon as the previous commit is done. An event is therefore
//! committed within about two commits of being published while the store
//! keeps up, and a `kill -9` loses what was published in that window. When
//! events come faster than the store writes them, a backlog forms; it is
//! bounded by `events.queue_bytes` (past it, events are dropped and counted)
//! and visible as `wafer_store_lag_events`, and a `kill -9` loses it too.
//!
//! The store is also kept within `store.max_bytes`: after every sixteenth of
//! that written, the writer asks the store for its size and removes the
//! oldest events past it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{Retention, Store};
use crate::events::{ByteBudget, EventStats, Queue, Queued, StoreQueue};

/// Most events in one transaction. When nothing is queued a batch is one
/// event; large batches only form behind a backlog, where throughput is what
/// bounds the loss (measured: batches of 256 wrote half as many events a second
/// as batches of 2,048, each commit rewriting the touched index pages).
pub const BATCH: usize = 2048;
/// Most bytes (as [`crate::events::bounds::approx_bytes`] counts) in one transaction.
pub const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Events waiting for the store before new ones are dropped (and counted);
/// the byte budget (`events.queue_bytes`) usually binds first.
pub const QUEUE: usize = 64 * 1024;

/// Retries of one batch once shutdown began; before that, retries go on.
const RETRIES_AT_SHUTDOWN: u32 = 5;

/// What the writer is given besides the store.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Bytes of events waiting for the store, at most.
    pub queue_bytes: usize,
    /// The store's size bound in bytes (0: none), kept as events are written.
    pub max_store_bytes: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue_bytes: crate::events::DEFAULT_QUEUE_BYTES,
            max_store_bytes: 0,
        }
    }
}

pub struct StoreWriter {
    task: tokio::task::JoinHandle<()>,
    closing: watch::Sender<bool>,
}

impl StoreWriter {
    /// Starts the writer; give the queue to the bus with `Publisher::with_store`.
    pub fn start(
        store: Arc<dyn Store>,
        stats: Arc<EventStats>,
        opts: WriterOptions,
    ) -> (StoreWriter, StoreQueue) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let budget = ByteBudget::new(opts.queue_bytes);
        let (closing, closing_rx) = watch::channel(false);
        let task = tokio::spawn(run(store, rx, stats, Arc::clone(&budget), opts, closing_rx));
        (StoreWriter { task, closing }, Queue::new(tx, budget))
    }

    /// Stops taking events, stores every one already accepted, and returns.
    pub async fn close(self) {
        let _ = self.closing.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "event store writer failed");
        }
    }
}

/// Waits for the first event, then takes what else is queued, up to a batch.
/// `None` once the queue is closed and empty.
async fn next_batch(rx: &mut mpsc::Receiver<Queued>) -> Option<(Vec<Queued>, usize)> {
    let first = rx.recv().await?;
    let mut bytes = first.bytes;
    let mut batch = vec![first];
    while batch.len() < BATCH && bytes < BATCH_BYTES {
        match rx.try_recv() {
            Ok(q) => {
                bytes += q.bytes;
                batch.push(q);
            }
            Err(_) => break,
        }
    }
    Some((batch, bytes))
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Queued>,
    stats: Arc<EventStats>,
    budget: Arc<ByteBudget>,
    opts: WriterOptions,
    mut closing: watch::Receiver<bool>,
) {
    let mut reported = 0;
    let mut closed = false;
    let check_every = (opts.max_store_bytes / 16).max(1024 * 1024);
    let mut since_check = 0u64;
    loop {
        let next = tokio::select! {
            next = next_batch(&mut rx) => next,
            _ = closing.changed(), if !closed => {
                // Later publishes fail (and are counted); what is queued is drained below.
                rx.close();
                closed = true;
                continue;
            }
        };
        let Some((queued, bytes)) = next else { break };
        let mut batch: Vec<_> = queued.into_iter().map(|q| q.event).collect();
        let dropped = stats.store_dropped.load(Ordering::Relaxed);
        if dropped != reported {
            let mut first = (*batch[0]).clone();
            first.dropped_before = dropped - reported;
            batch[0] = Arc::new(first);
            reported = dropped;
        }
        let len = batch.len() as u64;
        if insert_with_retry(&*store, batch, &closing).await {
            stats.stored.fetch_add(len, Ordering::Relaxed);
        } else {
            stats.store_failed.fetch_add(len, Ordering::Relaxed);
        }
        budget.give(bytes);
        since_check += bytes as u64;
        if opts.max_store_bytes > 0 && since_check >= check_every {
            since_check = 0;
            keep_within(&*store, opts.max_store_bytes).await;
        }
    }
}

/// Removes the oldest events while the store is larger than `max_bytes`.
async fn keep_within(store: &dyn Store, max_bytes: u64) {
    let r = Retention {
        max_age_ms: 0,
        max_events: 0,
        max_bytes,
    };
    match store.prune(r, crate::clock::now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            max_bytes,
            "oldest events removed: store at its size bound"
        ),
        Err(e) => tracing::warn!(error = %e, "keeping the store within its size bound failed"),
    }
}

async fn insert_with_retry(
    store: &dyn Store,
    batch: Vec<Arc<crate::events::Event>>,
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
