//! The learning period: until a model trained on this site is active, the
//! proxy keeps the first allowed requests it sees (up to `anomaly.learn_requests`),
//! then trains on them in the background, saves the model to the models
//! directory and switches to it. The built-in model only scores meanwhile:
//! a generic model flags much of any particular site's normal traffic (12 to
//! 50 % of real browser traffic in `docs/ANOMALY.md`), so its flags would be noise.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use wafer_engine::Request;
use wafer_engine::anomaly::{DEFAULT_TARGET_FPR, ForestParams, Model};

use super::{ActiveModel, ModelsDir};
use crate::proxy::Shared;

/// Body bytes the whole learning set may hold. A request is learned only with
/// its body whole (at most the features' `MAX_BODY`): a cut body would give
/// other features at training than the same request gets when scored.
const BODY_BUDGET: usize = 64 << 20;

pub struct Learner {
    /// Where the learned model is saved.
    pub dir: std::path::PathBuf,
    want: usize,
    taken: Mutex<Vec<Request>>,
    /// Set once the requests are all in (then nothing more is taken).
    full: AtomicBool,
    body_bytes: AtomicUsize,
}

impl Learner {
    pub fn new(want: usize, dir: std::path::PathBuf) -> Learner {
        Learner {
            dir,
            want,
            taken: Mutex::new(Vec::with_capacity(want.min(100_000))),
            full: AtomicBool::new(want == 0),
            body_bytes: AtomicUsize::new(0),
        }
    }

    /// Whether requests are still wanted (cheap: checked on every request).
    pub fn wants(&self) -> bool {
        !self.full.load(Ordering::Relaxed)
    }

    /// Whether this request would be learned: still wanted, and its body can be kept whole.
    pub fn takes(&self, req: &Request) -> bool {
        self.wants()
            && !req.body_truncated
            && req.body.len() <= wafer_engine::anomaly::features::MAX_BODY
            && self.body_bytes.load(Ordering::Relaxed) + req.body.len() <= BODY_BUDGET
    }

    pub fn progress(&self) -> (usize, usize) {
        let n = self.taken.lock().map_or(self.want, |t| t.len());
        (if self.wants() { n } else { self.want }, self.want)
    }

    /// Keeps an allowed request (if it [`takes`](Self::takes) it). Returns the
    /// training set exactly once, when it is complete.
    pub fn offer(&self, req: Request) -> Option<Vec<Request>> {
        if !self.takes(&req) {
            return None;
        }
        self.body_bytes.fetch_add(req.body.len(), Ordering::Relaxed);
        let mut t = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        if self.full.load(Ordering::Relaxed) {
            return None;
        }
        t.push(req);
        if t.len() < self.want {
            return None;
        }
        self.full.store(true, Ordering::Relaxed);
        Some(std::mem::take(&mut *t))
    }
}

/// Trains on the learning set, saves and activates the model, and swaps it in.
pub fn finish(requests: Vec<Request>, dir: ModelsDir, shared: Arc<Shared>) {
    tokio::task::spawn_blocking(move || {
        let n = requests.len();
        let started = std::time::Instant::now();
        let trained = Model::train(
            &requests,
            &ForestParams::default(),
            DEFAULT_TARGET_FPR,
            crate::clock::now_ms(),
        );
        drop(requests);
        let model = match trained {
            Ok(m) => m,
            Err(e) => return tracing::error!(error = %e, "training on the learning period failed"),
        };
        let version = match dir.save(&model).and_then(|v| dir.activate(&v).map(|_| v)) {
            Ok(v) => v,
            Err(e) => return tracing::error!(error = %e, "saving the learned model failed"),
        };
        tracing::info!(
            %version,
            requests = n,
            ms = started.elapsed().as_millis() as u64,
            threshold = model.threshold,
            "anomaly model learned from this site's traffic; now active"
        );
        shared.model.store(Some(Arc::new(ActiveModel {
            version,
            model,
            learning: false,
        })));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_handed_over_once_and_bounded() {
        let l = Learner::new(3, "unused".into());
        let r = || Request::new("GET", "/a").body(vec![b'x'; 20_000]);
        let huge = Request::new("POST", "/a").body(vec![b'x'; 70_000]);
        assert!(
            !l.takes(&huge),
            "a body the features would cut is not learned"
        );
        assert!(l.offer(huge).is_none());
        let mut cut = r();
        cut.body_truncated = true;
        assert!(l.offer(cut).is_none());
        assert!(l.offer(r()).is_none());
        assert!(l.offer(r()).is_none());
        let set = l.offer(r()).expect("complete at 3");
        assert_eq!(set.len(), 3);
        assert!(
            set.iter().all(|q| q.body.len() == 20_000),
            "bodies kept whole"
        );
        assert!(!l.wants());
        assert!(l.offer(r()).is_none(), "only once");
        assert_eq!(l.progress(), (3, 3));
        assert!(
            !Learner::new(0, "unused".into()).wants(),
            "0 turns learning off"
        );
    }
}
