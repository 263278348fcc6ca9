//! The protection in force for a site: the engine (policy and rules), the
//! policy's IP lists, its rate limits and ban settings, behind one pointer,
//! so a policy change is one atomic swap. A request keeps the snapshot it
//! started with; it never sees the old engine with the new lists.

use arc_swap::ArcSwap;
use std::sync::Arc;
use wafer_engine::Engine;

use crate::guard::{IpLists, Throttle};

/// One snapshot: what a policy change replaces, in one step.
pub struct Protection {
    pub engine: Engine,
    pub ip_lists: IpLists,
    pub throttle: Throttle,
}

/// The snapshot in force, swapped whole on a policy change.
pub struct Live {
    current: ArcSwap<Protection>,
}

impl Live {
    /// Without rate limits or bans.
    pub fn new(engine: Engine, ip_lists: IpLists) -> Live {
        Live::of(Protection {
            engine,
            ip_lists,
            throttle: Throttle::default(),
        })
    }

    pub fn of(protection: Protection) -> Live {
        Live {
            current: ArcSwap::from_pointee(protection),
        }
    }

    /// The snapshot in force now, for one request or one change.
    pub fn snapshot(&self) -> Arc<Protection> {
        self.current.load_full()
    }

    /// Puts `next` in force for every request that starts from now on.
    pub fn replace(&self, next: Protection) {
        self.current.store(Arc::new(next));
    }

    /// As [`replace`](Self::replace), with a snapshot another `Live` holds.
    pub fn replace_shared(&self, next: Arc<Protection>) {
        self.current.store(next);
    }
}
