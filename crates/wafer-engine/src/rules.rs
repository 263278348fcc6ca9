//! Signature rules: the data model (read from TOML), and the compiled matcher.
//!
//! Rules are grouped by their transform chain; each group is one `RegexSet`
//! (a single automaton over all of the group's patterns), so a value is
//! decoded once per chain and scanned once per group however many rules
//! there are. Only the rules the set reports are run on their own, to find
//! where they matched for the explanation.

use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

#[cfg(feature = "vectorscan")]
mod accel;
mod alphabet;
#[cfg(any(feature = "vectorscan", test))]
mod hs_syntax;

use crate::decode::Transform;
use crate::finding::{Class, Severity};
use crate::request::{Location, Part};

/// Built-in rule files, embedded at build time.
pub const BUILTIN: &[(&str, &str)] = &[
    ("protocol.toml", include_str!("../rules/protocol.toml")),
    ("sqli.toml", include_str!("../rules/sqli.toml")),
    ("xss.toml", include_str!("../rules/xss.toml")),
    ("rce.toml", include_str!("../rules/rce.toml")),
    ("lfi.toml", include_str!("../rules/lfi.toml")),
    ("rfi-ssrf.toml", include_str!("../rules/rfi-ssrf.toml")),
    ("injection.toml", include_str!("../rules/injection.toml")),
    ("scanner.toml", include_str!("../rules/scanner.toml")),
];

/// A rule as written in a rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: u32,
    pub class: Class,
    pub severity: Severity,
    #[serde(default = "one")]
    pub paranoia: u8,
    /// Where to look: `args`, `args_names`, `query_string`, `path`, `filename`, `body`,
    /// `cookies`, `cookie_names`, `headers`, `header:NAME`, `method`, `request_line`.
    pub targets: Vec<String>,
    /// Decoding applied before matching; default `["decode"]` (the full evasion chain).
    #[serde(default = "default_transforms")]
    pub transforms: Vec<Transform>,
    /// A `regex` crate pattern (linear time; no look-around, no back-references).
    pub pattern: String,
    /// Patterns are case-insensitive unless this is set.
    #[serde(default)]
    pub case_sensitive: bool,
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Keyword-shaped evidence (a function-call shape, a single SQL or shell
    /// word) that people write in ordinary text and code: it scores
    /// [`WEAK_POINTS`](crate::finding::WEAK_POINTS) at most, so it blocks
    /// only in company.
    #[serde(default)]
    pub weak: bool,
    /// The OWASP CRS rules that detect the same construct (`[]`: none does;
    /// every built-in rule says which, see `crs.rs`).
    #[serde(default)]
    pub crs: Option<Vec<u32>>,
}

fn one() -> u8 {
    1
}

