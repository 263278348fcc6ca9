//! The transaction: one request moving through the inspection phases.
//!
//! Orchestration only: parsing, decoding, matching and deciding are delegated.
//! The proxy calls `on_request_head`, then (if `body_plan` asks for it)
//! `on_request_chunk` for each chunk and `on_request_body_end`, then `finish`.
//! Any phase may answer [`Flow::Stop`]: the verdict is already decided and
//! later phases may be skipped (`finish` must still be called).

use std::collections::HashSet;

use crate::body::{self, BodyKind};
use crate::decode;
use crate::detect::{self, protocol};
use crate::document;
use crate::finding::{Class, Severity};
use crate::finding::{EXCERPT_MAX, Finding, WEAK_POINTS, excerpt};
use crate::policy::{ANOMALY_RULE, Effective, Mode};
use crate::request::Location;
use crate::request::{Part, Request, Value};
use crate::view;
use crate::{Action, AnomalyFeature, AnomalyVerdict, Engine, Verdict};

mod body_phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Start,
    RequestHeaders,
    RequestBody,
    Done,
}

/// Whether the caller should go on feeding the transaction.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The request is decided as blocked; call `finish` for the verdict.
    Stop,
}

/// What the transaction wants of the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    /// Forward it as it streams; it is not inspected (no body, mode off, or already decided).
    Skip,
    /// Buffer at most `limit` bytes and feed them to `on_request_chunk`.
    Inspect { limit: usize },
}

pub struct Transaction<'e> {
    engine: &'e Engine,
    phase: Phase,
    req: Request,
    settings: Option<Effective<'e>>,
    findings: Vec<Finding>,
    /// Rule ids already scored: a rule adds its points once per request, however many values it matches.
    scored: Vec<(u32, u32)>,
    /// Points document evidence has added (at most [`WEAK_POINTS`]).
    document_points: u32,
    /// The address the request arrived on, when the caller knows it: a URL
    /// to it is the site's own (see [`crate::own_url`]).
    local: Option<std::net::SocketAddr>,
    score: u32,
    body_kind: BodyKind,
    /// The status a limit refused the request with (413, 415, 400): it
    /// decides the request in block mode, whatever the score.
    refusal: Option<u16>,
    stopped: bool,
    /// The body's progress: bytes received, decoding, streaming inspection.
    body: body_phase::BodyState,
    anomaly: Option<AnomalyVerdict>,
    /// The body's values as inspected, kept for the anomaly model's features.
    body_values: Option<Vec<Value>>,
}

impl<'e> Transaction<'e> {
    pub(crate) fn new(engine: &'e Engine) -> Self {
        Transaction {
            engine,
            phase: Phase::Start,
            req: Request::default(),
            settings: None,
            findings: Vec::new(),
            scored: Vec::new(),
            document_points: 0,
            local: None,
            score: 0,
            body_kind: BodyKind::Opaque,
            refusal: None,
            stopped: false,
            body: body_phase::BodyState::default(),
            anomaly: None,
            body_values: None,
        }
    }

    fn advance(&mut self, to: Phase) {
        debug_assert!(to >= self.phase, "{to:?} after {:?}", self.phase);
        self.phase = to;
    }

