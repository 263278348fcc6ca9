//! Where the policy in force is kept, for the two that change it (the admin
//! API and the cluster's sync): the live snapshot, the file a change is saved
//! to, the lock that serializes changes, and, in a cluster, Redis and the
//! revision this node has.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::guard::redis::RedisLink;
use crate::protection::Live;

pub(crate) struct PolicyKeeper {
    pub live: Arc<Live>,
    /// Where a changed policy is saved (`None`: not saved).
    pub path: Option<PathBuf>,
    /// One change at a time, so that two writers cannot interleave their swaps.
    pub lock: tokio::sync::Mutex<()>,
    /// The cluster's Redis, when there is one (see `policy_sync`).
    pub redis: Option<Arc<RedisLink>>,
    /// The cluster policy revision this node has.
    pub rev: AtomicU64,
}

impl PolicyKeeper {
    pub(crate) fn new(
        live: Arc<Live>,
        path: Option<PathBuf>,
        redis: Option<Arc<RedisLink>>,
    ) -> PolicyKeeper {
        PolicyKeeper {
            live,
            path,
            lock: tokio::sync::Mutex::new(()),
            redis,
            rev: AtomicU64::new(0),
        }
    }
}
