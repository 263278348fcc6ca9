//! Wafer's inspection engine: pure and synchronous, no I/O, no clock.
//!
//! A request is inspected either in one call:
//!
//! ```
//! use wafer_engine::{Engine, Request, Action};
//! let engine = Engine::builtin();
//! let v = engine.inspect(&Request::new("GET", "/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--")
//!     .header("Host", "shop.example").header("User-Agent", "curl/8").header("Accept", "*/*"));
//! assert_eq!(v.action, Action::Block);
//! assert!(v.findings.iter().any(|f| f.class == wafer_engine::Class::Sqli));
//! ```
//!
//! or phase by phase through a [`Transaction`] (what the proxy does, so that a
//! bad request line blocks before any body is read).

pub mod anomaly;
pub mod apps;
pub mod body;
pub mod crs;
pub mod decode;
pub mod detect;
pub mod document;
pub mod finding;
pub mod fnv;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod memo;
pub mod message;
pub mod own_url;
pub mod policy;
pub mod request;
pub mod rules;
pub mod seclang;
pub mod tx;
pub mod view;

#[cfg(test)]
mod testing;

pub use body::BodyLimits;
pub use finding::{Class, Finding, Severity};
pub use message::{MessageKind, Messages};
pub use policy::{ArgPattern, Exclusion, Mode, PathPattern, Policy, Route, RuleRange};
pub use request::{Location, Part, Request};
pub use rules::{RuleError, RuleSet, RuleSpec};
pub use tx::{BodyPlan, Flow, Transaction};

use serde::{Deserialize, Serialize};

/// What to do with a body larger than the parse buffer (`body_inspect_bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyOverflow {
    /// Inspect the rest as it streams, in overlapping windows (bounded memory),
    /// up to `max_body_bytes`.
    #[default]
    Stream,
    /// Refuse the request with 413.
    Reject,
}

/// Bounds on the work one request can cause. Each limit fails safe: past it
/// the request is refused (in block mode) with a finding that names the
/// limit, never forwarded uninspected.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of (decoded) body buffered and parsed whole (default 128 KiB);
    /// past it the body is inspected as it streams.
    pub body_inspect_bytes: usize,
    pub body_overflow: BodyOverflow,
    /// Largest body accepted, as sent and after decoding (default 64 MiB): 413 past it.
    pub max_body_bytes: u64,
    /// Largest decoded/compressed ratio of a `Content-Encoding` body past its
    /// first MiB (default 100): a decompression bomb is refused with 413.
    pub max_decompression_ratio: u32,
    pub body: BodyLimits,
    /// Findings kept per request (scores still count past it).
    pub max_findings: usize,
    /// Largest WebSocket message (bytes) the proxy holds for inspection;
    /// a larger one closes the connection (default 1 MiB).
    pub websocket_max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_inspect_bytes: 128 * 1024,
            body_overflow: BodyOverflow::Stream,
            max_body_bytes: 64 << 20,
            max_decompression_ratio: 100,
            body: BodyLimits::default(),
            max_findings: 64,
            websocket_max_message_bytes: 1 << 20,
        }
    }
}

/// Everything needed to build an engine.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    pub policy: Policy,
    pub limits: Limits,
    /// Rules in addition to the built-in ones, with the file each came from.
    pub extra_rules: Vec<(String, RuleSpec)>,
}

/// A compiled engine: rules, policy and limits. Cheap to share (`Arc<Engine>`),
/// immutable; a configuration change builds a new one.
#[derive(Debug)]
pub struct Engine {
    /// Shared by the engines a policy change makes (see [`Engine::with_policy`]).
    rules: std::sync::Arc<RuleSet>,
    /// Clean header and cookie values; it depends on the rules only, so a policy change keeps it.
    memo: std::sync::Arc<memo::CleanMemo>,
    policy: Policy,
    limits: Limits,
}

/// A rule or detector check, for listing.
#[derive(Clone, Debug, Serialize)]
pub struct RuleInfo {
    pub id: u32,
    pub class: Class,
    pub severity: Severity,
    pub paranoia: u8,
    pub description: String,
    /// The rule file, or `detector:NAME` (`detector:sqli`, ...) for checks
    /// written as code, NAME the detector's module.
    pub source: String,
    /// Keyword-shaped evidence: blocks only in company.
    pub weak: bool,
    /// The OWASP CRS rules that detect the same construct (`crs`).
    pub crs: Vec<u32>,
    /// Its CRS tags (`attack-sqli`, `paranoia-level/1`, ...).
    pub tags: Vec<String>,
}

/// What happens to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing found (or inspection off).
    Allow,
    /// Something found but not blocked: below the threshold, or detect mode.
    Flag,
    /// Refused; the upstream never sees it.
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Flag => "flag",
            Action::Block => "block",
        }
    }
}

/// The decision on one request, with every reason for it.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub action: Action,
    /// The status to answer with when blocked (403, or 413 for an oversize body under `reject`).
    pub status: Option<u16>,
    /// Score reached the threshold (true in detect mode too, where the request still passes).
    pub would_block: bool,
    pub score: u32,
    pub threshold: u32,
    pub mode: Mode,
    pub paranoia: u8,
    /// The route override that applied.
    pub route: Option<String>,
    pub findings: Vec<Finding>,
    /// The anomaly model's say, when a model scored the request.
    pub anomaly: Option<AnomalyVerdict>,
}

