//! LDAP filter injection: does this value, pasted into a search filter such
//! as `(uid=VALUE)` or `(&(uid=VALUE)(userPassword=X))`, close the assertion
//! it was meant for and add conditions of its own?
//!
//! **What it inspects.** Every argument, argument name, cookie, header, body
//! field and path (the raw request line and query string are skipped: their
//! arguments are inspected one by one). The decoded value, and the value as
//! received with LDAP hex escapes (`\28`, `\29`, `\2a`, `\00`) undone, since
//! some directories and mappers decode those before building the filter.
//! First [`MAX_SCAN`] bytes.
//!
//! **What it finds.** Filter syntax read from RFC 4515 (`(attr op value)`,
//! `op` one of `=` `~=` `>=` `<=` `:=`; `(&…)`, `(|…)`, `(!…)`):
//! - a breakout: `)` then `(` then an operator (`)(|`, `)(&`, `)(!`) or an
//!   assertion (`)(uid=*`, `*)(cn=admin`), reported with what it adds;
//! - a composite filter opened in the value: `(|(`, `(&(`, `(!(` followed by
//!   an assertion;
//! - `)` then NUL (as sent, `%00`, `\00`): the filter is closed and the rest
//!   of the application's filter truncated;
//! - `objectClass=*`, the match-everything presence test.
//!
//! **Cost.** Values with no parenthesis, no backslash and no `=*` are
//! skipped after a byte scan; nothing is allocated unless a value carries
//! LDAP escapes or there is a hit.
//!
//! **Known false positives.** Text that really is an LDAP filter (an admin
//! console that takes one). Parentheses in prose and math stay quiet: a
//! breakout needs `)(` followed by an operator or `name=`, and `(a+b)(c-d)`,
//! `f(x)(y)`, `(see above) (p. 3)` have neither.
//!
//! **Why our own.** The grammar is the filter string syntax of RFC 4515;
//! the reading is written here so a finding names the breakout and the
//! condition it adds.

use std::borrow::Cow;
use std::ops::Range;

use super::{Hit, Input};
use crate::request::Part;

super::detector_rules! { Ldapi;
    BREAKOUT = 1800, Critical, 1, "LDAP filter breakout: closes the assertion and adds another ()(|, )(&, *)(uid=*)";
    COMPOSITE = 1801, Critical, 1, "LDAP composite filter opened in a value ((|(, (&(, (!()";
    NUL_TRUNCATION = 1802, Critical, 1, "LDAP filter closed and truncated by a NUL ()%00)";
    MATCH_ALL = 1803, Critical, 1, "LDAP match-everything presence filter (objectClass=*)";
}

/// Bytes of a value we look at.
pub const MAX_SCAN: usize = 8 * 1024;

/// Checks one value.
pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    if matches!(
        input.location.part,
        Part::RequestLine | Part::QueryString | Part::Method
    ) || super::cmdi::structured_header(input)
    {
        return;
    }
    let d = cap(input.decoded.as_bytes());
    let r = cap(input.raw.as_bytes());
    let parens = memchr::memchr2(b'(', b')', d).is_some();
    let escapes = memchr::memchr(b'\\', r).is_some();
    // `=*` without setting up a substring searcher: most values have no `*`.
    let wildcard = || memchr::memchr_iter(b'*', d).any(|i| i > 0 && d[i - 1] == b'=');
    if !parens && !escapes && !wildcard() {
        return;
    }
    let mut report = |rule: u32, span: Range<usize>, detail: String, text: &str| {
        let span = super::snap(text, span);
        if text == input.decoded {
            Hit::push(out, rule, input, span, Some(detail));
        } else {
            // Found in the unescaped value: report it there.
            let view = Input {
                decoded: text,
                ..*input
            };
            Hit::push(out, rule, &view, span, Some(detail));
        }
    };
    if let Some((rule, span, detail)) = scan(d) {
        report(rule, span, detail, input.decoded);
        return;
    }
    if escapes && let Cow::Owned(u) = unescape(r) {
        let text = String::from_utf8_lossy(&u).into_owned();
        if let Some((rule, span, detail)) = scan(text.as_bytes()) {
            report(
                rule,
                span,
                format!("{detail}, written with LDAP escapes"),
                &text,
            );
            return;
        }
        if let Some(span) = closed_then_nul(text.as_bytes()) {
            report(NUL_TRUNCATION, span, "`)` then `\\00`".into(), &text);
            return;
        }
    }
    // The NUL is gone from the decoded value (and may hide under any
    // encoding in the raw one): decode the raw value again, keeping NULs,
    // only when a stray `)` and a NUL's spelling are both there.
    if nul_hint(r)
        && input.location.part != Part::Body
        && let Some(close) = stray_closes(d).next()
    {
        let layers = crate::decode::decode_layers(input.raw);
        if let Some(span) = closed_then_nul(cap(layers.as_bytes())) {
            let shown = if layers.as_bytes().get(span.start + 1) == Some(&0) {
                "NUL"
            } else {
                "%00"
            };
            report(
                NUL_TRUNCATION,
                close..close + 1,
                format!("`)` then {shown}"),
                input.decoded,
            );
        }
    }
}

