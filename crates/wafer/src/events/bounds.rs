//! Every event has a bounded size, whatever the request carried: each text
//! field has a maximum length (cut on a char boundary, with a marker saying how
//! much was cut), the findings and headers an event keeps are capped (with a
//! count of the rest), and the whole event has a byte budget. One request with
//! a 128 KiB argument name once made a 3.4 MB event; now it makes a few KiB.

use std::collections::HashSet;

use wafer_engine::Finding;

use super::Event;

/// Field lengths, in bytes, before the marker.
pub(crate) const METHOD_MAX: usize = 32;
pub(crate) const HOST_MAX: usize = 256;
pub(crate) const PATH_MAX: usize = 1024;
pub(crate) const QUERY_MAX: usize = 1024;
pub(crate) const USER_AGENT_MAX: usize = 512;
pub(crate) const HEADER_NAME_MAX: usize = 64;
pub(crate) const HEADER_VALUE_MAX: usize = 512;
/// Headers kept per event: enough for any browser, bounded against floods.
pub(crate) const HEADERS_MAX: usize = 64;
pub(crate) const ROUTE_MAX: usize = 256;
pub(crate) const REASON_MAX: usize = 512;
/// A finding's argument name (the location), value excerpt, match and message.
pub(crate) const LOCATION_MAX: usize = 128;
pub(crate) const VALUE_MAX: usize = 256;
pub(crate) const MATCHED_MAX: usize = 128;
pub(crate) const MESSAGE_MAX: usize = 256;
/// Findings kept per event; the rest are counted in `findings_omitted`.
pub const FINDINGS_MAX: usize = 50;
/// Anomaly features kept per event.
const FEATURES_MAX: usize = 16;

/// The whole event's budget, by default: fields and caps above fit in it
/// several times over for ordinary requests.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024;
/// The smallest budget allowed: the capped scalar fields alone need about 4 KiB.
pub const MIN_MAX_EVENT_BYTES: usize = 8 * 1024;

/// `s` cut to at most `max` bytes on a char boundary; a cut string ends with
/// `…[+N bytes]`, N being what was left out.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut keep = max;
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}\u{2026}[+{} bytes]", &s[..keep], s.len() - keep)
}

/// Raw bytes as text (invalid UTF-8 replaced), at most `max` of them decoded;
/// the marker counts the bytes of `b` left out.
pub fn cut_bytes(b: &[u8], max: usize) -> String {
    if b.len() <= max {
        return cut(&String::from_utf8_lossy(b), max);
    }
    let head = String::from_utf8_lossy(&b[..max]);
    let mut keep = head.len().min(max);
    while !head.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}\u{2026}[+{} bytes]", &head[..keep], b.len() - max)
}

/// Longest marker `cut` appends: `…[+` and ` bytes]` around up to 20 digits.
pub(crate) const MARKER_MAX: usize = 32;

/// Cuts `s` unless it is within `max` plus a marker's length, so that a field
/// already cut (and marked) is left as it is.
pub(crate) fn cut_in_place(s: &mut String, max: usize) {
    if s.len() > max + MARKER_MAX {
        *s = cut(s, max);
    }
}

/// A copy of `s`, cut as [`cut_in_place`] would.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    if s.len() > max + MARKER_MAX {
        cut(s, max)
    } else {
        s.to_owned()
    }
}

/// A finding as an event keeps it: every text bounded.
pub(crate) fn bounded_finding(f: &Finding) -> Finding {
    Finding {
        rule_id: f.rule_id,
        class: f.class,
        severity: f.severity,
        paranoia: f.paranoia,
        location: wafer_engine::request::Location {
            part: f.location.part,
            name: f.location.name.as_deref().map(|n| bounded(n, LOCATION_MAX)),
        },
        value: bounded(&f.value, VALUE_MAX),
        matched: bounded(&f.matched, MATCHED_MAX),
        message: bounded(&f.message, MESSAGE_MAX),
        score: f.score,
        // At most a few ids a rule (the mapping's own bound).
        crs: f.crs.iter().copied().take(8).collect(),
    }
}

/// At most [`FINDINGS_MAX`] findings, bounded, and how many were left out.
/// Each distinct rule gets a place before a rule's repeats do, so the rules
/// an event names (and the stats drawn from them) stay complete.
pub(crate) fn pick_findings(all: &[Finding]) -> (Vec<Finding>, u32) {
    if all.len() <= FINDINGS_MAX {
        return (all.iter().map(bounded_finding).collect(), 0);
    }
    let mut seen = HashSet::new();
    let mut keep = vec![false; all.len()];
    let mut n = 0;
    for (i, f) in all.iter().enumerate() {
        if n < FINDINGS_MAX && seen.insert(f.rule_id) {
            keep[i] = true;
            n += 1;
        }
    }
    for k in keep.iter_mut() {
        if n < FINDINGS_MAX && !*k {
            *k = true;
            n += 1;
        }
    }
    let kept: Vec<Finding> = all
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(f, _)| bounded_finding(f))
        .collect();
    let omitted = u32::try_from(all.len() - kept.len()).unwrap_or(u32::MAX);
    (kept, omitted)
}

