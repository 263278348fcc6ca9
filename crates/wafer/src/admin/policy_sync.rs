//! One policy for a cluster: a change made through any node's admin API is
//! written to Redis (`wafer:policy`, with `wafer:policy:rev` counting changes),
//! and every node checks the count every two seconds and applies a newer
//! document (validated and saved like a PUT). A node that joins adopts the
//! cluster's policy. The last change wins; the per-document ETag still guards
//! edits made through one node. IP lists, exclusions and routes travel this
//! way; while Redis is away each node keeps the policy it has.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::keeper::PolicyKeeper;
use super::policy::PolicyDoc;

const DOC: &str = "wafer:policy";
const REV: &str = "wafer:policy:rev";
const PUBLISH: &str = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('INCR', KEYS[2])";

/// Shares a change with the cluster (nothing without Redis).
pub(crate) async fn publish(keeper: &PolicyKeeper, doc: &PolicyDoc) {
    let Some(r) = &keeper.redis else { return };
    let Ok(json) = serde_json::to_string(doc) else {
        return;
    };
    let script = redis::Script::new(PUBLISH);
    let rev = r
        .run("policy publish", |mut conn| async move {
            let mut call = script.key(DOC);
            call.key(REV).arg(json);
            call.invoke_async::<u64>(&mut conn).await
        })
        .await;
    match rev {
        Some(rev) => {
            keeper.rev.fetch_max(rev, Ordering::Relaxed);
        }
        None => tracing::warn!("policy changed on this node only: redis is unreachable"),
    }
}

/// Applies a newer cluster policy, if there is one (a step for [`crate::periodic`]).
pub(crate) async fn check(keeper: Arc<PolicyKeeper>) {
    let Some(r) = keeper.redis.clone() else {
        return;
    };
    let latest = r
        .run("policy sync", |mut conn| async move {
            redis::pipe()
                .cmd("GET")
                .arg(REV)
                .cmd("GET")
                .arg(DOC)
                .query_async::<(Option<u64>, Option<String>)>(&mut conn)
                .await
        })
        .await;
    let Some((Some(rev), Some(json))) = latest else {
        return;
    };
    if rev <= keeper.rev.load(Ordering::Relaxed) {
        return;
    }
    keeper.rev.store(rev, Ordering::Relaxed);
    let doc: PolicyDoc = match serde_json::from_str(&json) {
        Ok(d) => d,
        Err(e) => {
            return tracing::error!(error = %e, rev, "the cluster's policy does not parse; keeping this node's");
        }
    };
    let applied = super::policy::apply(&keeper, None, |d| *d = doc).await;
    match applied {
        Ok(_) => tracing::info!(rev, "policy changed by another node applies here"),
        Err(e) => {
            tracing::error!(error = ?e, rev, "the cluster's policy is not valid here; keeping this node's")
        }
    }
}
