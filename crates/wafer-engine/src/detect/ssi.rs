//! Server-side includes: does this value carry an SSI directive that a
//! server parsing the page it lands in (`.shtml`, `Options +Includes`, nginx
//! `ssi on`, IIS `#include`) would run?
//!
//! **What it inspects.** Every argument, argument name, cookie, header, body
//! field, file name and the URL path (the raw request line and query string
//! are skipped: their arguments are inspected one by one). The decoded value
//! (percent, `%u`, entities, JS escapes, NULs removed), first [`MAX_SCAN`]
//! bytes.
//!
//! **What it finds.** `<!--` then `#` (blanks allowed around it, any case)
//! then a directive name, read with its attributes:
//! - `exec cmd=`/`exec cgi=` (runs a command or a CGI), reported with the
//!   command;
//! - `include file=|virtual=`, `fsize`, `flastmod` (read a file or a URL),
//!   reported with the target;
//! - `echo var=`, `printenv`, `config`, `set var=`, `if expr=`/`elif` (leak
//!   the environment or steer the parser).
//!
//! A directive needs its attribute (`name=`), except the ones that take none
//! (`printenv`, `else`, `endif`), which need the comment to close (`-->`) or
//! the value to end. Any directive in a value is an attack at paranoia 1: a
//! value has no business carrying one.
//!
//! **Documents.** In a document (see [`crate::document`]) a directive written
//! literally counts in full, as live markup does: stored content served from
//! an SSI-enabled page runs it. One that only appears after decoding
//! entities is shown as text, and is weak evidence.
//!
//! **Cost.** One `memmem` for `<!--` rejects almost every value; nothing is
//! allocated unless there is a hit.
//!
//! **Known false positives.** Web-server tutorials and support posts that
//! quote SSI syntax in a field that is not judged as a document.
//!
//! **Why our own.** The directive set is the documented SSI language (Apache
//! mod_include, nginx ssi); the reading is written here so each finding
//! names the directive and its target.

use super::{Hit, Input};
use crate::request::Part;

super::detector_rules! { Ssi;
    EXEC = 1700, Critical, 1, "SSI exec directive runs a command or CGI (<!--#exec cmd=...)";
    INCLUDE = 1701, Critical, 1, "SSI directive reads a file or URL (<!--#include virtual=..., fsize, flastmod)";
    DIRECTIVE = 1702, Critical, 1, "SSI directive (echo, printenv, config, set, if)";
}

/// Bytes of a value we look at.
pub const MAX_SCAN: usize = 8 * 1024;

/// Directives, the rule each reports, and whether they need an attribute.
const DIRECTIVES: &[(&str, u32, bool)] = &[
    ("exec", EXEC, true),
    ("include", INCLUDE, true),
    ("fsize", INCLUDE, true),
    ("flastmod", INCLUDE, true),
    ("echo", DIRECTIVE, true),
    ("config", DIRECTIVE, true),
    ("set", DIRECTIVE, true),
    ("if", DIRECTIVE, true),
    ("elif", DIRECTIVE, true),
    ("printenv", DIRECTIVE, false),
    ("else", DIRECTIVE, false),
    ("endif", DIRECTIVE, false),
];

/// Checks one value.
pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    if matches!(
        input.location.part,
        Part::RequestLine | Part::QueryString | Part::Method
    ) {
        return;
    }
    let v = input.decoded.as_bytes();
    let v = &v[..v.len().min(MAX_SCAN)];
    // Most values have no `<` at all: one SIMD pass, before a substring
    // searcher is set up.
    if memchr::memchr(b'<', v).is_none() {
        return;
    }
    for at in memchr::memmem::find_iter(v, b"<!--") {
        if let Some(d) = directive(v, at) {
            let span = super::snap(input.decoded, at..d.end);
            let detail = match d.target {
                Some(t) => format!(
                    "`{}` directive, {}={}",
                    d.name,
                    d.attr,
                    String::from_utf8_lossy(t)
                ),
                None => format!("`{}` directive", d.name),
            };
            Hit::push(out, d.rule, input, span, Some(detail));
            // One finding per value says enough.
            return;
        }
    }
}

struct Directive<'a> {
    name: &'static str,
    rule: u32,
    /// The first attribute's name, lowercased as written (`cmd`, `virtual`).
    attr: String,
    /// The first attribute's value, unquoted.
    target: Option<&'a [u8]>,
    /// Where the evidence ends (past the attribute value, or the name).
    end: usize,
}

