//! Reloading the configuration while traffic flows (SIGHUP, `wafer reload`).
//!
//! The new file is validated whole first (a bad one changes nothing and
//! says why), certificates are loaded before anything is swapped, and then
//! the sites (policies, IP lists, pools), the certificates and the health
//! checks are swapped for requests that start from then on. Connections and
//! requests in flight are not touched: a request keeps the sites it started
//! with. What cannot change without a restart (listeners, the store, the
//! admin listener, the rules and engine limits, Redis) is reported and left
//! as it runs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::admin::keeper::PolicyKeeper;
use crate::config::Config;
use crate::periodic::Periodic;
use crate::proxy::Proxy;
use crate::proxy::tls::Certificates;

/// The parts of a running node a reload swaps.
pub(crate) struct Reloadable {
    pub(crate) proxy: Arc<Proxy>,
    /// Every site's engine is made from this one (its compiled rules shared).
    pub(crate) engine: wafer_engine::Engine,
    pub(crate) keeper: Arc<PolicyKeeper>,
    pub(crate) certs: Option<Arc<Certificates>>,
    pub(crate) acme: Option<Arc<crate::acme::Acme>>,
    pub(crate) https_port: Option<u16>,
    /// The pools' health checks, replaced with the pools.
    pub(crate) health: tokio::sync::Mutex<Periodic>,
    /// The configuration in force, to tell what a new one changes.
    pub(crate) config: std::sync::Mutex<Config>,
    /// One reload at a time.
    pub(crate) lock: tokio::sync::Mutex<()>,
}

impl Reloadable {
    /// Puts `cfg` in force; returns what it could not change (needs a restart).
    pub(crate) async fn apply(&self, cfg: Config) -> Result<Vec<String>> {
        let _one = self.lock.lock().await;
        let restart = needs_restart(&self.config.lock().unwrap_or_else(|e| e.into_inner()), &cfg);
        // Everything that can fail, before anything is swapped.
        let sources = super::run::cert_sources(&cfg);
        let new_certs = match (&self.certs, cfg.tls.is_some()) {
            (Some(certs), true) => Some((Arc::clone(certs), sources)),
            _ => None,
        };
        if let Some((_, sources)) = &new_certs {
            // Loaded once to check, and again by `replace`: a reload is rare,
            // and a pair that changes between the two is caught by `replace`.
            Certificates::load(sources.clone()).context("loading certificates")?;
        }
        // No policy change through the admin API between reading the saved
        // policies and swapping the sites: it would be lost with the old sites.
        let _no_edits = self.keeper.lock.lock().await;
        let sites = super::run::the_sites(&cfg, &self.engine, &cfg.data_dir, self.https_port)?;
        if let Some((certs, sources)) = new_certs {
            certs.replace(sources).context("loading certificates")?;
        }
        if let Some(acme) = &self.acme {
            acme.replace(crate::acme::Plan::of(&cfg));
        }
        let mut health = self.health.lock().await;
        let old = std::mem::take(&mut *health);
        old.stop().await;
        super::run::health_checks(&cfg, &sites, &mut health);
        self.proxy
            .replace_sites(sites)
            .context("checking the upstreams")?;
        for site in self.proxy.sites().iter() {
            tracing::info!(site = %site.name, servers = site.pool.servers().len(), "site reloaded");
        }
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = cfg;
        Ok(restart)
    }
}

/// The keys whose change a reload cannot apply.
fn needs_restart(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |key: &str, same: bool| {
        if !same {
            out.push(format!("{key} changed: it takes effect at the next start"));
        }
    };
    check("listen", old.listen == new.listen);
    check(
        "tls.listen",
        old.tls.as_ref().map(|t| t.listen) == new.tls.as_ref().map(|t| t.listen),
    );
    check("admin.listen", old.admin_listen == new.admin_listen);
    check("data_dir", old.data_dir == new.data_dir);
    check("store.url", old.store == new.store);
    check("redis_url", old.redis_url == new.redis_url);
    check("inspection.rule_files", old.rule_files == new.rule_files);
    check(
        "inspection limits",
        format!("{:?}", old.engine.limits) == format!("{:?}", new.engine.limits),
    );
    check(
        "timeouts",
        format!("{:?}", old.timeouts) == format!("{:?}", new.timeouts),
    );
    check(
        "trusted_proxies",
        old.trusted_proxies == new.trusted_proxies,
    );
    check(
        "geoip, ip files",
        format!("{:?}", (&old.geoip, &old.ip_files))
            == format!("{:?}", (&new.geoip, &new.ip_files)),
    );
    out
}

/// Where `wafer run` writes its process id, for `wafer reload`.
pub fn pid_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("wafer.pid")
}

/// `wafer reload`: asks the running Wafer (by the process id in its data
/// directory) to reload its configuration.
pub fn signal(cfg: &Config) -> Result<i32> {
    let path = pid_path(&cfg.data_dir);
    let pid = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is `wafer run` running with this data_dir?)",
            path.display()
        )
    })?;
    let pid: u32 = pid
        .trim()
        .parse()
        .with_context(|| format!("{}: not a process id", path.display()))?;
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .context("running kill")?;
    if !status.success() {
        anyhow::bail!(
            "no Wafer runs as process {pid} (a stale {}?)",
            path.display()
        );
    }
    eprintln!(
        "asked Wafer (process {pid}) to reload; its log says what changed, or why nothing did"
    );
    Ok(0)
}
