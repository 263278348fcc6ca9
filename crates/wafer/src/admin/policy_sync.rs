//! One policy per site for a cluster: a change made through any node's admin
//! API is written to Redis (`wafer:policy:<site>`, with
//! `wafer:policy:<site>:rev` counting that site's changes), and every node
//! checks the counts every two seconds and applies a newer document
//! (validated and saved like a PUT). A node that joins adopts the cluster's
//! policies. The last change wins; the per-document ETag still guards edits
//! made through one node. IP lists, exclusions, routes, rate limits and ban
//! settings travel this way; while Redis is away each node keeps the policies
//! it has. Sites are matched by name: every node should list the same sites.

use std::sync::Arc;

use super::keeper::PolicyKeeper;
use super::policy::PolicyDoc;
use crate::guard::redis::RedisLink;

const PUBLISH: &str = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('INCR', KEYS[2])";

fn doc_key(site: &str) -> String {
    format!("wafer:policy:{site}")
}

fn rev_key(site: &str) -> String {
    format!("wafer:policy:{site}:rev")
}

fn note_rev(keeper: &PolicyKeeper, site: &str, rev: u64) {
    let mut revs = keeper.revs.lock().unwrap_or_else(|p| p.into_inner());
    let have = revs.entry(site.to_owned()).or_insert(0);
    *have = (*have).max(rev);
}

/// Shares a change to `site`'s policy with the cluster (nothing without Redis).
pub(crate) async fn publish(keeper: &PolicyKeeper, site: &str, doc: &PolicyDoc) {
    let Some(r) = &keeper.redis else { return };
    let Ok(json) = serde_json::to_string(doc) else {
        return;
    };
    let script = redis::Script::new(PUBLISH);
    let keys = (doc_key(site), rev_key(site));
    let rev = r
        .run("policy publish", |mut conn| async move {
            let mut call = script.key(keys.0);
            call.key(keys.1).arg(json);
            call.invoke_async::<u64>(&mut conn).await
        })
        .await;
    match rev {
        Some(rev) => note_rev(keeper, site, rev),
        None => tracing::warn!(
            site,
            "policy changed on this node only: redis is unreachable"
        ),
    }
}

/// Applies each site's newer cluster policy, if any (a step for [`crate::periodic`]).
pub(crate) async fn check(keeper: Arc<PolicyKeeper>) {
    let Some(r) = keeper.redis.clone() else {
        return;
    };
    let names = keeper.names();
    let keys: Vec<String> = names.iter().map(|n| rev_key(n)).collect();
    let Some(revs) = r
        .run("policy sync", |mut conn| async move {
            redis::cmd("MGET")
                .arg(&keys)
                .query_async::<Vec<Option<u64>>>(&mut conn)
                .await
        })
        .await
    else {
        return;
    };
    for (site, rev) in names.iter().zip(revs) {
        let Some(rev) = rev else { continue };
        let have = keeper
            .revs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(site)
            .copied()
            .unwrap_or(0);
        if rev > have {
            adopt(&keeper, &r, site, rev).await;
        }
    }
}

/// Reads `site`'s cluster document and applies it here.
async fn adopt(keeper: &PolicyKeeper, r: &Arc<RedisLink>, site: &str, rev: u64) {
    let key = doc_key(site);
    let Some(Some(json)) = r
        .run("policy sync", |mut conn| async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<String>>(&mut conn)
                .await
        })
        .await
    else {
        return;
    };
    note_rev(keeper, site, rev);
    let doc: PolicyDoc = match serde_json::from_str(&json) {
        Ok(d) => d,
        Err(e) => {
            return tracing::error!(error = %e, site, rev, "the cluster's policy does not parse; keeping this node's");
        }
    };
    match super::policy::apply(keeper, Some(site), None, |d| *d = doc).await {
        Ok(_) => tracing::info!(site, rev, "policy changed by another node applies here"),
        Err(e) => {
            tracing::error!(error = ?e, site, rev, "the cluster's policy is not valid here; keeping this node's")
        }
    }
}
