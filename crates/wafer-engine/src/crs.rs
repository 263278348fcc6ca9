//! Wafer's rules in the OWASP CRS vocabulary. Each built-in rule names the
//! CRS rules that detect the same construct (`crs` in the rule files), and
//! each detector check too ([`DETECTOR_CRS`]); each carries the CRS tags its
//! class and paranoia level have in CRS (`attack-sqli`, `paranoia-level/1`,
//! the class's CAPEC path). An exclusion or a disabled range that names a
//! CRS id, or a CRS tag, reaches the Wafer rules mapped to it (`policy`).
//!
//! The mapping is ours (ids are facts; which rules correspond is judged rule
//! by rule, from what each one looks for); nothing of CRS's rule text is here.

use crate::finding::Class;

/// The CRS tags of `class`: its `attack-*` tag and its CAPEC path, as CRS
/// tags the rules of that class (none for classes CRS has no rules for).
fn class_tags(class: Class) -> &'static [&'static str] {
    match class {
        Class::Sqli | Class::Nosqli => &["attack-sqli", "capec/1000/152/248/66"],
        Class::Xss => &["attack-xss", "capec/1000/152/242"],
        Class::Rce => &["attack-rce", "capec/1000/152/248/88"],
        Class::Lfi => &["attack-lfi", "capec/1000/255/153/126"],
        Class::Rfi => &["attack-rfi", "capec/1000/152/175/253"],
        Class::Ssrf => &["attack-ssrf", "capec/1000/225/664"],
        Class::Php => &["attack-injection-php", "capec/1000/152/242"],
        Class::Java => &["attack-injection-java", "capec/1000/152/137/6"],
        Class::Ssti => &["attack-ssti", "capec/1000/152/242"],
        Class::Scanner => &["attack-reputation-scanner", "capec/1000/118/224/541/310"],
        Class::Protocol => &["attack-protocol", "capec/1000/210/272"],
        Class::Session => &["attack-fixation", "capec/1000/225/21/593/61"],
        Class::Generic | Class::Ssi | Class::Ldapi | Class::Mail => &["attack-injection-generic"],
        Class::Policy => &["attack-generic"],
        Class::Xxe | Class::Anomaly => &[],
    }
}

/// A CRS tag an exclusion or a disabled list may name instead of ids: an
/// index into [`TAGS`], so that a rule range holding one stays `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CrsTag(u8);

/// Every tag an exclusion may name: the `attack-*` and paranoia-level tags
/// a Wafer rule can carry.
const TAGS: &[&str] = &[
    "attack-sqli",
    "attack-xss",
    "attack-rce",
    "attack-lfi",
    "attack-rfi",
    "attack-ssrf",
    "attack-injection-php",
    "attack-injection-java",
    "attack-ssti",
    "attack-reputation-scanner",
    "attack-protocol",
    "attack-fixation",
    "attack-injection-generic",
    "attack-generic",
    "paranoia-level/1",
    "paranoia-level/2",
    "paranoia-level/3",
    "paranoia-level/4",
];

impl CrsTag {
    /// The tag named `s` (case-insensitive), if a Wafer rule can carry it.
    pub fn parse(s: &str) -> Option<CrsTag> {
        let s = s.trim();
        TAGS.iter()
            .position(|t| t.eq_ignore_ascii_case(s))
            .and_then(|i| u8::try_from(i).ok())
            .map(CrsTag)
    }

    pub fn name(self) -> &'static str {
        TAGS[usize::from(self.0)]
    }

    /// Whether a rule of `class` at `paranoia` carries this tag.
    pub fn matches(self, class: Class, paranoia: u8) -> bool {
        has_tag(class, paranoia, self.name())
    }
}

/// The CRS tags a rule of `class` at `paranoia` has.
pub fn tags(class: Class, paranoia: u8) -> Vec<String> {
    let mut out: Vec<String> = class_tags(class).iter().map(|t| (*t).to_owned()).collect();
    out.push(format!("paranoia-level/{paranoia}"));
    out
}

