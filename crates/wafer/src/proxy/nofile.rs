//! The file-descriptor budget. Every client connection is a descriptor, and
//! one being forwarded holds an upstream connection too; when they run out,
//! accept fails for every listener at once, the admin's included. So the
//! soft limit is raised to the hard one at start (the usual soft default of
//! 1,024 is far below what a proxy needs), and the proxy's connection cap is
//! set to leave room for the admin listener and a reserve.

/// The admin listener's own cap (dashboards, API scripts, scrapers).
pub const DEFAULT_ADMIN_CONNECTIONS: usize = 64;

/// Descriptors kept for the rest: the store, Redis, event and policy files,
/// the runtime's own (event loops, wakers, signal pipes).
const RESERVE: u64 = 64;

/// The default cap stops here even when descriptors allow more: past it
/// memory, not descriptors, is what to size for (set it explicitly).
const DEFAULT_CEILING: usize = 16_384;

/// Fewest client connections worth starting with.
pub const MIN_CONNECTIONS: usize = 16;

/// The descriptor limit before and after raising it.
#[derive(Clone, Copy, Debug)]
pub struct Raised {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (a failure to raise it
/// is logged, and the limit in force kept). `Err`: the limit is unreadable.
pub fn raise() -> std::io::Result<Raised> {
    let (before, hard) = rlimit::Resource::NOFILE.get()?;
    let soft = match rlimit::increase_nofile_limit(hard) {
        Ok(soft) => soft,
        Err(e) => {
            tracing::warn!(error = %e, soft = before, hard, "could not raise the file descriptor limit");
            before
        }
    };
    Ok(Raised { before, soft, hard })
}

/// The most client connections a descriptor limit of `nofile` allows, the
/// admin listener's `admin` connections and the reserve taken off first.
pub fn budget(nofile: u64, admin: usize) -> usize {
    let spare = nofile.saturating_sub(RESERVE + admin as u64) / 2;
    usize::try_from(spare).unwrap_or(usize::MAX)
}

/// The proxy's cap when none is configured.
pub fn default_max_connections(budget: usize) -> usize {
    budget.min(DEFAULT_CEILING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_the_admin_and_a_reserve_and_pairs_each_client_with_an_upstream() {
        assert_eq!(budget(1024, 64), 448);
        assert_eq!(budget(256, 64), 64);
        assert_eq!(budget(100, 64), 0);
        assert_eq!(default_max_connections(budget(1 << 20, 64)), 16_384);
    }

    #[test]
    fn raising_keeps_the_soft_limit_at_or_below_the_hard_one() {
        let r = raise().expect("RLIMIT_NOFILE is readable here");
        assert!(r.soft <= r.hard && r.soft >= r.before, "{r:?}");
    }
}
