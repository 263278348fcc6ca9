//! CSS that runs script or pulls in code: IE's `expression()` and
//! `behavior:` (HTC files), Firefox's `-moz-binding` (XBL), `url()` with a
//! script scheme, and `@import` inside a `<style>` element.
//!
//! CSS is read after undoing its own obfuscations: comments (`exp/**/ression`)
//! and backslash escapes (`@im\port`, `\6a avascript`), then lowercased and
//! stripped of whitespace. Only called on text that is CSS or claims to be
//! (a `style` attribute, a `<style>` element, or a value with a declaration
//! shape and one of the trigger words), so the allocation is off the common path.

/// Undoes CSS comments and escapes, lowercases, drops whitespace.
fn normalize(css: &str) -> String {
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len().min(4096));
    let mut i = 0;
    while i < b.len() && out.len() < 8192 {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |o| i + 2 + o + 2);
            }
            b'\\' => {
                let hex_len = b[i + 1..]
                    .iter()
                    .take(6)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                if hex_len > 0 {
                    let h = &css[i + 1..i + 1 + hex_len];
                    if let Some(c) = u32::from_str_radix(h, 16).ok().and_then(char::from_u32) {
                        out.extend(c.to_lowercase());
                    }
                    i += 1 + hex_len;
                    if b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                        i += 1;
                    }
                } else {
                    // `\x` is `x` in CSS; a backslash before a newline vanishes.
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let ch = css[i..].chars().next().unwrap_or(' ');
                out.extend(ch.to_lowercase());
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// What in `css` would run or load code; `allow_import`: inside `<style>`.
pub(super) fn dangerous(css: &str, allow_import: bool) -> Option<&'static str> {
    let n = normalize(css);
    let has = |p: &str| n.contains(p);
    if has("expression(") {
        return Some("expression()");
    }
    if has("-moz-binding") {
        return Some("-moz-binding");
    }
    if has("behavior:") || has("behaviour:") {
        return Some("behavior:");
    }
    if allow_import && has("@import") {
        return Some("@import");
    }
    let mut from = 0;
    while let Some(o) = n[from..].find("url(") {
        let arg = n[from + o + 4..].trim_start_matches(['"', '\'']);
        for s in ["javascript", "vbscript", "livescript"] {
            // `url(javascript` cut at the end of the value is a probe too.
            if let Some(r) = arg.strip_prefix(s)
                && (r.starts_with(':') || r.is_empty())
            {
                return Some("url(javascript:)");
            }
        }
        if arg.starts_with("data:text/html") || arg.starts_with("data:image/svg+xml") {
            return Some("url(data:)");
        }
        from += o + 4;
    }
    None
}

/// Cheap test before [`dangerous`] on a value that is not known to be CSS.
pub(super) fn has_trigger(s: &str) -> bool {
    let b = s.as_bytes();
    let ci = |p: &[u8]| b.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p));
    memchr::memchr(b'(', b).is_some() && (ci(b"url") || ci(b"expression") || ci(b"behavior"))
        || ci(b"-moz-binding")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_script_in_css() {
        assert!(dangerous("width: expression(alert(1))", false).is_some());
        assert!(dangerous("xss:exp/**/ression(alert(1))", false).is_some());
        assert!(dangerous("background:url(javascript:alert(1))", false).is_some());
        assert!(dangerous("background : url ( 'javascript : alert(1)' )", false).is_some());
        assert!(dangerous("STYLE=X:URL(JAVASCRIPT", false).is_some());
        assert!(dangerous("-moz-binding:url(http://x/a.xml#xss)", false).is_some());
        assert!(dangerous("@im\\port'\\ja\\vasc\\ript:alert(1)';", true).is_some());
        assert!(dangerous("@import 'x.css'", false).is_none());
        assert!(dangerous("color: red; background: url(/img/a.png)", false).is_none());
        assert!(dangerous("font-family: 'Helvetica'", false).is_none());
    }
}