/// Whether `tag` is one of `class`'s at `paranoia` (case-insensitive, as
/// CRS's `ByTag` directives compare).
pub fn has_tag(class: Class, paranoia: u8, tag: &str) -> bool {
    class_tags(class)
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tag))
        || tag
            .strip_prefix("paranoia-level/")
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| n == paranoia)
}

/// Whether `tag` is a tag some Wafer rule can have (an exclusion by another
/// would exclude nothing: refused, as a mistyped id is).
pub fn known_tag(tag: &str) -> bool {
    CrsTag::parse(tag).is_some()
}

/// The CRS counterparts of the detectors' checks (written as code, so the
/// mapping is kept here rather than beside a pattern).
pub fn detector_crs(id: u32) -> &'static [u32] {
    DETECTOR_CRS
        .binary_search_by_key(&id, |(i, _)| *i)
        .map_or(&[], |at| DETECTOR_CRS[at].1)
}

/// (check id, CRS ids), by check id.
pub static DETECTOR_CRS: &[(u32, &[u32])] = &[
    (1001, &[911100]),
    (1002, &[920280]),
    (1003, &[920181]),
    (1004, &[920160]),
    // 1005: no CRS counterpart: CRS only looks at whether Transfer-Encoding is present, never at its value
    (1006, &[920240]),
    (1007, &[920270]),
    (1008, &[920271]),
    (1009, &[920250]),
    // 1010: no CRS counterpart: body parser failures are flagged by the engine's REQBODY_ERROR rule in modsecurity.conf, not by a CRS rule
    // 1011: no CRS counterpart: CRS sets no nesting-depth limit; JSON depth is an engine setting
    (1012, &[920380]),
    (1013, &[941130]),
    (1014, &[920320, 920330]),
    (1015, &[920300]),
    // 1016: no CRS counterpart: handling of bodies past the inspection limit is engine configuration (SecRequestBodyLimitAction)
    // 1017: no CRS counterpart: CRS does not count Content-Length headers; a server-merged duplicate may only incidentally fail the numeric check
    (1018, &[920430]),
    (1019, &[920170, 920171]),
    (1020, &[920210]),
    (1021, &[920100]),
    (1022, &[920260, 920250]),
    (1023, &[920290]),
    (1024, &[920420]),
    (1025, &[922110, 922100]),
    (1026, &[920650, 920450]),
    (1027, &[920510]),
    // 1028: no CRS counterpart: the overall body size cap is engine configuration (SecRequestBodyLimit); CRS only has optional upload-size limits
    (1029, &[920450]),
    (1030, &[920450]),
    (1101, &[942100, 942270]),
    (1102, &[942100, 942350]),
    (1103, &[942160, 942280, 942151]),
    (1104, &[942100, 942130, 942390]),
    (1105, &[942100, 942360, 942480]),
    (1106, &[942100, 942380, 942190]),
    (1107, &[942100, 942310]),
    (1108, &[942440, 942300, 942540]),
    (1109, &[942151, 942150]),
    (1120, &[942120, 942210]),
    (1130, &[942440, 942480]),
    (1201, &[941110]),
    (1202, &[941120]),
    (1203, &[941170, 941130]),
    (1204, &[941210, 941220, 941170]),
    (1205, &[941160]),
    (1206, &[941140, 941170, 941190]),
    (1207, &[941120]),
    (1208, &[941340, 941390]),
    (1209, &[941380]),
    (1210, &[941390, 941400]),
    (1211, &[941360]),
    (1212, &[941350]),
    (1213, &[941160]),
    (1214, &[941370]),
    (1215, &[941310]),
    (1220, &[941180]),
    (1221, &[941320, 941150]),
    // 1222: no CRS counterpart: CRS only flags named JS methods or a property assignment after a quote, not an arbitrary call
    (1300, &[932230, 932235]),
    (1301, &[932200, 932240, 932290]),
    (1302, &[932250, 932260]),
    (1303, &[932340, 932236]),
    (1304, &[932160]),
    (1305, &[932190, 932130]),
    (1306, &[932140]),
    (1307, &[932390]),
    (1308, &[932300, 932310, 932320]),
    (1309, &[932130]),
    (1400, &[930100, 930110, 930120]),
    (1401, &[930100, 930110]),
    (1402, &[930110]),
    (1403, &[930120, 930130, 930140]),
    (1404, &[933140, 933200]),
    (1405, &[930130]),
    (1406, &[930120]),
    // 1407: no CRS counterpart: CRS matches listed OS files, not absolute paths under /home or /usr as such
    (1500, &[934110]),
    (1501, &[934110, 934190]),
    (1502, &[931100]),
    (1503, &[931130, 934170]),
    (1504, &[934120]),
    (1510, &[931100]),
    (1511, &[931120]),
    (1512, &[931130]),
    (1601, &[933110, 933100]),
    // 1700: no CRS counterpart: CRS has no server-side include rules
    // 1701: no CRS counterpart: CRS has no server-side include rules
    // 1702: no CRS counterpart: CRS has no server-side include rules
    (1750, &[921151]),
    (1751, &[921120, 921151]),
    (1752, &[921151]),
    (1753, &[932300, 932301]),
    (1754, &[932310, 932311]),
    (1755, &[932300, 932310, 932320]),
    (1756, &[932320, 932321]),
    (1800, &[921200]),
    (1801, &[921200]),
    (1802, &[920270]),
    // 1803: no CRS counterpart: the LDAP rule looks for a filter breakout, not a match-all presence filter
    (1850, &[942290]),
    (1851, &[942290]),
    (1852, &[934160]),
    // 1853: no CRS counterpart: CRS has no MongoDB shell call (db.x.find()) pattern
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_class_and_the_paranoia_level() {
        assert_eq!(
            tags(Class::Sqli, 2),
            ["attack-sqli", "capec/1000/152/248/66", "paranoia-level/2"]
        );
        assert!(has_tag(Class::Xss, 1, "ATTACK-XSS"));
        assert!(has_tag(Class::Xss, 3, "paranoia-level/3"));
        assert!(!has_tag(Class::Xss, 3, "paranoia-level/1"));
        assert!(!has_tag(Class::Xss, 1, "attack-sqli"));
        assert!(known_tag("attack-rce") && known_tag("paranoia-level/4"));
        assert!(!known_tag("attack-sqlii") && !known_tag("paranoia-level/5"));
    }

    /// The tag table is exactly the tags the classes and levels give: each
    /// parses back to itself, and every class's tags are in it.
    #[test]
    fn the_tag_table_holds_every_tag_a_rule_can_carry() {
        for t in TAGS {
            let tag = CrsTag::parse(t).unwrap();
            assert_eq!(tag.name(), *t);
            assert!(
                Class::ALL
                    .iter()
                    .any(|c| (1..=4).any(|pl| tag.matches(*c, pl))),
                "{t} is no rule's"
            );
        }
        // CAPEC paths are shown, not named by exclusions.
        for c in Class::ALL {
            for t in tags(c, 1).into_iter().filter(|t| !t.starts_with("capec/")) {
                assert!(
                    CrsTag::parse(&t).is_some(),
                    "{t} of {c} is not in the table"
                );
            }
        }
    }

    #[test]
    fn the_detector_table_is_sorted_and_names_known_checks() {
        assert!(DETECTOR_CRS.windows(2).all(|w| w[0].0 < w[1].0));
        let ids: Vec<u32> = crate::detect::all_rules().map(|r| r.id).collect();
        for (id, _) in DETECTOR_CRS {
            assert!(ids.contains(id), "{id} is no detector check");
        }
    }
}