/// Whether `r` may spell a NUL: the byte itself or `00` (`%00`, `\x00`, `%u0000`).
fn nul_hint(r: &[u8]) -> bool {
    memchr::memchr(0, r).is_some() || memchr::memmem::find(r, b"00").is_some()
}

fn cap(v: &[u8]) -> &[u8] {
    &v[..v.len().min(MAX_SCAN)]
}

/// A breakout, a composite filter or a presence test in `s`.
fn scan(s: &[u8]) -> Option<(u32, Range<usize>, String)> {
    for i in stray_closes(s) {
        let j = skip_blanks(s, i + 1);
        if s.get(j) != Some(&b'(') {
            continue;
        }
        let mut k = skip_blanks(s, j + 1);
        while s.get(k) == Some(&b'(') {
            k = skip_blanks(s, k + 1);
        }
        if let Some((op, end)) = operator(s, k) {
            let shown = String::from_utf8_lossy(&s[i..end]).into_owned();
            return Some((
                BREAKOUT,
                i..end,
                format!("`{shown}` closes the filter and opens {op}"),
            ));
        }
        if let Some(a) = assertion(s, k) {
            let shown = String::from_utf8_lossy(&s[i..a.end]).into_owned();
            return Some((
                BREAKOUT,
                i..a.end,
                format!(
                    "`{shown}` closes the filter and adds a condition on {}",
                    a.attr
                ),
            ));
        }
    }
    // A whole filter (`(&(a=b)(c=d))`) is what search consoles take: the
    // value must carry something else for a composite to be injected.
    let t = s.trim_ascii();
    let whole = t.starts_with(b"(") && t.ends_with(b")") && balanced(t);
    for i in memchr::memchr_iter(b'(', s).filter(|_| !whole) {
        let k = skip_blanks(s, i + 1);
        let Some(&c @ (b'&' | b'|' | b'!')) = s.get(k) else {
            continue;
        };
        let m = skip_blanks(s, k + 1);
        if s.get(m) == Some(&b'(')
            && let Some(a) = assertion(s, skip_blanks(s, m + 1))
        {
            let shown = String::from_utf8_lossy(&s[i..a.end]).into_owned();
            return Some((
                COMPOSITE,
                i..a.end,
                format!("`{shown}` opens {} filter on {}", op_name(c), a.attr),
            ));
        }
    }
    match_all(s).map(|r| (MATCH_ALL, r, "`objectClass=*` matches every entry".into()))
}

fn op_name(c: u8) -> &'static str {
    match c {
        b'&' => "an AND",
        b'|' => "an OR",
        _ => "a NOT",
    }
}

/// `&`, `|` or `!` at `k` opening a filter: followed by `(`, an assertion,
/// `)` or the end of the value. Returns its name and where the evidence ends.
fn operator(s: &[u8], k: usize) -> Option<(&'static str, usize)> {
    let c = *s.get(k)?;
    if !matches!(c, b'&' | b'|' | b'!') {
        return None;
    }
    let m = skip_blanks(s, k + 1);
    let ok = match s.get(m) {
        None | Some(b'(' | b')') => true,
        Some(_) => assertion(s, m).is_some(),
    };
    ok.then(|| (op_name(c), (k + 1).max(m.min(s.len()))))
}

struct Assertion {
    attr: String,
    end: usize,
}

/// `attr op value` at `k`: an attribute description (a name or an OID,
/// options after `;`, an extensible `:dn:rule` part), then `=`, `~=`, `>=`,
/// `<=` or `:=`. The evidence ends past a `*` value or at the operator.
fn assertion(s: &[u8], k: usize) -> Option<Assertion> {
    let first = *s.get(k)?;
    if !(first.is_ascii_alphanumeric()) {
        return None;
    }
    let mut e = k;
    while s
        .get(e)
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b';' | b':' | b'_'))
    {
        e += 1;
    }
    let name = &s[k..e];
    // A digit alone (`(2)(3=x)`) is arithmetic, not an OID.
    if name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut o = skip_blanks(s, e);
    if matches!(s.get(o), Some(b'~' | b'>' | b'<')) {
        o += 1;
    }
    if s.get(o) != Some(&b'=') {
        return None;
    }
    let mut end = o + 1;
    while s.get(end) == Some(&b'*') {
        end += 1;
    }
    let attr = String::from_utf8_lossy(name.split(|&c| c == b':').next().unwrap_or(name));
    Some(Assertion {
        attr: attr.into_owned(),
        end,
    })
}