fn default_transforms() -> Vec<Transform> {
    vec![Transform::Decode]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A problem with one rule, naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub rule_id: Option<u32>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule_id {
            Some(id) => write!(f, "{}: rule {}: {}", self.file, id, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Parses one rule file.
pub fn parse_file(name: &str, text: &str) -> Result<Vec<RuleSpec>, RuleError> {
    toml::from_str::<RuleFile>(text)
        .map(|f| f.rule)
        .map_err(|e| RuleError {
            file: name.to_owned(),
            rule_id: None,
            message: e.to_string(),
        })
}

/// The built-in rules, parsed.
pub fn builtin_specs() -> Result<Vec<(String, RuleSpec)>, Vec<RuleError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in BUILTIN {
        match parse_file(name, text) {
            Ok(specs) => out.extend(specs.into_iter().map(|s| (name.to_string(), s))),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Where a rule looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Part(Part),
    /// One header, by lowercase name.
    Header(String),
}

impl Target {
    fn parse(s: &str) -> Result<Vec<Target>, String> {
        let t = |p| Ok(vec![Target::Part(p)]);
        match s {
            "args" => Ok(vec![
                Target::Part(Part::QueryArg),
                Target::Part(Part::BodyArg),
            ]),
            "args_names" => Ok(vec![
                Target::Part(Part::QueryArgName),
                Target::Part(Part::BodyArgName),
            ]),
            "query_args" => t(Part::QueryArg),
            "body_args" => t(Part::BodyArg),
            "query_string" => t(Part::QueryString),
            "path" => t(Part::Path),
            "filename" => t(Part::Filename),
            "body" => t(Part::Body),
            "cookies" => t(Part::Cookie),
            "cookie_names" => t(Part::CookieName),
            "headers" => t(Part::Header),
            "method" => t(Part::Method),
            "request_line" => t(Part::RequestLine),
            _ => match s.strip_prefix("header:") {
                Some(name) if !name.is_empty() => {
                    Ok(vec![Target::Header(name.to_ascii_lowercase())])
                }
                _ => Err(format!("unknown target {s:?}")),
            },
        }
    }

    fn admits(&self, loc: &Location) -> bool {
        match self {
            Target::Part(p) => *p == loc.part,
            Target::Header(n) => {
                loc.part == Part::Header && loc.name.as_deref() == Some(n.as_str())
            }
        }
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: u32,
    pub class: Class,
    pub severity: Severity,
    pub paranoia: u8,
    pub targets: Vec<Target>,
    pub transforms: Vec<Transform>,
    pub description: String,
    pub source: String,
    /// Keyword-shaped: never blocks alone (see [`RuleSpec::weak`]).
    pub weak: bool,
    /// Its OWASP CRS counterparts (see [`RuleSpec::crs`]).
    pub crs: Vec<u32>,
    /// The pattern with its flags, as the group's set holds it.
    pattern: String,
    /// Compiled on the rule's first match: the sets decide whether a rule
    /// matches, this only finds where, and compiling every rule's own regex up
    /// front would double the start-up time.
    regex: OnceLock<Regex>,
}

impl Rule {
    pub fn admits(&self, loc: &Location) -> bool {
        self.targets.iter().any(|t| t.admits(loc))
    }

    /// A bit per `Part` the rule looks at (named headers count as headers).
    fn parts(&self) -> u32 {
        self.targets.iter().fold(0, |acc, t| {
            acc | match t {
                Target::Part(p) => part_bit(*p),
                Target::Header(_) => part_bit(Part::Header),
            }
        })
    }

    /// Where the rule matches in an already transformed value.
    /// Where the rule matches in an already transformed value, widened to
    /// character boundaries (an ASCII-mode class can match inside one).
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        let m = self
            .regex
            .get_or_init(|| {
                build_regex(&self.pattern).expect("the pattern compiled in its group's set")
            })
            .find(text.as_bytes())?;
        let mut start = m.start();
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = m.end();
        while !text.is_char_boundary(end) {
            end += 1;
        }
        Some((start, end))
    }
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// One set over `patterns`, with the limits every rule set uses.
fn build_set<'p>(patterns: impl IntoIterator<Item = &'p str>) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Rules sharing one transform chain, matched in one pass.
#[derive(Debug)]
struct Group {
    chain: Vec<Transform>,
    /// Groups with the same chain have the same id: a value is transformed once per id.
    chain_id: usize,
    /// Every member has this paranoia level: a request at level 1 never pays
    /// for scanning the stricter levels' patterns.
    paranoia: u8,
    set: RegexSet,
    /// Indices into `RuleSet::rules`, in the set's pattern order.
    members: Vec<usize>,
    /// Bit per `Part` that any member looks at, to skip values cheaply.
    parts: u32,
    /// When every member looks only at named headers (`header:content-type`):
    /// those names. Such rules are often "anything but the expected shape"
    /// patterns that would match every other value, so they are kept apart.
    headers: Option<Vec<String>>,
    /// The alphabets within which some member could match (see [`alphabet`]).
    possible: alphabet::Mask,
}

/// All compiled rules.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    groups: Vec<Group>,
    /// Per `Part`, the groups with a member looking there, in order.
    by_part: Vec<Vec<usize>>,
    bytes: alphabet::ByteTable,
    /// Vectorscan databases for the groups, once [`RuleSet::accelerate`] has run.
    #[cfg(feature = "vectorscan")]
    accel: OnceLock<(accel::Accelerated, Acceleration)>,
    /// [`VECTORSCAN_FROM`], unless a test changed it.
    #[cfg(feature = "vectorscan")]
    vectorscan_from: std::sync::atomic::AtomicUsize,
}

/// What [`RuleSet::accelerate`] did: which engine scans the rule groups.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Acceleration {
    /// `vectorscan`, or `regex` when built without the `vectorscan` feature.
    pub engine: &'static str,
    pub groups: usize,
    /// Groups scanned by Vectorscan; the rest stay on their regex sets.
    pub accelerated: usize,
    /// Of those, how many were compiled now (the others were already
    /// compiled for another rule set in this process, or loaded).
    pub compiled: usize,
    /// Of those, how many were read from an image ([`RuleSet::accelerate_from_image`]).
    pub loaded: usize,
    /// Each rule (or group) left on a regex set, and why.
    pub refused: Vec<String>,
}

impl fmt::Display for Acceleration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.engine != "vectorscan" {
            return write!(f, "regex sets (built without the vectorscan feature)");
        }
        write!(
            f,
            "Vectorscan for {} of {} rule groups ({} compiled now, {} loaded)",
            self.accelerated, self.groups, self.compiled, self.loaded
        )
    }
}

