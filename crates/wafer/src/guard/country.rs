//! Country allow/deny at the door: the GeoIP database (user-supplied MMDB)
//! behind one pointer, reopened when its file changes, and the rules.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::geo::{CountryRules, GeoError, GeoIp};

pub struct CountryGuard {
    path: PathBuf,
    db: ArcSwap<GeoIp>,
    modified: std::sync::Mutex<Option<SystemTime>>,
    pub rules: CountryRules,
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl CountryGuard {
    pub fn open(path: PathBuf, rules: CountryRules) -> Result<CountryGuard, GeoError> {
        let db = GeoIp::open(&path)?;
        Ok(CountryGuard {
            modified: std::sync::Mutex::new(mtime(&path)),
            db: ArcSwap::from_pointee(db),
            path,
            rules,
        })
    }

    /// `None` when the client may pass; otherwise why not.
    pub fn refuses(&self, ip: std::net::IpAddr) -> Option<String> {
        let country = self.db.load().country(ip);
        if self.rules.allows(country) {
            return None;
        }
        Some(match country {
            Some(c) => format!("country {} is not allowed", String::from_utf8_lossy(&c)),
            None => "unknown country is not allowed".to_owned(),
        })
    }

    /// Reopens the database if its file changed; a bad new file is logged and the old one kept.
    pub fn reload_if_changed(&self) {
        let now = mtime(&self.path);
        let mut seen = self.modified.lock().unwrap_or_else(|p| p.into_inner());
        if now.is_none() || now == *seen {
            return;
        }
        match GeoIp::open(&self.path) {
            Ok(db) => {
                self.db.store(Arc::new(db));
                *seen = now;
                tracing::info!(path = %self.path.display(), "GeoIP database reloaded");
            }
            Err(e) => {
                *seen = now;
                tracing::error!(error = %e, "the changed GeoIP database does not load; keeping the old one");
            }
        }
    }
}