#[cfg(test)]
mod mapping_tests {
    use crate::policy::RuleRange;
    use crate::request::Request;
    use crate::{Engine, EngineConfig, Policy};

    /// Every built-in rule says which CRS rules it corresponds to (`[]`
    /// included: a considered "none"), and names CRS ids only (9xxxxx).
    #[test]
    fn every_builtin_rule_names_its_crs_counterparts() {
        let specs = crate::rules::builtin_specs().unwrap();
        for (file, s) in &specs {
            let crs = s
                .crs
                .as_ref()
                .unwrap_or_else(|| panic!("{file}: rule {} has no crs list", s.id));
            for id in crs {
                assert!(
                    (900_000..1_000_000).contains(id),
                    "{file}: rule {}: {id} is no CRS id",
                    s.id
                );
            }
        }
        let mapped = specs
            .iter()
            .filter(|(_, s)| s.crs.as_ref().is_some_and(|c| !c.is_empty()))
            .count();
        assert!(
            mapped * 10 >= specs.len() * 9,
            "only {mapped} of {} rules mapped",
            specs.len()
        );
    }

    /// Disabling CRS ids (as a ModSecurity user's exclusions name them)
    /// disables the Wafer rules mapped to them, and no others.
    #[test]
    fn a_crs_id_in_the_policy_reaches_the_rules_mapped_to_it() {
        let union = Request::new(
            "GET",
            "/search?q=1%20union%20select%20password%20from%20users",
        );
        let fired = |policy: Policy| -> Vec<u32> {
            let e = Engine::build(EngineConfig {
                policy,
                ..Default::default()
            })
            .unwrap();
            e.inspect(&union)
                .findings
                .iter()
                .map(|f| f.rule_id)
                .collect()
        };
        let all = fired(Policy::default());
        assert!(all.contains(&200001), "{all:?}");
        let engine = Engine::builtin();
        let mapped_to = |crs: u32| -> Vec<u32> {
            engine
                .rule_infos()
                .into_iter()
                .filter(|r| r.crs.contains(&crs))
                .map(|r| r.id)
                .collect()
        };
        let off: Vec<RuleRange> = ["942190", "942480"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let now = fired(Policy {
            disabled_rules: off,
            ..Policy::default()
        });
        for id in mapped_to(942190).into_iter().chain(mapped_to(942480)) {
            assert!(!now.contains(&id), "{id} still fired: {now:?}");
        }
        assert!(!now.contains(&200001));
        // Rules mapped elsewhere still fire.
        let others: Vec<&u32> = all
            .iter()
            .filter(|id| !mapped_to(942190).contains(id) && !mapped_to(942480).contains(id))
            .collect();
        assert!(
            !others.is_empty() && others.iter().all(|id| now.contains(id)),
            "{all:?} -> {now:?}"
        );
    }

    /// A tag in the policy reaches the rules that carry it, and only those:
    /// `attack-sqli` silences the SQL rules and checks, not the XSS ones; a
    /// bad tag is refused when the policy is read, naming what is expected.
    #[test]
    fn a_crs_tag_in_the_policy_reaches_the_rules_that_carry_it() {
        let both = Request::new(
            "GET",
            "/search?q=1%20union%20select%20password%20from%20users&c=%3Cscript%3Ealert(1)%3C/script%3E",
        );
        let fired = |disabled: &[&str]| -> Vec<crate::finding::Class> {
            let policy = Policy {
                disabled_rules: disabled.iter().map(|s| s.parse().unwrap()).collect(),
                ..Policy::default()
            };
            let e = Engine::build(EngineConfig {
                policy,
                ..Default::default()
            })
            .unwrap();
            e.inspect(&both).findings.iter().map(|f| f.class).collect()
        };
        use crate::finding::Class;
        let all = fired(&[]);
        assert!(
            all.contains(&Class::Sqli) && all.contains(&Class::Xss),
            "{all:?}"
        );
        let no_sqli = fired(&["attack-sqli"]);
        assert!(
            !no_sqli.contains(&Class::Sqli) && no_sqli.contains(&Class::Xss),
            "{no_sqli:?}"
        );
        let none = fired(&["ATTACK-SQLI", "attack-xss"]);
        assert!(
            !none.contains(&Class::Sqli) && !none.contains(&Class::Xss),
            "{none:?}"
        );
        // Level 1 rules off: what fires is of a higher level only (none at the default level 1).
        assert!(fired(&["paranoia-level/1"]).is_empty());
        let r: RuleRange = "attack-sqli".parse().unwrap();
        assert_eq!(String::from(r), "attack-sqli");
        let e = "attack-sqlx".parse::<RuleRange>().unwrap_err();
        assert!(e.contains("CRS tag such as attack-sqli"), "{e}");
    }
}