/// The directive opened by the `<!--` at `at`, if it is one.
fn directive(v: &[u8], at: usize) -> Option<Directive<'_>> {
    let mut i = skip_blanks(v, at + 4);
    if v.get(i) != Some(&b'#') {
        return None;
    }
    i = skip_blanks(v, i + 1);
    let name_end = i + v[i..]
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(v.len() - i);
    let word = &v[i..name_end];
    let &(name, rule, needs_attr) = DIRECTIVES
        .iter()
        .find(|(n, _, _)| word.eq_ignore_ascii_case(n.as_bytes()))?;
    let after = skip_blanks(v, name_end);
    if !needs_attr {
        let rest = &v[after..];
        let closes = rest.is_empty() || rest.starts_with(b"-->") || rest.starts_with(b"--");
        return closes.then(|| Directive {
            name,
            rule,
            attr: String::new(),
            target: None,
            end: name_end,
        });
    }
    // An attribute: a name, blanks, `=`.
    if after == name_end {
        return None;
    }
    let attr_end = after
        + v[after..]
            .iter()
            .position(|c| !c.is_ascii_alphabetic())
            .unwrap_or(v.len() - after);
    if attr_end == after {
        return None;
    }
    let eq = skip_blanks(v, attr_end);
    if v.get(eq) != Some(&b'=') {
        return None;
    }
    let (target, end) = attr_value(v, skip_blanks(v, eq + 1));
    Some(Directive {
        name,
        rule,
        attr: String::from_utf8_lossy(&v[after..attr_end]).to_ascii_lowercase(),
        target: Some(target),
        end: end.max(eq + 1),
    })
}

/// An attribute value starting at `i` (quoted or bare) and where it ends.
fn attr_value(v: &[u8], i: usize) -> (&[u8], usize) {
    match v.get(i) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            let close = v[i + 1..].iter().position(|&c| c == q);
            match close {
                Some(k) => (&v[i + 1..i + 1 + k], i + 2 + k),
                None => (&v[i + 1..], v.len()),
            }
        }
        _ => {
            let k = v[i..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || *c == b'-')
                .unwrap_or(v.len() - i);
            (&v[i..i + k], i + k)
        }
    }
}

/// Past blanks, and blanks written as escapes (`\n`, `\t`: the decode
/// chain leaves them before a letter, a templating layer would not).
fn skip_blanks(v: &[u8], mut i: usize) -> usize {
    loop {
        match (v.get(i), v.get(i + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => i += 1,
            (Some(b'\\'), Some(b'n' | b'r' | b't')) => i += 2,
            _ => return i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::matched;

    fn found(v: &str) -> Vec<(u32, String)> {
        matched(check, Part::QueryArg, Some("q"), v)
    }

    #[test]
    fn directives_are_found_with_their_target() {
        assert_eq!(
            found(r#"<!--#exec cmd="id" -->"#),
            vec![(EXEC, r#"<!--#exec cmd="id""#.to_owned())]
        );
        assert_eq!(
            found("x<!-- #INCLUDE  virtual = '/etc/passwd'-->")[0].0,
            INCLUDE
        );
        assert_eq!(found("<!--#echo var=DOCUMENT_ROOT -->")[0].0, DIRECTIVE);
        assert_eq!(found("<!--#printenv -->")[0].0, DIRECTIVE);
        assert_eq!(found("<!--#printenv")[0].0, DIRECTIVE);
        assert_eq!(found("<!--#fsize file=\"index.html\"-->")[0].0, INCLUDE);
        let h = crate::detect::testing::hits(
            check,
            Part::Cookie,
            Some("c"),
            "<!--#exec cgi=\"/cgi-bin/x.cgi\"-->",
        );
        assert_eq!(
            h[0].detail.as_deref(),
            Some("`exec` directive, cgi=/cgi-bin/x.cgi")
        );
    }

    #[test]
    fn comments_and_prose_pass() {
        for v in [
            "<!-- a comment -->",
            "<!-- #1 in sales -->",
            "<!--#include-->",
            "<!--#exec is a directive-->",
            "issue #exec cmd",
            "<!-- TODO: #include the header -->",
            "<!--# exec",
        ] {
            assert!(found(v).is_empty(), "{v}");
        }
    }
}