/// A rule match in one value.
#[derive(Debug)]
pub struct RuleMatch<'r> {
    pub rule: &'r Rule,
    /// The value after the rule's transforms.
    pub text: String,
    pub start: usize,
    pub end: usize,
}

fn part_bit(p: Part) -> u32 {
    1 << (p as u32)
}

const REGEX_SIZE_LIMIT: usize = 256 << 20;

/// Texts at least this long go to Vectorscan once a rule set is accelerated;
/// shorter ones stay on the regex sets. A Vectorscan scan costs about 2,800
/// instructions however short the text, and most texts a request carries are
/// argument names and small values of a few bytes (`id`, `ref`, `42`), where a
/// warm regex set answers in a few hundred. A text this short can add only as
/// many lazy DFA states as it has bytes, so the regex sets' cold cost and
/// memory stay small for them. Measured in docs/BENCHMARKS.md ("Bodies, second
/// round"): 8 costs warm speed, 32 costs memory.
pub const VECTORSCAN_FROM: usize = 16;

impl RuleSet {
    /// Compiles rules, reporting every bad rule (not only the first).
    pub fn compile(specs: Vec<(String, RuleSpec)>) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(specs.len());
        // Per rule, in `rules` order.
        let mut possible = Vec::with_capacity(specs.len());
        let mut seen = BTreeMap::new();
        for (file, spec) in specs {
            let err = |message: String| RuleError {
                file: file.clone(),
                rule_id: Some(spec.id),
                message,
            };
            if let Some(prev) = seen.insert(spec.id, file.clone()) {
                errors.push(err(format!("duplicate id (also in {prev})")));
                continue;
            }
            if !(1..=4).contains(&spec.paranoia) {
                errors.push(err(format!(
                    "paranoia must be 1..=4, not {}",
                    spec.paranoia
                )));
                continue;
            }
            let mut targets = Vec::new();
            let mut bad_target = false;
            for t in &spec.targets {
                match Target::parse(t) {
                    Ok(ts) => targets.extend(ts),
                    Err(m) => {
                        errors.push(err(m));
                        bad_target = true;
                    }
                }
            }
            if bad_target {
                continue;
            }
            if targets.is_empty() {
                errors.push(err("no targets".into()));
                continue;
            }
            // Parsing (cheap) finds syntax errors; the set build below finds the rest.
            let (pattern, hir) = match parse_pattern(&spec.pattern, spec.case_sensitive) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(err(format!("pattern: {e}")));
                    continue;
                }
            };
            if hir.properties().minimum_len() == Some(0) {
                errors.push(err("pattern matches the empty string".into()));
                continue;
            }
            possible.push(alphabet::possible(&hir));
            rules.push(Rule {
                id: spec.id,
                class: spec.class,
                severity: spec.severity,
                paranoia: spec.paranoia,
                targets,
                transforms: spec.transforms,
                description: spec.description,
                source: file,
                weak: spec.weak,
                crs: spec.crs.unwrap_or_default(),
                pattern,
                regex: OnceLock::new(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        type GroupKey = (Vec<Transform>, u8, Option<Vec<String>>, Option<u32>);
        let mut by_chain: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
        for (i, r) in rules.iter().enumerate() {
            // Rules that do not look at arguments (request line, file names,
            // the query string as a whole...) are grouped by exactly where they
            // look: in a shared set their patterns, often loose shape checks
            // (`[=;]`, `^[^a-z]`), would match every argument and send each one
            // through the per-rule regexes for nothing.
            let parts = r.parts();
            let args = part_bit(Part::QueryArg) | part_bit(Part::BodyArg);
            let special = (parts & args == 0).then_some(parts);
            let mut headers: Option<Vec<String>> = Some(Vec::new());
            for t in &r.targets {
                match (t, headers.as_mut()) {
                    (Target::Header(n), Some(h)) => h.push(n.clone()),
                    _ => headers = None,
                }
            }
            if let Some(h) = headers.as_mut() {
                h.sort();
                h.dedup();
            }
            by_chain
                .entry((r.transforms.clone(), r.paranoia, headers, special))
                .or_default()
                .push(i);
        }
        let mut groups = Vec::new();
        for ((chain, paranoia, headers, _), members) in by_chain {
            let patterns = members.iter().map(|&i| rules[i].pattern.as_str());
            let set = match build_set(patterns) {
                Ok(set) => set,
                Err(e) => return Err(blame_members(&rules, &members, e)),
            };
            let parts = members.iter().fold(0, |acc, &i| acc | rules[i].parts());
            let chain_id = match groups.iter().find(|g: &&Group| g.chain == chain) {
                Some(g) => g.chain_id,
                None => groups.iter().map(|g| g.chain_id + 1).max().unwrap_or(0),
            };
            groups.push(Group {
                possible: alphabet::for_group(&chain, members.iter().map(|&i| possible[i])),
                chain,
                chain_id,
                paranoia,
                set,
                members,
                parts,
                headers,
            });
        }
        let by_part = (0..32)
            .map(|bit| {
                (0..groups.len())
                    .filter(|&g| groups[g].parts & (1 << bit) != 0)
                    .collect()
            })
            .collect();
        Ok(RuleSet {
            rules,
            groups,
            by_part,
            bytes: alphabet::ByteTable::new(),
            #[cfg(feature = "vectorscan")]
            accel: OnceLock::new(),
            #[cfg(feature = "vectorscan")]
            vectorscan_from: std::sync::atomic::AtomicUsize::new(VECTORSCAN_FROM),
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Each group's chain and paranoia level with its members' patterns as
    /// its set holds them: for tools that weigh other ways to match them
    /// (`examples/dfa_fit.rs`).
    pub fn groups(&self) -> Vec<(Vec<Transform>, u8, Vec<&str>)> {
        self.groups
            .iter()
            .zip(self.group_patterns())
            .map(|(g, patterns)| (g.chain.clone(), g.paranoia, patterns))
            .collect()
    }

    /// Compiles the groups for Vectorscan, on up to `threads` threads; from
    /// then on they scan there (groups it refuses stay on their regex sets).
    /// Takes seconds for the built-in rules the first time in a process; a
    /// second call, or a rule set with the same groups, returns at once.
    /// Without the `vectorscan` feature, does nothing and says so.
    pub fn accelerate(&self, threads: usize) -> Acceleration {
        #[cfg(feature = "vectorscan")]
        {
            let (_, report) = self.accel.get_or_init(|| {
                let (acc, outcomes) = accel::accelerate(&self.group_patterns(), threads);
                self.report(acc, outcomes)
            });
            report.clone()
        }
        #[cfg(not(feature = "vectorscan"))]
        {
            let _ = threads;
            self.not_accelerated()
        }
    }

    /// As [`accelerate`](Self::accelerate), from an image that
    /// [`acceleration_image`](Self::acceleration_image) made of the same rules
    /// (in milliseconds where compiling takes seconds). An image of other
    /// rules, or one that Vectorscan will not take (another version or CPU,
    /// damage), is an error and changes nothing.
    pub fn accelerate_from_image(&self, image: &[u8]) -> Result<Acceleration, String> {
        #[cfg(feature = "vectorscan")]
        {
            if let Some((_, report)) = self.accel.get() {
                return Ok(report.clone());
            }
            let (acc, outcomes) = accel::from_image(&self.group_patterns(), image)?;
            let (_, report) = self.accel.get_or_init(|| self.report(acc, outcomes));
            Ok(report.clone())
        }
        #[cfg(not(feature = "vectorscan"))]
        {
            let _ = image;
            Ok(self.not_accelerated())
        }
    }

    /// The Vectorscan databases as bytes, once accelerated, for
    /// [`accelerate_from_image`](Self::accelerate_from_image) in a later process.
    pub fn acceleration_image(&self) -> Option<Result<Vec<u8>, String>> {
        #[cfg(feature = "vectorscan")]
        {
            let (acc, _) = self.accel.get()?;
            Some(accel::image(&self.group_patterns(), acc))
        }
        #[cfg(not(feature = "vectorscan"))]
        None
    }

    /// Each group's patterns, as its set holds them: what
    /// [`compile_image`] needs, so that a process of its own can compile them.
    pub fn pattern_groups(&self) -> Vec<Vec<String>> {
        self.group_patterns()
            .into_iter()
            .map(|g| g.into_iter().map(str::to_owned).collect())
            .collect()
    }

    fn group_patterns(&self) -> Vec<Vec<&str>> {
        self.groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .map(|&i| self.rules[i].pattern.as_str())
                    .collect()
            })
            .collect()
    }

    #[cfg(feature = "vectorscan")]
    fn report(
        &self,
        acc: accel::Accelerated,
        outcomes: Vec<accel::Outcome>,
    ) -> (accel::Accelerated, Acceleration) {
        let mut report = Acceleration {
            engine: "vectorscan",
            groups: self.groups.len(),
            accelerated: 0,
            compiled: 0,
            loaded: 0,
            refused: Vec::new(),
        };
        for ((g, o), db) in self.groups.iter().zip(outcomes).zip(&acc.groups) {
            for (member, why) in db.iter().flat_map(|db| &db.refused) {
                report
                    .refused
                    .push(format!("rule {}: {why}", self.rules[g.members[*member]].id));
            }
            match o {
                accel::Outcome::Compiled => {
                    report.accelerated += 1;
                    report.compiled += 1;
                }
                accel::Outcome::Loaded => {
                    report.accelerated += 1;
                    report.loaded += 1;
                }
                accel::Outcome::Shared => report.accelerated += 1,
                accel::Outcome::Refused(why) => report.refused.push(format!(
                    "{:?} at paranoia {} ({} rules): {why}",
                    g.chain,
                    g.paranoia,
                    g.members.len()
                )),
            }
        }
        (acc, report)
    }

    #[cfg(not(feature = "vectorscan"))]
    fn not_accelerated(&self) -> Acceleration {
        Acceleration {
            engine: "regex",
            groups: self.groups.len(),
            accelerated: 0,
            compiled: 0,
            loaded: 0,
            refused: Vec::new(),
        }
    }

    /// Sends texts of `len` bytes and longer to Vectorscan once accelerated
    /// (default [`VECTORSCAN_FROM`]): 0 sends every text, as the tests that
    /// compare the two engines need. Without the feature, does nothing.
    pub fn scan_on_vectorscan_from(&self, len: usize) {
        #[cfg(feature = "vectorscan")]
        self.vectorscan_from
            .store(len, std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(feature = "vectorscan"))]
        let _ = len;
    }

    /// The members of group `gi` whose pattern matches somewhere in `text`:
    /// from its Vectorscan database once there is one, else its regex set.
    #[cfg_attr(not(feature = "vectorscan"), allow(clippy::needless_lifetimes))]
    fn group_hits<'s>(
        &'s self,
        gi: usize,
        text: &[u8],
        #[cfg(feature = "vectorscan")] lease: &mut Option<Option<accel::ScratchLease<'s>>>,
    ) -> smallvec::SmallVec<[usize; 4]> {
        #[cfg(feature = "vectorscan")]
        if text.len()
            >= self
                .vectorscan_from
                .load(std::sync::atomic::Ordering::Relaxed)
            && let Some((acc, _)) = self.accel.get()
            && let Some(db) = &acc.groups[gi]
            && let Some(lease) = lease.get_or_insert_with(|| acc.scratch())
            && let Some(hits) = db.matching(text, lease.get())
        {
            return hits;
        }
        let set = &self.groups[gi].set;
        // Most values match nothing: `is_match` can stop early and skips the
        // bookkeeping of which patterns matched.
        if !set.is_match(text) {
            return smallvec::SmallVec::new();
        }
        set.matches(text).iter().collect()
    }

    /// Every rule that matches `text` at `loc`, for which `active` says yes.
    pub fn matches<'r>(
        &'r self,
        loc: &Location,
        text: &str,
        active: &dyn Fn(&Rule) -> bool,
    ) -> Vec<RuleMatch<'r>> {
        self.matches_decoded(loc, text, &crate::decode::normalize(text), 4, active)
    }

    /// As [`matches`](Self::matches), with `decoded` = `normalize(text)` already computed by
    /// the caller (chains that start with `decode` continue from it instead of decoding
    /// again), and only the rules up to `paranoia` scanned.
    pub fn matches_decoded<'r>(
        &'r self,
        loc: &Location,
        text: &str,
        decoded: &str,
        paranoia: u8,
        active: &dyn Fn(&Rule) -> bool,
    ) -> Vec<RuleMatch<'r>> {
        let mut out = Vec::new();
        // Text in an alphabet is left as it is by every transform, so the
        // raw value decides for every chain.
        let within = self.bytes.of(text);
        // Several groups share a chain (one per paranoia level, named-header
        // groups): transform the value once per chain.
        // (On the stack: this runs for every value, and there are few chains.)
        let mut chains: smallvec::SmallVec<[(usize, Cow<'_, str>); 8]> = smallvec::SmallVec::new();
        // A Vectorscan scratch space, taken on the first scan that needs one.
        #[cfg(feature = "vectorscan")]
        let mut lease = None;
        for &gi in &self.by_part[loc.part as usize] {
            let g = &self.groups[gi];
            if g.paranoia > paranoia || within & !g.possible != 0 {
                continue;
            }
            if let Some(names) = &g.headers
                && loc
                    .name
                    .as_ref()
                    .is_none_or(|n| names.binary_search(n).is_err())
            {
                continue;
            }
            let i = match chains.iter().position(|(c, _)| *c == g.chain_id) {
                Some(i) => i,
                None => {
                    let t = match g.chain.split_first() {
                        Some((Transform::Decode, rest)) => Transform::apply_chain(rest, decoded),
                        _ => Transform::apply_chain(&g.chain, text),
                    };
                    chains.push((g.chain_id, t));
                    chains.len() - 1
                }
            };
            let transformed: &str = &chains[i].1;
            let hits = self.group_hits(
                gi,
                transformed.as_bytes(),
                #[cfg(feature = "vectorscan")]
                &mut lease,
            );
            for idx in hits {
                let rule = &self.rules[g.members[idx]];
                if !rule.admits(loc) || !active(rule) {
                    continue;
                }
                if let Some((start, end)) = rule.find(transformed) {
                    out.push(RuleMatch {
                        rule,
                        text: transformed.to_string(),
                        start,
                        end,
                    });
                }
            }
        }
        out
    }
}

