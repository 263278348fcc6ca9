//! Background work on a timer, stopped together at shutdown: the model, GeoIP
//! and list-file watchers, and the cluster's ban and policy syncs. Each is one
//! step run every period; a step that overruns its period skips the missed ticks.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) struct Periodic {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Default for Periodic {
    fn default() -> Self {
        Periodic {
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }
}

impl Periodic {
    /// Runs `step` every `period` (the first at once) until [`stop`](Self::stop).
    pub(crate) fn every<F, Fut>(&mut self, period: Duration, mut step: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tick.tick() => step().await,
                }
            }
        }));
    }

    /// Runs `task` until it ends; it is told to by its receiver changing.
    pub(crate) fn until_stopped<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(task(self.stop.subscribe())));
    }

    /// Stops every task and waits for the steps in progress to end.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
