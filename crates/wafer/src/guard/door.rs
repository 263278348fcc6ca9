//! The door: everything decided about a request before it is inspected, in
//! order: IP lists (the policy's and the files'), bans, countries, rate
//! limits. An allow-listed client skips them all, and inspection too.

use http::{HeaderMap, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;

use super::bans::Bans;
use super::country::CountryGuard;
use super::limit::shared::Limiter;
use super::list_files::ListFiles;
use super::{GuardDecision, IpLists, Throttle};

/// The door's parts, each built complete by its owner before the door opens.
pub struct Door {
    /// Lists from files (`ip.allow_files`, `ip.block_files`), apart from the policy's.
    list_files: Option<Arc<ListFiles>>,
    bans: Bans,
    country: Option<Arc<CountryGuard>>,
    limiter: Limiter,
}

/// What the door says of a request.
#[derive(Debug)]
pub enum Entry {
    /// On an allow-list: forwarded without inspection.
    Trusted,
    /// Let in, to be inspected.
    Inspect,
    /// Refused before inspection.
    Refused(Refusal),
}

/// A request refused at the door.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    /// The event's reason; `None` when this client was already reported lately.
    pub report: Option<String>,
    /// For 429: when to come back.
    pub retry_after_us: Option<u64>,
}

impl Refusal {
    fn forbidden(report: Option<String>) -> Refusal {
        Refusal {
            status: StatusCode::FORBIDDEN,
            report,
            retry_after_us: None,
        }
    }
}

impl Door {
    pub fn new(
        list_files: Option<Arc<ListFiles>>,
        bans: Bans,
        country: Option<Arc<CountryGuard>>,
        limiter: Limiter,
    ) -> Door {
        Door {
            list_files,
            bans,
            country,
            limiter,
        }
    }

    /// A door with the policy's lists only: no list files, bans, countries or limits.
    pub fn lists_only() -> Door {
        Door::new(
            None,
            Bans::new(Default::default(), None),
            None,
            Limiter::new(None),
        )
    }

    /// The checks in order, with `site`'s lists and limits from the
    /// request's snapshot of its policy.
    pub async fn check(
        &self,
        site: &str,
        (lists, throttle): (&IpLists, &Throttle),
        client: IpAddr,
        path: &str,
        headers: &HeaderMap,
    ) -> Entry {
        let listed = match &self.list_files {
            Some(f) => lists.check_both(&f.lists.load(), client),
            None => lists.check(client),
        };
        match listed {
            GuardDecision::Allow => return Entry::Trusted,
            GuardDecision::Block => {
                let why = "client IP is on the block list".to_owned();
                return Entry::Refused(Refusal::forbidden(Some(why)));
            }
            GuardDecision::Inspect => {}
        }
        if let Some(ban) = self.bans.banned(client) {
            let report = self
                .bans
                .report(ban.ip)
                .then(|| format!("banned: {}", ban.reason));
            return Entry::Refused(Refusal::forbidden(report));
        }
        if let Some(why) = self.country.as_ref().and_then(|g| g.refuses(client)) {
            return Entry::Refused(Refusal::forbidden(Some(why)));
        }
        let limits = &throttle.rate_limits;
        if limits.is_empty() {
            return Entry::Inspect;
        }
        match self
            .limiter
            .check(site, limits, path, client, headers)
            .await
        {
            None => Entry::Inspect,
            Some(l) => Entry::Refused(Refusal {
                status: StatusCode::TOO_MANY_REQUESTS,
                report: l.report.then(|| format!("rate limit {} exceeded", l.limit)),
                retry_after_us: Some(l.retry_after_us),
            }),
        }
    }

    pub fn bans(&self) -> &Bans {
        &self.bans
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The GeoIP database, to be reread when it changes.
    pub fn country(&self) -> Option<&Arc<CountryGuard>> {
        self.country.as_ref()
    }

    /// The IP list files, to be reread when they change.
    pub fn list_files(&self) -> Option<&Arc<ListFiles>> {
        self.list_files.as_ref()
    }
}
