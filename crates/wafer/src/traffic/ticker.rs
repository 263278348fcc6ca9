//! Once a second: the difference since the last tick goes out as telemetry
//! (the WebSocket tap) and into the current minute; each minute's row is
//! written to the store when the minute ends, and every few seconds while it
//! runs, so charts are current. On close the running minute is written.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::{Second, Traffic};
use crate::store::Store;

/// How often the running minute is rewritten to the store.
const PARTIAL_EVERY: u32 = 10;

pub(crate) struct Ticker {
    task: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Ticker {
    pub(crate) fn start(
        traffic: Arc<Traffic>,
        node: String,
        store: Option<Arc<dyn Store>>,
        telemetry: broadcast::Sender<Arc<Second>>,
    ) -> Ticker {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(traffic, node, store, telemetry, stop_rx));
        Ticker { task, stop }
    }

    /// Writes the running minute and stops.
    pub(crate) async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn minute_of(ms: u64) -> u64 {
    ms - ms % 60_000
}

async fn run(
    traffic: Arc<Traffic>,
    node: String,
    store: Option<Arc<dyn Store>>,
    telemetry: broadcast::Sender<Arc<Second>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = traffic.snapshot();
    let mut minute = minute_of(crate::clock::now_ms());
    // Counters at the start of the running minute.
    let mut minute_start = last.clone();
    let mut ticks = 0u32;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.changed() => true,
        };
        let now = crate::clock::now_ms();
        let snap = traffic.snapshot();
        let delta = snap.since(&last);
        let _ = telemetry.send(Arc::new(Second::from_delta(now, &delta)));
        last = snap.clone();
        ticks += 1;
        let this_minute = minute_of(now);
        if this_minute != minute {
            write(&store, snap.since(&minute_start).minute(minute, &node)).await;
            minute = this_minute;
            minute_start = snap;
            ticks = 0;
        } else if stopping || ticks.is_multiple_of(PARTIAL_EVERY) {
            let row = snap.since(&minute_start);
            if row.requests > 0 {
                write(&store, row.minute(minute, &node)).await;
            }
        }
        if stopping {
            return;
        }
    }
}

async fn write(store: &Option<Arc<dyn Store>>, row: crate::store::TrafficMinute) {
    if let Some(store) = store
        && let Err(e) = store.record_traffic(vec![row]).await
    {
        tracing::warn!(error = %e, "writing traffic counters failed");
    }
}