/// `objectclass` (any case), `=`, `*`.
fn match_all(s: &[u8]) -> Option<Range<usize>> {
    const NAME: &[u8] = b"objectclass";
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&s[from..], b"=*").map(|k| from + k) {
        from = k + 2;
        let before = s[..k].trim_ascii_end();
        if before.len() >= NAME.len()
            && before[before.len() - NAME.len()..].eq_ignore_ascii_case(NAME)
        {
            return Some(before.len() - NAME.len()..k + 2);
        }
    }
    None
}

/// The `)` of `s` that close nothing opened before them in `s`: a value
/// that closes a bracket it did not open closes the application's.
fn stray_closes(s: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0usize;
    s.iter().enumerate().filter_map(move |(i, &c)| match c {
        b'(' => {
            depth += 1;
            None
        }
        b')' if depth > 0 => {
            depth -= 1;
            None
        }
        b')' => Some(i),
        _ => None,
    })
}

/// Whether every bracket of `s` is closed and none closes what it did not open.
fn balanced(s: &[u8]) -> bool {
    let opens = memchr::memchr_iter(b'(', s).count();
    let closes = memchr::memchr_iter(b')', s).count();
    opens == closes && stray_closes(s).next().is_none()
}

/// A stray `)` followed by a NUL, `%00` or `\00`, after text (binary data
/// has NULs after brackets by chance).
fn closed_then_nul(s: &[u8]) -> Option<Range<usize>> {
    stray_closes(s).find_map(|i| {
        if s[..i].iter().any(|c| c.is_ascii_control()) {
            return None;
        }
        let rest = &s[i + 1..];
        let n = if rest.first() == Some(&0) {
            1
        } else if rest.starts_with(b"%00") || rest.starts_with(b"\\00") {
            3
        } else {
            return None;
        };
        Some(i..i + 1 + n)
    })
}

/// LDAP hex escapes (`\28` → `(`) undone; borrowed when there are none.
fn unescape(s: &[u8]) -> Cow<'_, [u8]> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let esc = |i: usize| -> Option<u8> {
        (s[i] == b'\\')
            .then(|| Some(hex(*s.get(i + 1)?)? << 4 | hex(*s.get(i + 2)?)?))
            .flatten()
    };
    if !(0..s.len()).any(|i| esc(i).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match esc(i) {
            // Only ASCII: a multi-byte character spelled in escapes is not an evasion.
            Some(b) if b.is_ascii() => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn skip_blanks(v: &[u8], mut i: usize) -> usize {
    while v.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{hits, matched};

    fn found(v: &str) -> Vec<(u32, String)> {
        matched(check, Part::QueryArg, Some("user"), v)
    }

    #[test]
    fn breakouts_are_found_and_named() {
        assert_eq!(
            found("*)(uid=*))(|(uid=*"),
            vec![(BREAKOUT, ")(uid=*".to_owned())]
        );
        assert_eq!(found("admin)(|(password=*)")[0].0, BREAKOUT);
        assert_eq!(found("x)(&")[0].0, BREAKOUT);
        assert_eq!(found("admin) (!(cn=x))")[0].0, BREAKOUT);
        assert_eq!(found("*(|(mail=*))")[0].0, COMPOSITE);
        assert_eq!(found("objectClass=*")[0].0, MATCH_ALL);
        let h = hits(check, Part::BodyArg, Some("login"), "admin)(|(uid=*)");
        assert_eq!(
            h[0].detail.as_deref(),
            Some("`)(|` closes the filter and opens an OR")
        );
    }

    #[test]
    fn escapes_and_nul_are_found() {
        let location = crate::request::Location::new(Part::QueryArg, Some("u"));
        let run = |raw: &str, decoded: &str| {
            let input = Input {
                location: &location,
                raw,
                decoded,
                paranoia: 1,
            };
            let mut out = Vec::new();
            check(&input, &mut out);
            out.iter().map(|h| h.rule).collect::<Vec<_>>()
        };
        assert_eq!(run("admin)\0", "admin)"), vec![NUL_TRUNCATION]);
        assert_eq!(run("x\\29\\28uid=*", "x\u{2}9\u{2}8uid=*"), vec![BREAKOUT]);
        assert_eq!(
            run("admin\\29\\00", "admin\u{2}9\u{0}0"),
            vec![NUL_TRUNCATION]
        );
    }

    #[test]
    fn parentheses_in_prose_and_math_pass() {
        for v in [
            "(a+b)(c-d)",
            "f(x)(y)",
            "(see above) (p. 3)",
            "Smith (2019) (pp. 4-5)",
            "(2)(3)",
            "price (incl. VAT) = 10",
            "a|(b&c)",
            ":-) (just kidding)",
            "x = (y * 2)",
            "fn(a) || (b)",
            "SELECT (1)",
            "C:\\Users\\me",
            "(&(objectCategory=computer)  (userAccountControl:1.2.840.113556.1.4.803:=8192))",
            "(userAccountControl:1.2.840.113556.1.4.803:=67108864)(&(objectCategory=group)(x=1))",
        ] {
            assert!(found(v).is_empty(), "{v}: {:?}", found(v));
        }
    }
}
