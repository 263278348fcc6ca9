//! Queues bounded in bytes as well as in entries: an event's size is computed
//! once when it is published, taken from the queue's budget when it is queued
//! and given back when its consumer is done with it. Past the budget, events
//! are dropped (and counted), never waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct ByteBudget {
    used: AtomicUsize,
    max: usize,
}

impl ByteBudget {
    pub fn new(max: usize) -> Arc<ByteBudget> {
        Arc::new(ByteBudget {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Takes `n` bytes if they fit. Racing callers may both be refused near
    /// the limit: refusing is the safe side.
    pub fn try_take(&self, n: usize) -> bool {
        let before = self.used.fetch_add(n, Ordering::AcqRel);
        if before.saturating_add(n) > self.max {
            self.used.fetch_sub(n, Ordering::AcqRel);
            false
        } else {
            true
        }
    }

    pub fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes queued right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

/// An event on its way to a consumer, with the bytes it holds of the queue's budget.
#[derive(Debug)]
pub struct Queued {
    pub event: Arc<super::Event>,
    pub bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_budget_and_takes_again_once_given_back() {
        let b = ByteBudget::new(100);
        assert!(b.try_take(60));
        assert!(!b.try_take(50));
        assert_eq!(b.used(), 60);
        assert!(b.try_take(40));
        b.give(60);
        assert!(b.try_take(50));
        assert_eq!(b.used(), 90);
    }
}
