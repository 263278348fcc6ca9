//! What inspection found: attack classes, severities, findings.
//!
//! These are plain data: the server turns them into events, the CLI into JSON.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::request::Location;

/// The attack class a rule or detector reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Sqli,
    Xss,
    Rce,
    Lfi,
    Rfi,
    Ssrf,
    Php,
    Java,
    Ssti,
    Nosqli,
    Xxe,
    Scanner,
    Protocol,
    Session,
    Generic,
    Policy,
    /// Not a signature: the anomaly model found the request unlike the site's traffic.
    Anomaly,
    /// Server-side include directives (`<!--#exec`, `<!--#include`).
    Ssi,
    /// LDAP filter injection.
    Ldapi,
    /// Mail injection: IMAP/SMTP commands and mail headers.
    Mail,
}

impl Class {
    /// Appended to, never reordered: traffic counters index by position.
    pub const ALL: [Class; 20] = [
        Class::Sqli,
        Class::Xss,
        Class::Rce,
        Class::Lfi,
        Class::Rfi,
        Class::Ssrf,
        Class::Php,
        Class::Java,
        Class::Ssti,
        Class::Nosqli,
        Class::Xxe,
        Class::Scanner,
        Class::Protocol,
        Class::Session,
        Class::Generic,
        Class::Policy,
        Class::Anomaly,
        Class::Ssi,
        Class::Ldapi,
        Class::Mail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Sqli => "sqli",
            Class::Xss => "xss",
            Class::Rce => "rce",
            Class::Lfi => "lfi",
            Class::Rfi => "rfi",
            Class::Ssrf => "ssrf",
            Class::Php => "php",
            Class::Java => "java",
            Class::Ssti => "ssti",
            Class::Nosqli => "nosqli",
            Class::Xxe => "xxe",
            Class::Scanner => "scanner",
            Class::Protocol => "protocol",
            Class::Session => "session",
            Class::Generic => "generic",
            Class::Policy => "policy",
            Class::Anomaly => "anomaly",
            Class::Ssi => "ssi",
            Class::Ldapi => "ldapi",
            Class::Mail => "mail",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a match is; the points add up to the request's anomaly score (as in CRS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Notice,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// Anomaly points, CRS-compatible: critical 5, error 4, warning 3, notice 2.
    pub fn points(self) -> u32 {
        match self {
            Severity::Critical => 5,
            Severity::Error => 4,
            Severity::Warning => 3,
            Severity::Notice => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }
}

/// Points of weak evidence: a keyword-shaped rule anywhere, and in a
/// document (see [`crate::document`]) any finding that would not execute
/// where the document lands. Under the default threshold (5) alone, over it
/// with any other finding.
pub const WEAK_POINTS: u32 = 3;

/// Longest decoded value a finding carries; events must stay small and never echo a whole body.
pub const EXCERPT_MAX: usize = 160;

/// One reason a request looks like an attack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: u32,
    pub class: Class,
    pub severity: Severity,
    /// Lowest paranoia level at which this rule is active.
    pub paranoia: u8,
    /// Where the value sits.
    pub location: Location,
    /// The decoded value, truncated to [`EXCERPT_MAX`] bytes around the match.
    pub value: String,
    /// The part of the value that matched, truncated.
    pub matched: String,
    /// Why: the rule's or detector's description.
    pub message: String,
    /// Anomaly points this finding adds.
    pub score: u32,
    /// The OWASP CRS rules that detect the same construct (see `crs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crs: Vec<u32>,
}

/// Cuts `s` to at most `max` bytes on a char boundary, centred on `at` where possible.
pub fn excerpt(s: &str, at: usize, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = at.saturating_sub(max / 4).min(s.len().saturating_sub(max));
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + max).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[start..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_keeps_char_boundaries_and_the_match() {
        let s = "é".repeat(200) + "UNION SELECT" + &"x".repeat(300);
        let at = s.find("UNION").unwrap();
        let e = excerpt(&s, at, 64);
        assert!(e.len() <= 64);
        assert!(e.contains("UNION"), "{e}");
        assert_eq!(excerpt("short", 0, 64), "short");
    }
}
