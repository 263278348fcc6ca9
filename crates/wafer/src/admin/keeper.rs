//! Where each site's policy is found and kept, for the two that change it
//! (the admin API and the cluster's sync): the sites in force (each site's
//! protection lives in its `Live`), the directory a change is saved to, the
//! lock that serializes changes (and reloads), and, in a cluster, Redis and
//! the revision of each site's policy this node has.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::guard::redis::RedisLink;
use crate::protection::{Live, Protection};
use crate::proxy::Sites;

pub(crate) struct PolicyKeeper {
    /// The proxy's sites in force.
    pub sites: Arc<ArcSwap<Sites>>,
    /// Where changed policies are saved, one file per site (`None`: not saved).
    pub data_dir: Option<PathBuf>,
    /// One change (or reload) at a time, so that two writers cannot
    /// interleave their swaps, and a reload cannot drop a change made meanwhile.
    pub lock: tokio::sync::Mutex<()>,
    /// The cluster's Redis, when there is one (see `policy_sync`).
    pub redis: Option<Arc<RedisLink>>,
    /// The cluster revision of each site's policy this node has.
    pub revs: Mutex<HashMap<String, u64>>,
}

impl PolicyKeeper {
    pub(crate) fn new(
        sites: Arc<ArcSwap<Sites>>,
        data_dir: Option<PathBuf>,
        redis: Option<Arc<RedisLink>>,
    ) -> PolicyKeeper {
        PolicyKeeper {
            sites,
            data_dir,
            lock: tokio::sync::Mutex::new(()),
            redis,
            revs: Mutex::new(HashMap::new()),
        }
    }

    /// The site named, or with `None` the primary one (`Sites::primary`):
    /// its name and its protection's home.
    pub(crate) fn site(&self, name: Option<&str>) -> Option<(String, Arc<Live>)> {
        let sites = self.sites.load();
        let site = match name {
            Some(n) => sites.iter().find(|s| &*s.name == n)?,
            None => sites.primary(),
        };
        Some((site.name.to_string(), Arc::clone(&site.protection)))
    }

    /// The primary site's protection in force (for the views that are not per site yet).
    pub(crate) fn primary(&self) -> Arc<Protection> {
        self.sites.load().primary().protection.snapshot()
    }

    /// Every site's name, in the configuration's order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.sites
            .load()
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    }
}
