//! Detectors written as code: checks that patterns express badly.
//!
//! Each detector declares the rule ids it reports ([`DetectorRule`]), so they
//! are listed, excluded and scored exactly like signature rules. A detector is
//! a module with `pub static RULES: &[DetectorRule]` and, for value detectors,
//! `pub fn check(input: &Input<'_>, out: &mut Vec<Hit>)`; the paranoia level
//! and exclusions are applied by the transaction, not by the detector.
//!
//! Id ranges: 1001-1099 protocol, 1100-1199 SQL, 1200-1299 XSS,
//! 1300-1399 command injection, 1400-1499 traversal/LFI, 1500-1599 RFI/SSRF,
//! 1600-1699 uploads, 1700-1749 server-side includes, 1750-1799 mail
//! (IMAP/SMTP/header) injection, 1800-1849 LDAP filter injection, 1850-1899
//! NoSQL operator injection.

use std::ops::Range;

use crate::finding::{Class, Severity};
use crate::request::Location;

pub mod cmdi;
pub mod ldap;
pub mod mail;
pub mod nosql;
pub mod protocol;
pub mod sqli;
pub mod ssi;
pub mod ssrf;
pub mod traversal;
pub mod upload;
pub mod xss;

/// Metadata of one check a detector performs.
#[derive(Clone, Copy, Debug)]
pub struct DetectorRule {
    pub id: u32,
    pub class: Class,
    pub severity: Severity,
    pub paranoia: u8,
    pub description: &'static str,
}

/// Declares a detector's rules: a constant per rule id and the `RULES` table.
macro_rules! detector_rules {
    ($class:ident; $($name:ident = $id:literal, $sev:ident, $pl:literal, $desc:literal;)*) => {
        $(pub const $name: u32 = $id;)*
        pub static RULES: &[$crate::detect::DetectorRule] = &[
            $($crate::detect::DetectorRule {
                id: $id,
                class: $crate::finding::Class::$class,
                severity: $crate::finding::Severity::$sev,
                paranoia: $pl,
                description: $desc,
            },)*
        ];
    };
}
pub(crate) use detector_rules;

/// A detector's finding before it is turned into a full `Finding`.
#[derive(Debug)]
pub struct Hit {
    pub rule: u32,
    pub location: Location,
    /// The text the detector looked at (the decoded value, or a rewriting of it
    /// the detector judged); the finding carries an excerpt.
    pub value: String,
    /// What matched: a byte range of `value`, on char boundaries. `None` only
    /// where the whole value is the evidence (a protocol hit on a header, a
    /// method, a charset name), never for a detector that reads the value.
    pub span: Option<Range<usize>>,
    /// Why, beyond the rule's description: a token fingerprint, the file named, the address.
    pub detail: Option<String>,
    /// Weak evidence: set by the transaction for a hit in a document that
    /// would not execute where the document lands (see [`crate::document`]).
    pub weak: bool,
}

impl Hit {
    /// Records a hit on `span` of the decoded value unless its rule is above
    /// the request's paranoia level, in which case nothing (not even the value)
    /// is copied.
    pub fn push(
        out: &mut Vec<Hit>,
        rule_id: u32,
        input: &Input<'_>,
        span: Range<usize>,
        detail: Option<String>,
    ) {
        if rule(rule_id).paranoia <= input.paranoia {
            out.push(Hit::new(rule_id, input, span, detail));
        }
    }

    /// A hit on `span` of `input.decoded`.
    pub fn new(rule: u32, input: &Input<'_>, span: Range<usize>, detail: Option<String>) -> Hit {
        debug_assert!(
            is_span(input.decoded, &span),
            "rule {rule}: span {span:?} is not a char-boundary range of a {}-byte value",
            input.decoded.len()
        );
        Hit {
            rule,
            location: input.location.clone(),
            value: input.decoded.to_owned(),
            span: Some(span),
            detail,
            weak: false,
        }
    }
}

/// Whether `r` is a non-empty range of `s` on char boundaries.
pub fn is_span(s: &str, r: &Range<usize>) -> bool {
    r.start < r.end && s.get(r.clone()).is_some()
}

/// `r` (from a byte-level scanner) widened to char boundaries and clamped to
/// `s`: a scanner that stops at an ASCII byte inside a multi-byte character
/// (a lexer treating 0xA0 as a blank) must not cut the character.
pub fn snap(s: &str, r: Range<usize>) -> Range<usize> {
    let mut start = r.start.min(s.len());
    let mut end = r.end.clamp(start, s.len());
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    while !s.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// Where `inner`, a slice of `outer`, sits in it; `None` when it is not one.
/// Lets detectors that parse by slicing (`&s[a..b]`) report spans without
/// carrying offsets around.
pub fn offset_in(outer: &str, inner: &str) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start + inner.len();
    outer.get(start..end).map(|_| start..end)
}

/// One value as a value detector sees it.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// Where the value sits (part and name), so detectors can weigh context.
    pub location: &'a Location,
    /// The value after structural parsing (query and form args are URL-decoded once).
    pub raw: &'a str,
    /// After the full evasion chain ([`crate::decode::normalize`]).
    pub decoded: &'a str,
    /// The request's paranoia level: checks only stricter rules would report
    /// can be skipped (the transaction filters hits by level in any case).
    pub paranoia: u8,
}

/// Runs every value detector over one value.
pub fn check_value(input: &Input<'_>, out: &mut Vec<Hit>) {
    sqli::check(input, out);
    xss::check(input, out);
    cmdi::check(input, out);
    traversal::check(input, out);
    ssrf::check(input, out);
    ssi::check(input, out);
    mail::check(input, out);
    ldap::check(input, out);
    nosql::check(input, out);
}

