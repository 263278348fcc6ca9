//! A rule's pattern written out for Vectorscan, from the regex crate's own
//! parse of it.
//!
//! Vectorscan reads PCRE syntax, which differs from the regex crate's in
//! places that matter (class set operators, `\x{...}`, what `\s`, `.` and `$`
//! mean, case folding outside ASCII). Rather than hand it the rule's text, this
//! prints the parsed form (`Hir`), where case folding and every class are
//! already expanded into explicit byte ranges: the output uses only byte
//! escapes, byte classes, non-capturing groups, counted repeats, `\A`, `\z`,
//! `\b` and `\B`, which both engines read the same way. So the two scan for
//! the same language by construction, and anything without an exact spelling
//! (Unicode word boundaries, CRLF-aware line anchors) is refused, leaving that
//! pattern's group on the regex sets. Written here because no crate translates
//! between the two dialects.

use regex_syntax::hir::{Class, Hir, HirKind, Look};
use regex_syntax::utf8::Utf8Sequences;
use std::fmt::Write;

/// `pattern` (as a rule set holds it, flags included) in Vectorscan's syntax,
/// or why it has none. Matched without flags (no `CASELESS`, no `DOTALL`, no
/// `UTF8`): byte for byte.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(pattern.len() * 2);
    write_hir(&hir, &mut out)?;
    Ok(out)
}

fn write_hir(hir: &Hir, out: &mut String) -> Result<(), String> {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            for &b in lit.0.iter() {
                write_byte(b, out);
            }
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(u8, u8)> = class.iter().map(|r| (r.start(), r.end())).collect();
            write_class(&ranges, out)?;
        }
        HirKind::Class(Class::Unicode(class)) => {
            // Each range as the UTF-8 byte sequences that encode it: what the
            // regex crate itself compiles a Unicode class to.
            out.push_str("(?:");
            let mut first = true;
            for range in class.iter() {
                for seq in Utf8Sequences::new(range.start(), range.end()) {
                    if !first {
                        out.push('|');
                    }
                    first = false;
                    for r in seq.as_slice() {
                        write_class(&[(r.start, r.end)], out)?;
                    }
                }
            }
            if first {
                return Err("a class that matches nothing".into());
            }
            out.push(')');
        }
        HirKind::Look(look) => out.push_str(match look {
            Look::Start => r"\A",
            Look::End => r"\z",
            Look::WordAscii => r"\b",
            Look::WordAsciiNegate => r"\B",
            other => {
                return Err(format!(
                    "no Vectorscan spelling for the assertion {other:?}"
                ));
            }
        }),
        HirKind::Repetition(rep) => {
            out.push_str("(?:");
            write_hir(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => write!(out, "{{{min},}}").expect("writing to a String"),
                (min, Some(max)) if min == max => {
                    write!(out, "{{{min}}}").expect("writing to a String")
                }
                (min, Some(max)) => write!(out, "{{{min},{max}}}").expect("writing to a String"),
            }
        }
        HirKind::Capture(cap) => {
            out.push_str("(?:");
            write_hir(&cap.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for p in parts {
                write_hir(p, out)?;
            }
        }
        HirKind::Alternation(alts) => {
            out.push_str("(?:");
            for (i, a) in alts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_hir(a, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

fn write_class(ranges: &[(u8, u8)], out: &mut String) -> Result<(), String> {
    if ranges.is_empty() {
        return Err("a class that matches nothing".into());
    }
    if let [(lo, hi)] = ranges
        && lo == hi
    {
        write_byte(*lo, out);
        return Ok(());
    }
    out.push('[');
    for &(lo, hi) in ranges {
        write_byte(lo, out);
        if hi != lo {
            out.push('-');
            write_byte(hi, out);
        }
    }
    out.push(']');
    Ok(())
}

/// Letters, digits and `_` as themselves (they mean the same in and out of a
/// class in both dialects, and keep long patterns under Vectorscan's length
/// limit); every other byte escaped.
fn write_byte(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() || b == b'_' {
        out.push(char::from(b));
    } else {
        write!(out, "\\x{b:02X}").expect("writing to a String");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The translation is itself a pattern the regex crate reads: compiled
    /// there, it must accept exactly what the original accepts.
    fn same_language(original: &str, texts: &[&[u8]]) {
        let printed = translate(original).unwrap();
        let a = regex::bytes::Regex::new(original).unwrap();
        let b = regex::bytes::RegexBuilder::new(&printed)
            .unicode(false)
            .build()
            .unwrap_or_else(|e| panic!("{printed}: {e}"));
        for t in texts {
            assert_eq!(
                a.is_match(t),
                b.is_match(t),
                "{original} as {printed} on {:?}",
                String::from_utf8_lossy(t)
            );
        }
    }

    #[test]
    fn case_folding_classes_and_anchors_survive() {
        let texts: &[&[u8]] = &[
            b"SELECT * FROM t",
            b"select\t*\nfrom t",
            b"xselect",
            b"union  all select",
            b"\xC3\xA9t\xC3\xA9",
            b"\xFF\xFE",
            b"a\nb",
            b"",
            b"<script>alert(1)</script>",
            b"ONLOAD=",
        ];
        for p in [
            r"(?i-u:\bselect\b)",
            r"(?i-u:union\s+(all\s+)?select)",
            r"(?-u:^a.b$)",
            r"(?i-u:<script[^>]*>)",
            r"(?i-u:on(load|error)\s*=)",
            r"(?iu:été)",
            r"(?u:[^a-z]{2,3})",
            r"(?-u:\xFF)",
            r"(?i-u:\Bect\b)",
            r"(?-u:a{3}|b{2,}|c{1,4})",
        ] {
            same_language(p, texts);
        }
    }

    #[test]
    fn what_has_no_exact_spelling_is_refused() {
        assert!(
            translate(r"(?u:\bword\b)").is_err(),
            "Unicode word boundary"
        );
        assert!(translate(r"(?m-u:^a)").is_err(), "line anchor");
        assert!(translate(r"(?-u:[a&&b])").is_err(), "empty class");
        assert!(translate(r"(?-u:x").is_err(), "a syntax error");
    }

    #[test]
    fn escapes_are_bytes_only() {
        let printed = translate(r"(?i-u:a|\.)").unwrap();
        assert_eq!(printed, r"(?:[Aa]|\x2E)");
    }
}