/// What the anomaly model said about one request, as events keep it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyVerdict {
    /// The model's version (its file name in the models directory, or `default`).
    pub model: String,
    /// 0 to 1; above `threshold` is anomalous.
    pub score: f64,
    pub threshold: f64,
    pub anomalous: bool,
    /// What an anomalous score does here: `detect` flags, `block` blocks.
    pub mode: Mode,
    /// The features that stood out most, largest deviation first.
    pub top: Vec<AnomalyFeature>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyFeature {
    pub name: String,
    pub value: f32,
    /// How far from the training median, in interquartile ranges.
    pub deviation: f32,
}

impl Engine {
    /// Compiles the built-in rules plus `config.extra_rules`; reports every bad rule.
    pub fn build(config: EngineConfig) -> Result<Engine, Vec<RuleError>> {
        let mut specs = rules::builtin_specs()?;
        specs.extend(config.extra_rules);
        let rules = RuleSet::compile(specs)?;
        let mut policy = config.policy;
        policy.app_exclusions =
            apps::compile(&policy.apps, &rule_table(&rules)).map_err(|message| {
                vec![RuleError {
                    file: "apps".to_owned(),
                    rule_id: None,
                    message,
                }]
            })?;
        Ok(Engine {
            rules: std::sync::Arc::new(rules),
            memo: std::sync::Arc::new(memo::CleanMemo::new()),
            policy,
            limits: config.limits,
        })
    }

    /// The compiled rules, for work that outlives this engine (such as
    /// [`RuleSet::accelerate`] on a thread of its own); engines made from
    /// this one by [`Engine::with_policy`] share them.
    pub fn rule_set(&self) -> std::sync::Arc<RuleSet> {
        std::sync::Arc::clone(&self.rules)
    }

    /// Built-in rules, default policy and limits.
    pub fn builtin() -> Engine {
        Engine::build(EngineConfig::default()).expect("built-in rules compile (checked by tests)")
    }

    /// The same rules under another policy, without compiling anything.
    /// The policy's application profiles are compiled again (against these
    /// rules); a name that is not a profile relaxes nothing (callers check
    /// names first: `apps::find`).
    pub fn with_policy(&self, mut policy: Policy) -> Engine {
        policy.app_exclusions =
            apps::compile(&policy.apps, &rule_table(&self.rules)).unwrap_or_default();
        Engine {
            rules: std::sync::Arc::clone(&self.rules),
            memo: std::sync::Arc::clone(&self.memo),
            policy,
            limits: self.limits.clone(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn transaction(&self) -> Transaction<'_> {
        Transaction::new(self)
    }

    /// Inspects a whole request in one call.
    pub fn inspect(&self, req: &Request) -> Verdict {
        self.inspect_at(req, None)
    }

    /// [`Self::inspect`] for a request that arrived on `local` (see
    /// [`Transaction::set_local_addr`]).
    pub fn inspect_at(&self, req: &Request, local: Option<std::net::SocketAddr>) -> Verdict {
        let mut tx = self.transaction();
        if let Some(local) = local {
            tx.set_local_addr(local);
        }
        let mut head = req.clone();
        let body = std::mem::take(&mut head.body);
        if tx.on_request_head(head) == Flow::Continue
            && !body.is_empty()
            && let BodyPlan::Inspect { .. } = tx.body_plan()
        {
            let _ = tx.on_request_chunk(&body);
            let _ = tx.on_request_body_end();
        }
        tx.finish()
    }

    /// Every rule's and detector check's id and class: what profiles' classes become.
    pub fn rule_table(&self) -> Vec<(u32, Class)> {
        rule_table(&self.rules)
    }

    /// Every rule and detector check.
    pub fn rule_infos(&self) -> Vec<RuleInfo> {
        let mut out: Vec<RuleInfo> = detect::detectors()
            .into_iter()
            .flat_map(|(detector, checks)| {
                checks.iter().map(move |r| RuleInfo {
                    id: r.id,
                    class: r.class,
                    severity: r.severity,
                    paranoia: r.paranoia,
                    description: r.description.to_owned(),
                    source: format!("detector:{detector}"),
                    weak: false,
                    crs: crs::detector_crs(r.id).to_vec(),
                    tags: crs::tags(r.class, r.paranoia),
                })
            })
            .chain(self.rules.rules().iter().map(|r| RuleInfo {
                id: r.id,
                class: r.class,
                severity: r.severity,
                paranoia: r.paranoia,
                description: r.description.clone(),
                source: r.source.clone(),
                weak: r.weak,
                crs: r.crs.clone(),
                tags: crs::tags(r.class, r.paranoia),
            }))
            .collect();
        out.sort_by_key(|r| r.id);
        out
    }
}

fn rule_table(rules: &RuleSet) -> Vec<(u32, Class)> {
    detect::all_rules()
        .map(|r| (r.id, r.class))
        .chain(rules.rules().iter().map(|r| (r.id, r.class)))
        .collect()
}
