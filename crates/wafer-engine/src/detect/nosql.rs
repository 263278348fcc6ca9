//! NoSQL (MongoDB-style) operator injection: a query operator or server-side
//! JavaScript where the application expected a plain value.
//!
//! **What it inspects.** Argument and cookie names (operators in brackets or
//! dotted segments, `user[$ne]`, `$or[0][a]`, and JSON keys, which reach
//! detectors as body argument names: `{"user": {"$ne": null}}` gives the
//! name `$ne`); values of every part but the method, the request line and the
//! raw query string (whose arguments are inspected one by one): JSON or
//! JavaScript object text with an operator key (`{"$gt": ""}`,
//! `{$where: ...}`), query-string brackets (`user[$ne]=1` in a raw body), and
//! server-side JavaScript as `$where`, `$function` and `mapReduce` run it.
//!
//! **What it finds.**
//! - [`OPERATOR_IN_NAME`]: the operator and the name (`$ne in user[$ne]`).
//! - [`OPERATOR_IN_VALUE`]: the operator and how it is written (object key,
//!   query-string brackets).
//! - [`SERVER_JS`]: what the JavaScript does (compares `this.<field>`, returns
//!   a constant, sleeps, loops forever, breaks a quoted string into `||`).
//! - [`SHELL_CALL`]: a MongoDB shell call (`db.users.find(`, `db.dropDatabase(`).
//!
//! **Not operators.** Only MongoDB's query, update and aggregation operator
//! names count, never any `$word`: `$schema`, `$id`, `$ref`, `$comment` (JSON
//! Schema), `$type`, `$values` (.NET type metadata) and OData's `$filter`, `$top`, `$skip`, `$select`, `$count`,
//! `$search`, `$orderby`, `$expand` are left alone; `$10` and `US$` are prices.
//!
//! **Cost.** Values without `$` skip the operator scan after a `memchr`;
//! the JavaScript patterns (one regex compiled once, with a literal
//! prefilter) run only on values holding `(`, `=`, `;`, `<` or `>`.
//! Allocation only to report a hit.
//!
//! **Known false positives.** APIs whose query language is MongoDB's own
//! (Strapi's `filters[title][$eq]=`, Parse, some admin consoles) must exclude
//! rule 1850 for those arguments; code-editing forms that submit JavaScript
//! comparing `this.x == ...` trip [`SERVER_JS`].
//!
//! **Why our own.** The operator names are MongoDB's documented query
//! language; the placements are how `qs`, PHP and Express turn brackets into
//! objects. Supersedes the two signature rules 730001/730002, whose findings
//! could not say which operator sat where.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{Hit, Input};
use crate::request::Part;

super::detector_rules! { Nosqli;
    OPERATOR_IN_NAME = 1850, Critical, 1, "MongoDB query operator in an argument name (user[$ne]=, {\"$gt\": ...} as a JSON key)";
    OPERATOR_IN_VALUE = 1851, Critical, 1, "MongoDB query operator object in a value ({\"$ne\": null} as text, [$ne] brackets)";
    SERVER_JS = 1852, Critical, 1, "server-side JavaScript for $where / mapReduce (this.field comparison, return true, sleep, endless loop)";
    SHELL_CALL = 1853, Critical, 1, "MongoDB shell call in a value (db.users.find(), db.dropDatabase())";
}

/// Bytes of a value scanned; an operator deeper than this in one value is
/// past what a WAF can afford to read per value.
const MAX_SCAN: usize = 64 * 1024;

/// MongoDB operators that change what a query matches or run code, lowercase.
/// Deliberately absent: names other formats use as keys (see the module doc).
const OPERATORS: &[&str] = &[
    "ne",
    "eq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "nin",
    "not",
    "nor",
    "or",
    "and",
    "regex",
    "where",
    "exists",
    "size",
    "all",
    "elemmatch",
    "mod",
    "expr",
    "function",
    "accumulator",
    "jsonschema",
    "lookup",
    "graphlookup",
    "unionwith",
    "match",
    "group",
    "merge",
    "out",
    "bitsallset",
    "bitsanyset",
    "geowithin",
    "slice",
    "text",
];

/// Which operator starts at `s` (just after a `$`), and its length.
fn operator_at(s: &[u8]) -> Option<&'static str> {
    let len = s.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if len == 0 || s.get(len).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        return None;
    }
    let word = &s[..len];
    OPERATORS
        .iter()
        .find(|op| op.as_bytes().eq_ignore_ascii_case(word))
        .copied()
}

pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    let v = input.decoded;
    let scan = &v.as_bytes()[..v.len().min(MAX_SCAN)];
    match input.location.part {
        Part::Method | Part::RequestLine | Part::QueryString => return,
        Part::QueryArgName | Part::BodyArgName | Part::CookieName => {
            if memchr::memchr(b'$', scan).is_some() {
                check_name(input, scan, out);
            }
            return;
        }
        _ => {}
    }
    if memchr::memchr(b'$', scan).is_some() {
        check_operators_in_value(input, scan, out);
    }
    if input.location.part != Part::Header
        && scan
            .iter()
            .any(|c| matches!(c, b'(' | b'=' | b';' | b'<' | b'>'))
    {
        check_javascript(input, out);
    }
}

/// An operator as a whole name (a JSON key), or as a bracketed or dotted
/// segment of one (`user[$ne]`, `$or[0][a]`, `user.$gt`).
fn check_name(input: &Input<'_>, scan: &[u8], out: &mut Vec<Hit>) {
    for at in memchr::memchr_iter(b'$', scan) {
        let Some(op) = operator_at(&scan[at + 1..]) else {
            continue;
        };
        let end = at + 1 + op.len();
        let before = scan[..at].iter().rev().find(|c| **c != b' ').copied();
        let after = scan[end..].iter().find(|c| **c != b' ').copied();
        let opens = matches!(before, None | Some(b'[' | b'.'));
        let closes = matches!(after, None | Some(b']' | b'.' | b'['));
        if !(opens && closes) {
            continue;
        }
        let how = match (input.location.part, before) {
            (Part::BodyArgName, None) => "as a JSON key",
            (Part::CookieName, _) => "in a cookie name",
            _ => "in an argument name",
        };
        let name = input.location.name.as_deref().unwrap_or("");
        let detail = format!("operator ${op} {how} ({name})");
        Hit::push(out, OPERATOR_IN_NAME, input, at..end, Some(detail));
        return;
    }
}

/// An operator as an object key in JSON or JavaScript text (`{"$ne": 1}`,
/// `, $where: '...'`) or as a query-string bracket (`user[$ne]=`).
fn check_operators_in_value(input: &Input<'_>, scan: &[u8], out: &mut Vec<Hit>) {
    for at in memchr::memchr_iter(b'$', scan) {
        let Some(op) = operator_at(&scan[at + 1..]) else {
            continue;
        };
        let end = at + 1 + op.len();
        let how = if is_object_key(scan, at, end) {
            "as an object key"
        } else if is_bracket(scan, at, end) {
            "in query-string brackets"
        } else {
            continue;
        };
        let detail = format!("operator ${op} {how}");
        Hit::push(out, OPERATOR_IN_VALUE, input, at..end, Some(detail));
        return;
    }
}

