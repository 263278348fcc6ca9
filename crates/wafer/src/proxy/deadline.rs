//! How long a request body may take to arrive. Two bounds, whichever comes
//! first: no pause longer than `client_body` between two pieces, and, past a
//! first allowance of `client_body`, an average of at least
//! `client_body_min_rate` bytes a second since the body began. The pause
//! bound alone let a client send one byte every 29 s and hold a connection
//! and a request for days; the rate bound ends that within the allowance,
//! while a real upload on a slow link is far above the rate.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

use super::conn::Connections;
use super::{ProxyError, Timeouts};

pub(super) struct BodyClock {
    idle: Duration,
    min_rate: u64,
    start: Instant,
    received: u64,
    conns: Arc<Connections>,
}

impl BodyClock {
    /// Starts counting now (the body's first byte may come with the head).
    pub(super) fn new(t: &Timeouts, conns: &Arc<Connections>) -> BodyClock {
        BodyClock {
            idle: t.client_body,
            min_rate: t.client_body_min_rate.max(1),
            start: Instant::now(),
            received: 0,
            conns: Arc::clone(conns),
        }
    }

    /// The longest pause allowed between two pieces.
    pub(super) fn idle(&self) -> Duration {
        self.idle
    }

    /// The time by which the body must have reached its current size had it
    /// come at the minimum rate, after the first allowance.
    fn rate_deadline(&self) -> Instant {
        let ms = self.received.saturating_mul(1000) / self.min_rate;
        self.start + self.idle + Duration::from_millis(ms)
    }

    /// The body's next frame, or why it did not come in time.
    pub(super) async fn frame(
        &mut self,
        body: &mut Incoming,
    ) -> Result<Option<Frame<Bytes>>, ProxyError> {
        let by_rate = self.rate_deadline();
        let by_pause = Instant::now() + self.idle;
        // A frame already there is taken even past the deadline: the timer is
        // polled after the body.
        match tokio::time::timeout_at(by_rate.min(by_pause), body.frame()).await {
            Err(_) if by_rate <= by_pause => {
                self.conns.slow_bodies.fetch_add(1, Ordering::Relaxed);
                Err(ProxyError::ClientBodyTooSlow {
                    received: self.received,
                    after: self.start.elapsed(),
                    min_rate: self.min_rate,
                })
            }
            Err(_) => Err(ProxyError::ClientBodyTimeout(self.idle)),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => Err(ProxyError::ClientBody(e)),
            Ok(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    self.received += d.len() as u64;
                }
                Ok(Some(frame))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_deadline_grows_with_what_arrived() {
        let t = Timeouts {
            client_body: Duration::from_secs(30),
            client_body_min_rate: 1000,
            ..Timeouts::default()
        };
        let mut c = BodyClock::new(&t, &Arc::new(Connections::new(1)));
        let start = c.start;
        assert_eq!(c.rate_deadline(), start + Duration::from_secs(30));
        // One byte a second for a minute buys 60 ms: the allowance is nearly spent.
        c.received = 60;
        assert_eq!(
            c.rate_deadline(),
            start + Duration::from_secs(30) + Duration::from_millis(60)
        );
        // A megabyte at the minimum rate buys its 1,048 s.
        c.received = 1 << 20;
        assert_eq!(
            c.rate_deadline(),
            start + Duration::from_secs(30) + Duration::from_millis(1_048_576)
        );
    }
}
