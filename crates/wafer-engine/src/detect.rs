//! Detectors written as code: checks that patterns express badly.
//!
//! Each detector declares the rule ids it reports ([`DetectorRule`]), so they
//! are listed, excluded and scored exactly like signature rules.

use crate::finding::{Class, Severity};

pub mod protocol;

/// Metadata of one check a detector performs.
#[derive(Clone, Copy, Debug)]
pub struct DetectorRule {
    pub id: u32,
    pub class: Class,
    pub severity: Severity,
    pub paranoia: u8,
    pub description: &'static str,
}

/// Every check of every detector.
pub fn all_rules() -> impl Iterator<Item = &'static DetectorRule> {
    protocol::RULES.iter()
}

/// Looks up a detector rule by id.
pub fn rule(id: u32) -> &'static DetectorRule {
    all_rules()
        .find(|r| r.id == id)
        .unwrap_or_else(|| unreachable!("detector rule {id} is not declared"))
}