fn skip_blank_back(s: &[u8], mut i: usize) -> usize {
    while i > 0 && s[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    i
}

fn skip_blank(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `{` or `,` before (an optional quote between), `:` after.
fn is_object_key(s: &[u8], at: usize, end: usize) -> bool {
    let mut b = at;
    if b > 0 && matches!(s[b - 1], b'"' | b'\'') {
        b -= 1;
    }
    let b = skip_blank_back(s, b);
    if b == 0 || !matches!(s[b - 1], b'{' | b',') {
        return false;
    }
    let mut e = end;
    if e < s.len() && matches!(s[e], b'"' | b'\'') {
        e += 1;
    }
    let e = skip_blank(s, e);
    e < s.len() && s[e] == b':'
}

/// `[$op]`, as `qs` and PHP read it.
fn is_bracket(s: &[u8], at: usize, end: usize) -> bool {
    let b = skip_blank_back(s, at);
    let e = skip_blank(s, end);
    b > 0 && s[b - 1] == b'[' && e < s.len() && s[e] == b']'
}

/// What server-side JavaScript looks like where a value was expected, each
/// pattern with what it tells.
static JS: LazyLock<Vec<(Regex, &'static str, u32)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("nosql JavaScript pattern");
    vec![
        (
            r(
                r"(?i)\bthis\s*\.\s*[a-z_$][\w$]*(?:\s*\.\s*length)?\s*(?:===?|!==?|<=?|>=?|\.\s*(?:match|test|startswith|endswith|indexof|includes|charat|substr\w*)\s*\()",
            ),
            "compares a document field through this.",
            SERVER_JS,
        ),
        (
            r(r#"(?i)(?:[;{]|['"]\s*[;)])\s*return\s*(?:true|false|!?[01]|this\b|['"(!])"#),
            "returns a constant from injected code",
            SERVER_JS,
        ),
        (
            r(
                r#"(?i)(?:[;{'"|&:]|\breturn)\s*sleep\s*\(\s*\d+|\bsleep\s*\(\s*\d+\s*\)\s*(?:\|\||&&|;)"#,
            ),
            "sleeps (time-based probe)",
            SERVER_JS,
        ),
        (
            r(r"(?i)\bwhile\s*\(\s*(?:true|1|!0)\s*\)"),
            "loops forever",
            SERVER_JS,
        ),
        (
            r(r#"['"]\s*(?:\|\||&&)\s*['"]?[\w$.]*['"]?\s*(?:===?|!==?)\s*['"]?[\w$.]*"#),
            "breaks out of a quoted string into a JavaScript comparison",
            SERVER_JS,
        ),
        (
            r(
                r"(?i)\bdb\s*\.\s*(?:[\w$]+\s*\.\s*)?(?:find\w*|insert\w*|update\w*|remove|delete\w*|drop\w*|aggregate|getcollection\w*|getsiblingdb|eval|runcommand|createcollection|mapreduce|adminCommand)\s*\(",
            ),
            "calls the MongoDB shell",
            SHELL_CALL,
        ),
    ]
});

fn check_javascript(input: &Input<'_>, out: &mut Vec<Hit>) {
    let v = &input.decoded[..super::snap(input.decoded, 0..MAX_SCAN).end];
    for (re, what, rule) in JS.iter() {
        if let Some(m) = re.find(v) {
            let span: Range<usize> = m.range();
            let detail = format!("{what}: {}", &v[span.clone()]);
            Hit::push(out, *rule, input, span, Some(detail));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{matched, rule_ids};

    #[test]
    fn operators_in_names() {
        for (part, name) in [
            (Part::QueryArgName, "user[$ne]"),
            (Part::QueryArgName, "$or[0][user]"),
            (Part::QueryArgName, "a[ $gt ]"),
            (Part::QueryArgName, "pw[$regex]"),
            (Part::BodyArgName, "$where"),
            (Part::BodyArgName, "$elemMatch"),
            (Part::CookieName, "session[$exists]"),
        ] {
            assert_eq!(
                rule_ids(check, part, Some(name), name),
                [OPERATOR_IN_NAME],
                "{name}"
            );
        }
        let m = matched(check, Part::QueryArgName, Some("user[$ne]"), "user[$ne]");
        assert_eq!(m, [(OPERATOR_IN_NAME, "$ne".to_owned())]);
    }

    #[test]
    fn operators_in_values() {
        for v in [
            r#"{"user": {"$ne": null}}"#,
            r#"{"$where": "1==1"}"#,
            "{$gt: ''}",
            "true, $where: '1 == 1'",
            "user[$ne]=admin&pass[$ne]=x",
            r#"[{"$match":{}},{"$lookup":{"from":"users"}}]"#,
        ] {
            let ids = rule_ids(check, Part::QueryArg, Some("q"), v);
            assert_eq!(ids.first(), Some(&OPERATOR_IN_VALUE), "{v}");
        }
    }

    #[test]
    fn server_side_javascript() {
        for v in [
            "this.password.match(/^a.*/)",
            "' && this.password.length > 0 //",
            "'; return true; var x='",
            "1; sleep(5000)",
            "';while(true){}'",
            "' || 'a'=='a",
            "'; return this.a != 'b'; var c='",
        ] {
            assert_eq!(
                rule_ids(check, Part::QueryArg, Some("q"), v),
                [SERVER_JS],
                "{v}"
            );
        }
        assert_eq!(
            rule_ids(check, Part::BodyArg, Some("q"), "x'; db.users.drop(); '"),
            [SHELL_CALL]
        );
    }

    #[test]
    fn look_alikes_pass() {
        for (part, v) in [
            (Part::QueryArg, "$10 - $20"),
            (Part::QueryArg, "US$ 1,200"),
            (Part::BodyArgName, "$schema"),
            (Part::BodyArgName, "$id"),
            (Part::BodyArgName, "$ref"),
            (Part::BodyArgName, "$type"),
            (Part::BodyArgName, "$comment"),
            (Part::QueryArgName, "$filter"),
            (Part::QueryArgName, "$top"),
            (Part::QueryArgName, "$select"),
            (
                Part::QueryArg,
                r#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#,
            ),
            (Part::QueryArg, "price in $ or €"),
            (Part::QueryArg, "Total: $5; tax (est.) = $0.40"),
            (Part::QueryArg, "${name} and ${gt}"),
            (Part::QueryArg, "a == b, if x > 3 return"),
            (Part::QueryArg, "I'd say so; return policy is 30 days"),
            (Part::QueryArg, "database.find(x)"),
            (Part::Header, "this.x == 1"),
        ] {
            assert!(rule_ids(check, part, Some("x"), v).is_empty(), "{v}");
        }
    }
}