/// Every check of every detector.
pub fn all_rules() -> impl Iterator<Item = &'static DetectorRule> {
    detectors().into_iter().flat_map(|(_, rules)| rules)
}

/// Every detector, by its module's name, with its checks.
pub fn detectors() -> [(&'static str, &'static [DetectorRule]); 11] {
    [
        ("protocol", protocol::RULES),
        ("sqli", sqli::RULES),
        ("xss", xss::RULES),
        ("cmdi", cmdi::RULES),
        ("traversal", traversal::RULES),
        ("ssrf", ssrf::RULES),
        ("upload", upload::RULES),
        ("ssi", ssi::RULES),
        ("mail", mail::RULES),
        ("ldap", ldap::RULES),
        ("nosql", nosql::RULES),
    ]
}

/// Looks up a detector rule by id.
pub fn rule(id: u32) -> &'static DetectorRule {
    all_rules()
        .find(|r| r.id == id)
        .unwrap_or_else(|| unreachable!("detector rule {id} is not declared"))
}

/// What detector unit tests share: running one check over a bare value.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Hit, Input};
    use crate::request::{Location, Part};

    /// Runs `check` over `value` (as both raw and decoded text) at `part`/`name`, at paranoia 4.
    pub(crate) fn hits(
        check: fn(&Input<'_>, &mut Vec<Hit>),
        part: Part,
        name: Option<&str>,
        value: &str,
    ) -> Vec<Hit> {
        let location = Location::new(part, name);
        let input = Input {
            location: &location,
            raw: value,
            decoded: value,
            paranoia: 4,
        };
        let mut out = Vec::new();
        check(&input, &mut out);
        // Every test of a value detector also checks that what it reports is placed.
        for h in &out {
            let span = h
                .span
                .as_ref()
                .expect("a value detector gives every hit a span");
            assert!(
                super::is_span(&h.value, span),
                "rule {}: span {span:?} in {value:?}",
                h.rule
            );
        }
        out
    }

    /// The rule ids of [`hits`].
    pub(crate) fn rule_ids(
        check: fn(&Input<'_>, &mut Vec<Hit>),
        part: Part,
        name: Option<&str>,
        value: &str,
    ) -> Vec<u32> {
        hits(check, part, name, value)
            .iter()
            .map(|h| h.rule)
            .collect()
    }

    /// Each hit's rule and the text its span covers.
    pub(crate) fn matched(
        check: fn(&Input<'_>, &mut Vec<Hit>),
        part: Part,
        name: Option<&str>,
        value: &str,
    ) -> Vec<(u32, String)> {
        hits(check, part, name, value)
            .into_iter()
            .map(|h| {
                let span = h.span.unwrap_or(0..0);
                (h.rule, h.value[span].to_owned())
            })
            .collect()
    }

    /// Whether any of `ids` is active at the default paranoia level 1.
    pub(crate) fn any_at_level_1(ids: &[u32]) -> bool {
        ids.iter().any(|&id| super::rule(id).paranoia == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack pieces glued to multi-byte text (two- to four-byte characters,
    /// U+00A0 whose second byte 0xA0 some lexers read as a blank, U+FFFD,
    /// full-width brackets) in many orders: every detector's every span must
    /// land on char boundaries (`testing::hits` asserts it).
    #[test]
    fn spans_hold_on_multibyte_text_around_attacks() {
        use crate::request::Part;
        const PIECES: &[&str] = &[
            "' or 1=1--",
            "é",
            "\u{a0}",
            "<img src=x onerror=alert(1)>",
            "名前",
            "; cat /etc/passwd",
            "../../",
            "etc/passwd",
            "http://127.0.0.1/",
            "\u{fffd}",
            "＜script＞",
            "$(id)",
            "\\..\\",
            "union select 1,2",
            "🙂",
            "\"",
            " ",
            "`id`",
            "{{constructor.constructor('x')()}}",
            "%",
            "';alert(1)//",
            "php://filter/",
            "\n",
            "/dev/tcp/1.2.3.4/5",
            "+ADw-script+AD4-",
        ];
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        let parts = [
            Part::QueryArg,
            Part::Path,
            Part::Header,
            Part::Cookie,
            Part::Body,
        ];
        for _ in 0..3000 {
            let n = 1 + next() % 6;
            let value: String = (0..n).map(|_| PIECES[next() % PIECES.len()]).collect();
            let part = parts[next() % parts.len()];
            let name = (part != Part::Path && part != Part::Body).then_some("x-q");
            let _ = testing::hits(check_value, part, name, &value);
        }
    }

    #[test]
    fn detector_rule_ids_are_unique_and_in_their_ranges() {
        let mut ids: Vec<u32> = all_rules().map(|r| r.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate detector rule id");
        for (rules, lo) in [
            (protocol::RULES, 1000),
            (sqli::RULES, 1100),
            (xss::RULES, 1200),
            (cmdi::RULES, 1300),
            (traversal::RULES, 1400),
            (ssrf::RULES, 1500),
            (upload::RULES, 1600),
            (ssi::RULES, 1700),
            (mail::RULES, 1750),
            (ldap::RULES, 1800),
            (nosql::RULES, 1850),
        ] {
            for r in rules {
                assert!(
                    (lo..lo + if lo >= 1700 { 50 } else { 100 }).contains(&r.id),
                    "rule {} outside {lo}..",
                    r.id
                );
                assert!((1..=4).contains(&r.paranoia));
            }
        }
    }
}
