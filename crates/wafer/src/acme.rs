//! Certificates from an ACME CA (RFC 8555) for sites with `acme = true`.
//!
//! One task keeps every such site's certificate: at start, after a reload,
//! and at least twice a day, it reads each stored certificate and orders a
//! new one when it is missing, unreadable, for other names, or past its
//! renewal time. The CA checks each name over HTTP-01: it asks
//! `http://NAME/.well-known/acme-challenge/TOKEN`, which the proxy answers
//! from [`Challenges`] before any other step (so port 80 of each name must
//! reach Wafer's plain listener). The key and chain are written together to
//! `<data_dir>/acme/<first host>.pem` in one rename, and the HTTPS listener
//! takes the file up like any changed certificate (`proxy::tls`), at once.
//!
//! HTTP-01 only: TLS-ALPN-01 would need the challenge certificate in the
//! TLS listener's resolver and proves nothing more for a proxy that already
//! owns port 80. The protocol is instant-acme's; what is Wafer's is when to
//! order, where the files go, and answering the CA.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::config::acme::AcmeSettings;
use crate::proxy::challenges::Challenges;
use crate::proxy::tls::Certificates;

mod order;
mod stored;

/// The longest a certificate goes unchecked.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
/// After a failed order: this, doubled each time, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(6 * 3600);

/// A site's certificate, as the ACME client keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub site: String,
    /// Exact host names, in the site's order (the first names the file).
    pub names: Vec<String>,
    pub file: PathBuf,
}

/// What the configuration asks of the ACME client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub settings: AcmeSettings,
    /// Where the account and the certificates are kept.
    pub dir: PathBuf,
    pub wanted: Vec<Wanted>,
}

impl Plan {
    pub fn of(cfg: &Config) -> Plan {
        let dir = cfg.data_dir.join("acme");
        let wanted = cfg
            .sites
            .sites
            .iter()
            .filter(|s| s.acme)
            .map(|s| {
                let names: Vec<String> = s.hosts.iter().map(|h| h.as_text()).collect();
                Wanted {
                    site: s.name.clone(),
                    file: cert_file(&dir, &names),
                    names,
                }
            })
            .collect();
        Plan {
            settings: cfg.acme.clone(),
            dir,
            wanted,
        }
    }
}

/// The file a certificate for `names` is kept in (under `<data_dir>/acme`).
fn cert_file(dir: &Path, names: &[String]) -> PathBuf {
    // Host names are checked to letters, digits, `-`, `_` and dots.
    let first = names.first().map_or("site", String::as_str);
    dir.join(format!("{first}.pem"))
}

/// What the client knows of a site's certificate (`GET /api/sites`, `/metrics`).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CertStatus {
    /// When the stored certificate ends (Unix ms); `None`: none stored yet.
    pub not_after_ms: Option<u64>,
    /// Why the last order failed; `None` after a success.
    pub last_error: Option<String>,
    /// When a failed order is tried again (Unix ms).
    pub retry_at_ms: Option<u64>,
}

/// The ACME client of a running node.
pub struct Acme {
    plan: ArcSwap<Plan>,
    /// By site name.
    status: std::sync::Mutex<HashMap<String, CertStatus>>,
    challenges: Arc<Challenges>,
    certs: Arc<Certificates>,
    wake: tokio::sync::Notify,
}

impl Acme {
    pub fn new(plan: Plan, challenges: Arc<Challenges>, certs: Arc<Certificates>) -> Acme {
        Acme {
            plan: ArcSwap::from_pointee(plan),
            status: Default::default(),
            challenges,
            certs,
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Each ACME site's certificate, as last seen.
    pub fn status(&self) -> HashMap<String, CertStatus> {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note(
        &self,
        w: &Wanted,
        stored: Option<&stored::Stored>,
        error: Option<String>,
        retry_at: Option<SystemTime>,
    ) {
        let ms = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        let status = CertStatus {
            not_after_ms: stored.map(|s| ms(s.not_after)),
            last_error: error,
            retry_at_ms: retry_at.map(ms),
        };
        let mut map = self.status.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(w.site.clone(), status);
    }

    /// A reload's plan: checked at once.
    pub fn replace(&self, plan: Plan) {
        self.plan.store(Arc::new(plan));
        self.wake.notify_one();
    }

    /// Keeps the certificates until `stop` changes.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut failures: HashMap<PathBuf, (u32, SystemTime)> = HashMap::new();
        loop {
            let plan = self.plan.load_full();
            self.status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|site, _| plan.wanted.iter().any(|w| &w.site == site));
            let mut next = SystemTime::now() + CHECK_EVERY;
            for w in &plan.wanted {
                let now = SystemTime::now();
                if let Some(&(_, retry_at)) = failures.get(&w.file)
                    && retry_at > now
                {
                    next = next.min(retry_at);
                    continue;
                }
                let held = stored::read(&w.file);
                let renew_before = plan.settings.renew_before;
                if let Some(due) = stored::renewal_time(held.as_ref(), &w.names, renew_before)
                    && due > now
                {
                    if !failures.contains_key(&w.file) {
                        self.note(w, held.as_ref(), None, None);
                    }
                    next = next.min(due);
                    continue;
                }
                let obtained = self.obtain(&plan, w).await;
                let held = stored::read(&w.file);
                let obtained = obtained.and_then(|()| {
                    // A certificate due as soon as issued (a clock far off)
                    // would be ordered in a loop: a failure, retried later.
                    match stored::renewal_time(held.as_ref(), &w.names, renew_before) {
                        Some(due) if due > SystemTime::now() => Ok(()),
                        _ => Err(anyhow::anyhow!(
                            "the issued certificate is already due for renewal (is the clock right?)"
                        )),
                    }
                });
                match obtained {
                    Ok(()) => {
                        failures.remove(&w.file);
                        self.note(w, held.as_ref(), None, None);
                    }
                    Err(e) => {
                        let n = failures.get(&w.file).map_or(0, |f| f.0);
                        let wait = RETRY_FIRST.saturating_mul(1 << n.min(16)).min(RETRY_MAX);
                        tracing::warn!(site = %w.site, error = %format!("{e:#}"), retry_in_secs = wait.as_secs(), "no certificate from the ACME CA");
                        let at = SystemTime::now() + wait;
                        failures.insert(w.file.clone(), (n + 1, at));
                        self.note(w, held.as_ref(), Some(format!("{e:#}")), Some(at));
                        next = next.min(at);
                    }
                }
            }
            let wait = next
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = stop.changed() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Orders `w`'s certificate, stores it and puts it in service.
    async fn obtain(&self, plan: &Plan, w: &Wanted) -> anyhow::Result<()> {
        tracing::info!(site = %w.site, names = ?w.names, directory = %plan.settings.directory, "ordering a certificate");
        let account = order::account(&plan.settings, &plan.dir).await?;
        let responders = order::Responders {
            http: &self.challenges,
            tls: &self.certs,
            kind: plan.settings.challenge,
        };
        let (key, chain) = order::issue(&account, &w.names, &responders).await?;
        stored::write(&w.file, &key, &chain)?;
        let certs = Arc::clone(&self.certs);
        let failed = tokio::task::spawn_blocking(move || certs.refresh()).await?;
        if let Some(e) = failed.into_iter().next() {
            anyhow::bail!("the issued certificate does not load: {e}");
        }
        tracing::info!(site = %w.site, file = %w.file.display(), "certificate issued and in service");
        Ok(())
    }
}