/// JSON punctuation and numbers around each part, roughly.
const EVENT_OVERHEAD: usize = 400;
const HEADER_OVERHEAD: usize = 8;
const FINDING_OVERHEAD: usize = 160;

fn header_bytes(h: &(String, String)) -> usize {
    h.0.len() + h.1.len() + HEADER_OVERHEAD
}

fn finding_bytes(f: &Finding) -> usize {
    f.location.name.as_ref().map_or(0, String::len)
        + f.value.len()
        + f.matched.len()
        + f.message.len()
        + FINDING_OVERHEAD
}

/// The event's approximate size in memory and as JSON: what the byte-bounded
/// queues and budgets count. Computed once per event, when it is published.
pub fn approx_bytes(ev: &Event) -> usize {
    let anomaly = ev.anomaly.as_ref().map_or(0, |a| {
        a.model.len() + a.top.iter().map(|f| f.name.len() + 40).sum::<usize>() + 80
    });
    EVENT_OVERHEAD
        + ev.id.len()
        + ev.method.len()
        + ev.host.len()
        + ev.path.len()
        + ev.query.len()
        + ev.user_agent.len()
        + ev.route.as_ref().map_or(0, String::len)
        + ev.reason.as_ref().map_or(0, String::len)
        + ev.headers.iter().map(header_bytes).sum::<usize>()
        + ev.findings.iter().map(finding_bytes).sum::<usize>()
        + anomaly
}

/// Makes `ev` fit: every field cut to its maximum (a no-op for an event built
/// by `Event::from_verdict`), then, while over `max_bytes`, headers are shed
/// from the last, then findings from the last (one is always kept). Returns
/// the event's size.
pub fn fit(ev: &mut Event, max_bytes: usize) -> usize {
    cut_in_place(&mut ev.method, METHOD_MAX);
    cut_in_place(&mut ev.host, HOST_MAX);
    cut_in_place(&mut ev.path, PATH_MAX);
    cut_in_place(&mut ev.query, QUERY_MAX);
    cut_in_place(&mut ev.user_agent, USER_AGENT_MAX);
    if let Some(r) = &mut ev.route {
        cut_in_place(r, ROUTE_MAX);
    }
    if let Some(r) = &mut ev.reason {
        cut_in_place(r, REASON_MAX);
    }
    if ev.headers.len() > HEADERS_MAX {
        ev.headers_omitted = ev
            .headers_omitted
            .saturating_add(u32::try_from(ev.headers.len() - HEADERS_MAX).unwrap_or(u32::MAX));
        ev.headers.truncate(HEADERS_MAX);
    }
    for (name, value) in &mut ev.headers {
        cut_in_place(name, HEADER_NAME_MAX);
        cut_in_place(value, HEADER_VALUE_MAX);
    }
    if ev.findings.len() > FINDINGS_MAX
        || ev.findings.iter().any(|f| finding_bytes(f) > FINDING_LIMIT)
    {
        let (kept, omitted) = pick_findings(&ev.findings);
        ev.findings = kept;
        ev.findings_omitted = ev.findings_omitted.saturating_add(omitted);
    }
    if let Some(a) = &mut ev.anomaly {
        cut_in_place(&mut a.model, HOST_MAX);
        a.top.truncate(FEATURES_MAX);
        for f in &mut a.top {
            cut_in_place(&mut f.name, HEADER_NAME_MAX);
        }
    }
    let mut size = approx_bytes(ev);
    while size > max_bytes
        && let Some(h) = ev.headers.pop()
    {
        size -= header_bytes(&h);
        ev.headers_omitted = ev.headers_omitted.saturating_add(1);
    }
    while size > max_bytes && ev.findings.len() > 1 {
        if let Some(f) = ev.findings.pop() {
            size -= finding_bytes(&f);
            ev.findings_omitted = ev.findings_omitted.saturating_add(1);
        }
    }
    size
}

/// Largest a bounded finding can be, markers included.
const FINDING_LIMIT: usize =
    LOCATION_MAX + VALUE_MAX + MATCHED_MAX + MESSAGE_MAX + 4 * MARKER_MAX + FINDING_OVERHEAD;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_char_boundaries_and_says_how_much_was_left_out() {
        assert_eq!(cut("short", 8), "short");
        let s = "é".repeat(10); // 20 bytes
        let c = cut(&s, 5);
        assert_eq!(c, "éé\u{2026}[+16 bytes]");
        let c = cut(&"x".repeat(131_072), 128);
        assert!(c.starts_with(&"x".repeat(128)));
        assert!(c.ends_with("\u{2026}[+130944 bytes]"), "{c}");
        assert_eq!(cut_bytes(b"abcdef", 4), "abcd\u{2026}[+2 bytes]");
        assert_eq!(cut_bytes(b"ab\xffc", 8), "ab\u{fffd}c");
    }
}