/// Compiles rule groups (from [`RuleSet::pattern_groups`]) for Vectorscan,
/// on up to `threads` threads, into an image for
/// [`RuleSet::accelerate_from_image`]. The server runs this in a child
/// process: the compiler's working memory, hundreds of megabytes at its peak,
/// then never stays behind in the server's allocator, and a crash in the C
/// library cannot take the proxy down.
pub fn compile_image(groups: &[Vec<String>], threads: usize) -> Result<Vec<u8>, String> {
    #[cfg(feature = "vectorscan")]
    {
        let patterns: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let (acc, _) = accel::accelerate(&patterns, threads);
        accel::image(&patterns, &acc)
    }
    #[cfg(not(feature = "vectorscan"))]
    {
        let _ = (groups, threads);
        Err("built without the vectorscan feature".into())
    }
}

/// A set that failed to build: which members fail on their own (too large, as
/// a rule), or the set's own error when each compiles alone.
fn blame_members(rules: &[Rule], members: &[usize], set_error: regex::Error) -> Vec<RuleError> {
    let mut errors: Vec<RuleError> = members
        .iter()
        .filter_map(|&i| {
            let r = &rules[i];
            build_regex(&r.pattern).err().map(|e| RuleError {
                file: r.source.clone(),
                rule_id: Some(r.id),
                message: format!("pattern: {e}"),
            })
        })
        .collect();
    if errors.is_empty() {
        errors.push(RuleError {
            file: "(all)".into(),
            rule_id: None,
            message: set_error.to_string(),
        });
    }
    errors
}