    fn settings(&self) -> &Effective<'e> {
        self.settings.as_ref().expect("on_request_head runs first")
    }

    /// Inspects the request line and headers. `head.body` is ignored.
    /// Tells the transaction which socket the request arrived on (call it
    /// before the head): an argument that is a URL to exactly that address
    /// is the site's own, not SSRF.
    pub fn set_local_addr(&mut self, local: std::net::SocketAddr) {
        self.local = Some(local);
    }

    pub fn on_request_head(&mut self, mut head: Request) -> Flow {
        self.advance(Phase::RequestHeaders);
        head.body.clear();
        let engine = self.engine;
        let path = decode::path::canonicalize(&decode::normalize(head.raw_path())).into_owned();
        let settings = engine.policy.for_head(&path, &head);
        let off = settings.mode == Mode::Off;
        self.settings = Some(settings);
        self.body_kind = body::kind_of(head.header_value("content-type"));
        self.req = head;
        if off {
            return Flow::Continue;
        }
        let mut hits = Vec::new();
        protocol::check_head(&self.req, &engine.policy.allowed_methods, &mut hits);
        self.record_hits(hits);
        let max_args = engine.limits.body.max_args;
        if let Some(q) = self.req.raw_query()
            && q.split('&').filter(|p| !p.is_empty()).count() > max_args
        {
            self.refuse(
                protocol::TOO_MANY_ARGS,
                413,
                Location::new(Part::QueryString, None),
                format!("more than {max_args} query arguments"),
            );
        }
        self.body_head();
        let paranoia = self.settings().paranoia;
        let values =
            view::head_values_except(&self.req, engine.limits.body.max_args, &|p, n, t| {
                engine.memo.is_clean(p, n, t, paranoia)
            });
        self.inspect_values(&values);
        self.flow()
    }

    /// What to do with the body.
    pub fn body_plan(&self) -> BodyPlan {
        let has_body = self
            .req
            .header_value("content-length")
            .is_some_and(|v| v.trim() != "0")
            || self.req.header_value("transfer-encoding").is_some()
            || !self.req.version.starts_with("HTTP/1");
        if self.stopped || self.settings().mode == Mode::Off || !has_body {
            BodyPlan::Skip
        } else {
            BodyPlan::Inspect {
                limit: self.engine.limits.body_inspect_bytes,
            }
        }
    }

    /// Records a limit's finding; when the rule is active on this path, the
    /// limit also decides the request (`status`) in block mode. A rule
    /// disabled by the policy lifts its limit there.
    fn refuse(&mut self, rule: u32, status: u16, location: Location, value: String) {
        let r = detect::rule(rule);
        let key = crate::policy::RuleKey {
            id: r.id,
            class: Some(r.class),
            paranoia: r.paranoia,
            crs: crate::crs::detector_crs(r.id),
        };
        if !self.settings().mapped_rule_active(key) {
            return;
        }
        self.refusal.get_or_insert(status);
        self.record_hits(vec![protocol::Hit {
            rule,
            location,
            value,
            span: None,
            detail: None,
            weak: false,
        }]);
    }

    fn flow(&mut self) -> Flow {
        let s = self.settings();
        if s.mode == Mode::Block && (self.refusal.is_some() || self.score >= s.threshold) {
            self.stopped = true;
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn inspect_values(&mut self, values: &[Value]) {
        let mut hits = Vec::new();
        // Body values already inspected with nothing found, by part, the last
        // segment of their name (`items.7.sku` -> `sku`) and text: JSON arrays
        // and repeated form fields send the same keys and values again and again.
        // The keys are the client's: a seeded hash, so they cannot be chosen to collide.
        let mut clean: HashSet<(Part, &str, &str), foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(values.len(), Default::default());
        let paranoia = self.settings().paranoia;
        for v in values {
            let name = v.location.name.as_deref().unwrap_or("");
            let last_segment =
                memchr::memrchr(b'.', name.as_bytes()).map_or(name, |i| &name[i + 1..]);
            let key = (v.location.part, last_segment, v.text.as_str());
            // Long values rarely come twice, and hashing one costs more than a repeat saves.
            let dedupe = matches!(v.location.part, Part::BodyArg | Part::BodyArgName)
                && v.text.len() <= MAX_DEDUPE_BYTES;
            if dedupe && clean.contains(&key) {
                continue;
            }
            // A second look at base64-encoded text, decoded; its findings say so.
            let (second, found) = self.inspect_value(&v.location, &v.text, &mut hits);
            if second.base64.is_none() && second.percent.is_none() && !found {
                if dedupe {
                    clean.insert(key);
                }
                self.engine
                    .memo
                    .remember(v.location.part, name, &v.text, paranoia);
            }
            for (text, how) in [
                (second.base64, "(after base64 decoding)"),
                (second.percent, "(after percent decoding)"),
            ] {
                let Some(text) = text else { continue };
                let (findings, mut more_hits) = (self.findings.len(), Vec::new());
                self.inspect_value(&v.location, &text, &mut more_hits);
                for f in &mut self.findings[findings..] {
                    f.message.push(' ');
                    f.message.push_str(how);
                }
                for h in &mut more_hits {
                    let d = h
                        .detail
                        .take()
                        .map_or_else(String::new, |d| format!("{d} "));
                    h.detail = Some(format!("{d}{how}"));
                }
                hits.append(&mut more_hits);
            }
        }
        self.record_hits(hits);
    }

    /// Runs protocol checks, detectors and rules over one value. Returns the
    /// value's decoded forms to inspect apart (base64 text; a JSON string's
    /// percent-decoded form: `%` in JSON is a character, so the value itself
    /// is decoded without it), and whether
    /// anything was found, before exclusions and disabled rules are applied.
    fn inspect_value(
        &mut self,
        location: &crate::request::Location,
        raw: &str,
        hits: &mut Vec<protocol::Hit>,
    ) -> (SecondLooks, bool) {
        let engine = self.engine;
        let hits_before = hits.len();
        let json_string = location.part == Part::BodyArg && self.body_kind == BodyKind::Json;
        let layers = if json_string {
            decode::decode_layers_keeping_percent(raw)
        } else {
            decode::decode_layers(raw)
        };
        // A raw body that is binary data under a textual (or missing) type, as
        // protobuf and compressed uploads often are, has NULs and control bytes
        // by nature: that is not evidence. Its text is still inspected.
        // So is binary data carried in a field (see `document::is_binary_blob`).
        let blob = document::is_binary_blob(&layers);
        if !(blob || location.part == Part::Body && body::sniff::looks_binary(prefix(raw, 4096))) {
            protocol::check_value(location, raw, &layers, hits);
        }
        let decoded = decode::remove_nulls(&layers);
        let input = detect::Input {
            location,
            raw,
            decoded: &decoded,
            paranoia: self.settings().paranoia,
        };
        detect::check_value(&input, hits);
        // Binary data carried as text (a session replay, a compressed upload)
        // matches signatures by chance; a match amid its noise is not an
        // injection (see `document::binary_around`).
        if blob {
            let mut i = hits_before;
            while i < hits.len() {
                let h = &hits[i];
                let span = h.span.clone().filter(|r| detect::is_span(&h.value, r));
                if span.is_some_and(|r| document::binary_around(&h.value, &r)) {
                    hits.remove(i);
                } else {
                    i += 1;
                }
            }
        }
        // Paranoia 2 and up judge documents like any value: the leniency is a
        // trade (a whole injection padded into a document passes) that only
        // the default level makes.
        // A raw body is a document only as plain text (or an HTML page): a
        // JSON or XML body, declared or not, is a container of values.
        let document = self.settings().paranoia == 1
            && (location.part == Part::BodyArg
                || (location.part == Part::Body
                    && self.body_kind == BodyKind::Text
                    && !document::looks_structured(raw)))
            && document::is_document(raw);
        if document {
            for h in &mut hits[hits_before..] {
                let class = detect::rule(h.rule).class;
                let span = h
                    .span
                    .clone()
                    .filter(|r| detect::is_span(&h.value, r))
                    .unwrap_or(0..h.value.len());
                let breakout = matches!(class, Class::Sqli | Class::Rce)
                    && document::breakout_line(&h.value, &span);
                h.weak = !breakout && !document::counts_in_full(class, raw, &h.value[span]);
            }
        }
        let settings = self.settings.as_ref().expect("head first");
        // Every match is taken, and inactive rules dropped after, so that `found`
        // holds whatever this path's exclusions are (the memo serves every path).
        let mut matches =
            engine
                .rules
                .matches_decoded(location, raw, &decoded, settings.paranoia, &|_| true);
        if blob {
            matches.retain(|m| !document::binary_around(&m.text, &(m.start..m.end)));
        }
        let found = !matches.is_empty() || hits.len() > hits_before;
        if self
            .local
            .is_some_and(|l| crate::own_url::points_at(&decoded, l))
        {
            let remote = |c: Class| matches!(c, Class::Ssrf | Class::Rfi);
            matches.retain(|m| !remote(m.rule.class));
            let mut i = hits_before;
            while i < hits.len() {
                if remote(detect::rule(hits[i].rule).class) {
                    hits.remove(i);
                } else {
                    i += 1;
                }
            }
        }
        matches.retain(|m| {
            let key = crate::policy::RuleKey {
                id: m.rule.id,
                class: Some(m.rule.class),
                paranoia: m.rule.paranoia,
                crs: &m.rule.crs,
            };
            settings.mapped_rule_active_at(key, location)
        });
        for m in matches {
            let matched = &m.text[m.start..m.end];
            let in_document = document && !document::counts_in_full(m.rule.class, raw, matched);
            let finding = Finding {
                rule_id: m.rule.id,
                class: m.rule.class,
                severity: m.rule.severity,
                paranoia: m.rule.paranoia,
                location: location.clone(),
                value: excerpt(&m.text, m.start, EXCERPT_MAX),
                matched: excerpt(matched, 0, EXCERPT_MAX / 2),
                message: weak_message(&m.rule.description, in_document),
                score: points(m.rule.severity, m.rule.weak || in_document),
                crs: m.rule.crs.clone(),
            };
            self.push_judged(finding, in_document);
        }
        let base64 = decode::base64::plausible_text(&decoded)
            .or_else(|| quoted_base64(location.part, &decoded));
        let percent = if json_string {
            decode::percent_decoded(raw)
        } else {
            None
        };
        (SecondLooks { base64, percent }, found)
    }

    fn record_hits(&mut self, hits: Vec<protocol::Hit>) {
        for h in hits {
            let rule = detect::rule(h.rule);
            let key = crate::policy::RuleKey {
                id: rule.id,
                class: Some(rule.class),
                paranoia: rule.paranoia,
                crs: crate::crs::detector_crs(rule.id),
            };
            if !self.settings().mapped_rule_active_at(key, &h.location) {
                continue;
            }
            // The span's text, and the value cut around it as for signature
            // rules. A hit without a span (or, in release, a bad one) matched
            // the whole value.
            debug_assert!(
                h.span.as_ref().is_none_or(|r| detect::is_span(&h.value, r)),
                "rule {}: bad span {:?}",
                h.rule,
                h.span
            );
            let span = h
                .span
                .filter(|r| detect::is_span(&h.value, r))
                .unwrap_or(0..h.value.len());
            let value = excerpt(&h.value, span.start, EXCERPT_MAX);
            let matched = excerpt(&h.value[span], 0, EXCERPT_MAX / 2);
            let message = match h.detail {
                Some(d) => format!("{}: {d}", rule.description),
                None => rule.description.to_owned(),
            };
            self.push_judged(
                Finding {
                    rule_id: rule.id,
                    class: rule.class,
                    severity: rule.severity,
                    paranoia: rule.paranoia,
                    location: h.location,
                    matched,
                    value,
                    message: weak_message(&message, h.weak),
                    score: points(rule.severity, h.weak),
                    crs: crate::crs::detector_crs(rule.id).to_vec(),
                },
                h.weak,
            );
        }
    }

    /// [`Self::push`] for a finding that may be document evidence: what the
    /// documents of a request say without live markup counts
    /// [`WEAK_POINTS`] at most, all documents together, so authored content
    /// alone never blocks at the default threshold.
    fn push_judged(&mut self, mut f: Finding, document_evidence: bool) {
        if document_evidence {
            let before = self.score;
            f.score = f.score.min(WEAK_POINTS - self.document_points);
            self.push(f);
            self.document_points += self.score - before;
        } else {
            self.push(f);
        }
    }

    /// Adds a finding; a rule's points count once per request, at the
    /// most it scored anywhere (weak in a document, full in a field).
    fn push(&mut self, mut f: Finding) {
        match self.scored.iter_mut().find(|(id, _)| *id == f.rule_id) {
            Some((_, counted)) => {
                let extra = f.score.saturating_sub(*counted);
                *counted += extra;
                self.score += extra;
                f.score = extra;
            }
            None => {
                self.scored.push((f.rule_id, f.score));
                self.score += f.score;
            }
        }
        if self.findings.len() < self.engine.limits.max_findings {
            self.findings.push(f);
        }
    }

    /// The request as inspected so far (head, and the body up to the inspection limit).
    pub fn request(&self) -> &Request {
        &self.req
    }

    /// The body's values as the engine parsed them, when the anomaly
    /// features can read them instead of parsing the body again (see
    /// `Model::score_with_body`, `Sample::of_with`).
    pub fn body_values(&self) -> Option<&[Value]> {
        self.body_values.as_deref()
    }

    /// Scores the request with an anomaly model, under this path's anomaly
    /// settings; call it after the body and before [`finish`](Self::finish).
    /// Nothing happens where the model is off, or where an exclusion or a
    /// disabled range covers rule 1900 (so false alarms tune away like any rule's).
    pub fn score_anomaly(&mut self, model: &crate::anomaly::Model, version: &str) {
        let Some(s) = self.settings.as_ref() else {
            return;
        };
        if s.anomaly_mode == Mode::Off || !s.rule_active(ANOMALY_RULE, 1) {
            return;
        }
        let mode = s.anomaly_mode;
        let threshold = s.anomaly_threshold;
        let a = match &self.body_values {
            Some(values) => model.score_with_body(&self.req, values),
            None => model.score(&self.req),
        };
        let threshold = threshold.unwrap_or(a.threshold);
        let anomalous = a.score > threshold;
        let top: Vec<AnomalyFeature> = a
            .top
            .iter()
            .map(|&(name, value, deviation)| AnomalyFeature {
                name: name.to_owned(),
                value,
                deviation,
            })
            .collect();
        if anomalous && self.findings.len() < self.engine.limits.max_findings {
            let drivers: Vec<String> = top
                .iter()
                .map(|f| format!("{} = {} ({:.1} IQR off)", f.name, f.value, f.deviation))
                .collect();
            self.findings.push(Finding {
                rule_id: ANOMALY_RULE,
                class: Class::Anomaly,
                severity: Severity::Warning,
                paranoia: 1,
                location: Location::new(Part::RequestLine, None),
                value: excerpt(&drivers.join("; "), 0, EXCERPT_MAX),
                matched: String::new(),
                message: format!(
                    "unlike this site's normal traffic: anomaly score {:.3} over {:.3} (model {version})",
                    a.score, threshold
                ),
                // The model is its own contribution with its own threshold, not signature points.
                score: 0,
                crs: Vec::new(),
            });
        }
        self.anomaly = Some(AnomalyVerdict {
            model: version.to_owned(),
            score: a.score,
            threshold,
            anomalous,
            mode,
            top,
        });
    }

    /// Whether the verdict will be to block, as [`finish`](Self::finish) will
    /// decide it: a streamed body's last bytes are held back until this is known.
    pub fn blocks(&self) -> bool {
        let Some(s) = self.settings.as_ref() else {
            return false;
        };
        let model_blocks = self
            .anomaly
            .as_ref()
            .is_some_and(|a| a.anomalous && a.mode == Mode::Block);
        s.mode == Mode::Block
            && (s.score_over(self.score) || self.refusal.is_some() || model_blocks)
    }

    /// The verdict. Consumes the transaction.
    pub fn finish(mut self) -> Verdict {
        self.advance(Phase::Done);
        let s = self
            .settings
            .clone()
            .unwrap_or_else(|| self.engine.policy.for_path("/"));
        let over = s.score_over(self.score) || self.refusal.is_some();
        let model_blocks = self
            .anomaly
            .as_ref()
            .is_some_and(|a| a.anomalous && a.mode == Mode::Block);
        let action = match s.mode {
            Mode::Off => Action::Allow,
            Mode::Block if over || model_blocks => Action::Block,
            _ if self.findings.is_empty() => Action::Allow,
            _ => Action::Flag,
        };
        let status = self.refusal.unwrap_or(403);
        Verdict {
            action,
            status: (action == Action::Block).then_some(status),
            would_block: (over || model_blocks) && s.mode != Mode::Off,
            score: self.score,
            threshold: s.threshold,
            mode: s.mode,
            paranoia: s.paranoia,
            route: s.route.map(str::to_owned),
            findings: self.findings,
            anomaly: self.anomaly,
        }
    }
}

/// At most the first `n` bytes of `s` (whether a value is binary shows early).
/// Decoded forms of a value inspected apart from it: base64 text, and for
/// a JSON string its percent-decoded form.
struct SecondLooks {
    base64: Option<String>,
    percent: Option<String>,
}

/// A finding's points: weak evidence never reaches the default threshold alone.
fn points(severity: crate::finding::Severity, weak: bool) -> u32 {
    if weak {
        severity.points().min(WEAK_POINTS)
    } else {
        severity.points()
    }
}

/// The message of a finding demoted because it sits in a document.
fn weak_message(message: &str, in_document: bool) -> String {
    if in_document {
        format!("{message} (in a document: weak evidence)")
    } else {
        message.to_owned()
    }
}

fn prefix(s: &str, n: usize) -> &[u8] {
    &s.as_bytes()[..s.len().min(n)]
}

/// Longest body value the per-request dedupe set keys on.
const MAX_DEDUPE_BYTES: usize = 1024;

/// Quoted strings checked for base64 inside one value.
const MAX_QUOTED_BASE64: usize = 8;

/// The decoded texts (joined by newlines) of quoted base64 strings inside a
/// value, as in `{"id":"MSBhbmQgMT0y..."}`: applications decode the fields of
/// a JSON blob passed as a parameter, so the payload hides one level down.
/// Only for single values: the request line and query string hold them all.
fn quoted_base64(part: Part, v: &str) -> Option<String> {
    if matches!(part, Part::RequestLine | Part::QueryString | Part::Method)
        || (!v.contains('"') && !v.contains('\''))
    {
        return None;
    }
    let mut out = String::new();
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    // Every piece after a quote: with both quote kinds in play (`'{"a":"..."}'`)
    // which pieces are inside a string is not worth tracking.
    let candidates = v
        .split(['"', '\''])
        .skip(1)
        .filter(|p| p.len() >= 12 && p.chars().all(is_b64))
        .take(MAX_QUOTED_BASE64);
    for part in candidates {
        if let Some(text) = short_base64(part) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&text);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// [`decode::base64::plausible_text`] for a quoted piece. It wants 16
/// characters, but inside quotes 12 (`MSBhbmQgMT0y`, "1 and 1=2") are
/// evidence enough: a shorter piece gets whole quanta of encoded spaces in
/// front, which decode on their own and are trimmed off again.
fn short_base64(piece: &str) -> Option<String> {
    const SPACES: &str = "ICAgICAg"; // "      "
    if piece.len() >= 16 {
        return decode::base64::plausible_text(piece);
    }
    let padded = format!("{SPACES}{piece}");
    decode::base64::plausible_text(&padded).map(|t| t.trim_start().to_owned())
}

/// Messages on an upgraded connection (see [`crate::message`]): kept apart
/// from the request phases above, which they do not go through.
impl<'e> Transaction<'e> {
    /// A transaction for one message: the upgrade request's head was inspected
    /// by its own transaction, so this one starts at the body phase, under the
    /// settings that request's path had.
    pub(crate) fn for_message(engine: &'e Engine, settings: Effective<'e>) -> Self {
        let mut tx = Transaction::new(engine);
        tx.settings = Some(settings);
        tx.phase = Phase::RequestBody;
        tx
    }

    /// Inspects a message's values as body values, and what its parser
    /// reported as protocol findings. Call [`finish`](Self::finish) after.
    pub(crate) fn on_message(&mut self, problems: &[body::BodyProblem], values: &[Value]) {
        let mut hits = Vec::new();
        protocol::check_body(problems, &mut hits);
        self.record_hits(hits);
        self.inspect_values(values);
    }
}
