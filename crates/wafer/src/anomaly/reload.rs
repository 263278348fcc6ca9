//! Hot reload: the models directory's `ACTIVE` file is checked every two
//! seconds, and a newly named model is loaded and swapped in behind one
//! pointer. A request in flight keeps the model it started with; none waits
//! and none is dropped. A model that fails to load is logged and the one in
//! use stays.

use std::sync::Arc;
use std::time::Duration;

use super::{ActiveModel, ModelsDir};
use crate::proxy::Shared;

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

/// Swaps in whatever `ACTIVE` names when it changes, until `stop` resolves.
pub async fn watch(
    dir: ModelsDir,
    shared: Arc<Shared>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(stop);
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        let named = match dir.active() {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "reading the active model name");
                continue;
            }
        };
        let current = shared.model.load();
        if current.as_ref().is_some_and(|m| m.version == named)
            || last_error.as_deref() == Some(&named)
        {
            continue;
        }
        let d = ModelsDir::new(dir.path());
        let v = named.clone();
        match tokio::task::spawn_blocking(move || d.load(&v)).await {
            Ok(Ok(model)) => {
                tracing::info!(version = %named, "anomaly model activated");
                shared.model.store(Some(Arc::new(ActiveModel {
                    version: named,
                    model,
                    learning: false,
                })));
                last_error = None;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "refusing the newly active anomaly model; keeping the one in use");
                last_error = Some(named);
            }
            Err(e) => tracing::error!(error = %e, "loading the anomaly model"),
        }
    }
}