/// The pattern as the sets hold it, with its syntax tree. Classes, `\b` and
/// case folding are ASCII (`(?-u)`): it is what SQL, shells and HTML parsers
/// mean by a letter or a space, it keeps the lazy DFA from giving up on
/// non-ASCII input (a Unicode `\b` makes it), and it compiles in a fraction of
/// the time. A pattern that names non-ASCII characters keeps Unicode mode.
fn parse_pattern(
    p: &str,
    case_sensitive: bool,
) -> Result<(String, regex_syntax::hir::Hir), String> {
    let ci = if case_sensitive { "" } else { "i" };
    let parse = |pattern: String| {
        regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(&pattern)
            .map(|hir| (pattern, hir))
            .map_err(|e| e.to_string())
    };
    parse(format!("(?{ci}-u:{p})")).or_else(|_| parse(format!("(?{ci}u:{p})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: u32, targets: &[&str], pattern: &str) -> (String, RuleSpec) {
        (
            "t.toml".into(),
            RuleSpec {
                id,
                class: Class::Sqli,
                severity: Severity::Critical,
                paranoia: 1,
                targets: targets.iter().map(|s| s.to_string()).collect(),
                transforms: default_transforms(),
                pattern: pattern.into(),
                case_sensitive: false,
                description: "d".into(),
                tags: vec![],
                weak: false,
                crs: None,
            },
        )
    }

    #[test]
    fn builtin_rules_compile() {
        let specs = builtin_specs().expect("built-in rule files parse");
        assert!(specs.len() >= 50, "only {} built-in rules", specs.len());
        RuleSet::compile(specs).expect("built-in rules compile");
    }

    #[test]
    fn compile_reports_every_bad_rule() {
        let errs = RuleSet::compile(vec![
            spec(1, &["args"], "union\\s+select"),
            spec(2, &["nowhere"], "x"),
            spec(3, &["args"], "(unclosed"),
            spec(1, &["args"], "dup"),
            spec(4, &["args"], "a*"),
        ])
        .unwrap_err();
        let ids: Vec<_> = errs.iter().map(|e| e.rule_id).collect();
        assert_eq!(ids, vec![Some(2), Some(3), Some(1), Some(4)], "{errs:?}");
        assert!(errs[0].to_string().contains("unknown target"));
    }

    #[test]
    fn matches_respect_targets_and_decoding() {
        let set = RuleSet::compile(vec![
            spec(1, &["args"], "union\\s+select"),
            spec(2, &["header:referer"], "evil"),
        ])
        .unwrap();
        let arg = Location::new(Part::QueryArg, Some("id"));
        let m = set.matches(&arg, "1%20UNION%20%53ELECT", &|_| true);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule.id, 1);
        assert_eq!(&m[0].text[m[0].start..m[0].end], "UNION SELECT");
        assert!(
            set.matches(
                &Location::new(Part::Cookie, Some("id")),
                "union select",
                &|_| true
            )
            .is_empty()
        );
        assert!(set.matches(&arg, "union select", &|r| r.id != 1).is_empty());
        let referer = Location::new(Part::Header, Some("referer"));
        assert_eq!(set.matches(&referer, "evil.example", &|_| true).len(), 1);
        let ua = Location::new(Part::Header, Some("user-agent"));
        assert!(set.matches(&ua, "evil.example", &|_| true).is_empty());
    }
}
