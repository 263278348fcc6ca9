//! Hot reload: the models directory's `ACTIVE` file is checked every two
//! seconds, and a newly named model is loaded and swapped in behind one
//! pointer. A request in flight keeps the model it started with; none waits
//! and none is dropped. A model that fails to load is logged and the one in
//! use stays.

use std::sync::Arc;

use super::{ActiveModel, AnomalyState, ModelsDir};

/// The model to start with: the active one in the directory, or the built-in
/// default when none is active (or the active one no longer loads), which
/// is `learning` when a learning period is configured.
pub fn initial(dir: &ModelsDir, learning: bool) -> Option<Arc<ActiveModel>> {
    match dir.active() {
        Ok(Some(v)) => match dir.load(&v) {
            Ok(model) => {
                return Some(Arc::new(ActiveModel {
                    version: v,
                    model,
                    learning: false,
                }));
            }
            Err(e) => {
                tracing::error!(error = %e, "active anomaly model does not load; using the built-in one")
            }
        },
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.path().display(), "reading the models directory")
        }
    }
    match super::builtin() {
        Ok(m) => Some(Arc::new(ActiveModel {
            version: m.version.clone(),
            model: m.model.clone(),
            learning,
        })),
        Err(e) => {
            tracing::error!(error = %e, "the built-in anomaly model does not load");
            None
        }
    }
}

/// Swaps in whatever `ACTIVE` names when it changes (a step for [`crate::periodic`]).
pub struct Reloader {
    dir: ModelsDir,
    anomaly: Arc<AnomalyState>,
    /// The version that last failed to load: not tried again until `ACTIVE` changes.
    refused: std::sync::Mutex<Option<String>>,
}

impl Reloader {
    pub fn new(dir: ModelsDir, anomaly: Arc<AnomalyState>) -> Reloader {
        Reloader {
            dir,
            anomaly,
            refused: std::sync::Mutex::new(None),
        }
    }

    pub async fn check(self: Arc<Self>) {
        let named = match self.dir.active() {
            Ok(Some(v)) => v,
            Ok(None) => return,
            Err(e) => return tracing::warn!(error = %e, "reading the active model name"),
        };
        let current = self.anomaly.active();
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if current.as_ref().is_some_and(|m| m.version == named)
            || refused.as_deref() == Some(&named)
        {
            return;
        }
        let me = Arc::clone(&self);
        let v = named.clone();
        let loaded = tokio::task::spawn_blocking(move || me.dir.load(&v)).await;
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        match loaded {
            Ok(Ok(model)) => {
                tracing::info!(version = %named, "anomaly model activated");
                self.anomaly.activate(ActiveModel {
                    version: named,
                    model,
                    learning: false,
                });
                *refused = None;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "refusing the newly active anomaly model; keeping the one in use");
                *refused = Some(named);
            }
            Err(e) => tracing::error!(error = %e, "loading the anomaly model"),
        }
    }
}
