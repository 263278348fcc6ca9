//! URLs that run script when a browser follows or loads them.
//!
//! A browser strips leading and trailing C0 controls and spaces from a URL
//! and removes every tab, LF and CR inside it before it reads the scheme
//! (the URL standard's parsing steps), so `\x01 jav\tascript:` is
//! `javascript:`; the scheme is case-insensitive.

/// A scheme that executes, or a `data:` URL whose type is a document or script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scheme {
    JavaScript,
    VbScript,
    LiveScript,
    /// `data:` with the media type given.
    Data(&'static str),
}

impl Scheme {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Scheme::JavaScript => "javascript:",
            Scheme::VbScript => "vbscript:",
            Scheme::LiveScript => "livescript:",
            Scheme::Data(t) => t,
        }
    }
}

const DATA_TYPES: &[(&str, &str)] = &[
    ("text/html", "data:text/html"),
    ("image/svg+xml", "data:image/svg+xml"),
    ("application/xhtml+xml", "data:application/xhtml+xml"),
    ("text/xml", "data:text/xml"),
    ("application/xml", "data:application/xml"),
    ("text/javascript", "data:text/javascript"),
    ("application/javascript", "data:application/javascript"),
    ("application/x-javascript", "data:application/x-javascript"),
    ("text/ecmascript", "data:text/ecmascript"),
    ("application/ecmascript", "data:application/ecmascript"),
    ("text/vbscript", "data:text/vbscript"),
];

fn is_url_ignored(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r')
}

/// If `v` (a whole URL) has a script scheme: the scheme and what follows the `:`.
pub(super) fn script_url(v: &str) -> Option<(Scheme, &str)> {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] <= b' ' {
        i += 1;
    }
    let mut name = [0u8; 12];
    let mut n = 0;
    loop {
        let c = *b.get(i)?;
        i += 1;
        if c == b':' {
            break;
        }
        if is_url_ignored(c) {
            continue;
        }
        if !c.is_ascii_alphabetic() || n == name.len() {
            return None;
        }
        name[n] = c.to_ascii_lowercase();
        n += 1;
    }
    let rest = &v[i..];
    let scheme = match &name[..n] {
        b"javascript" => Scheme::JavaScript,
        b"vbscript" => Scheme::VbScript,
        b"livescript" => Scheme::LiveScript,
        b"data" => Scheme::Data(data_type(rest)?),
        _ => return None,
    };
    Some((scheme, rest))
}

/// The dangerous media type of a `data:` URL body (`text/html;base64,...`).
fn data_type(rest: &str) -> Option<&'static str> {
    let t: String = rest
        .bytes()
        .filter(|&c| !is_url_ignored(c))
        .skip_while(|&c| c == b' ')
        .take_while(|&c| !matches!(c, b';' | b',' | b' '))
        .take(40)
        .map(|c| c.to_ascii_lowercase() as char)
        .collect();
    DATA_TYPES.iter().find(|(m, _)| *m == t).map(|(_, s)| *s)
}

/// Whether the code after `javascript:` does nothing (`void(0)`, `;`, `//`),
/// as in the `href="javascript:void(0)"` of countless ordinary pages.
pub(super) fn is_inert_js(rest: &str) -> bool {
    let t: String = rest
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(24)
        .collect();
    matches!(
        t.as_str(),
        "void(0)" | "void(0);" | "void0" | "void0;" | ";" | "//" | "false" | "false;" | "null"
    ) || t
        .strip_prefix("void(0)")
        .is_some_and(|more| !more.contains(['(', '`', '=']))
}

/// Whether what follows a script scheme reads as code rather than prose
/// ("javascript: the good parts"): nothing at all (a probe), or a first
/// word directly followed by JavaScript punctuation, or punctuation first.
pub(super) fn looks_like_code(rest: &str) -> bool {
    let t = rest.trim_start();
    let Some(first) = t.bytes().next() else {
        return true;
    };
    if !(first.is_ascii_alphanumeric() || first == b'_' || first == b'$') {
        return true;
    }
    let word_end = t
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'$'))
        .unwrap_or(t.len());
    match t.as_bytes().get(word_end) {
        None => {
            let w = &t[..word_end];
            w.bytes().all(|c| c.is_ascii_digit()) || super::js::is_exec_name(w)
        }
        Some(c) => matches!(
            c,
            b'(' | b'`' | b'.' | b'[' | b'=' | b';' | b'+' | b'-' | b'/' | b'\'' | b'"' | b'{'
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_as_a_browser_reads_them() {
        assert_eq!(
            script_url("javascript:alert(1)"),
            Some((Scheme::JavaScript, "alert(1)"))
        );
        assert_eq!(
            script_url(" \x01jav\tascript:x").map(|s| s.0),
            Some(Scheme::JavaScript)
        );
        assert_eq!(
            script_url("JaVaScRiPt:x").map(|s| s.0),
            Some(Scheme::JavaScript)
        );
        assert_eq!(
            script_url("vbscript:msgbox").map(|s| s.0),
            Some(Scheme::VbScript)
        );
        assert_eq!(
            script_url("data:text/html;base64,PHN").map(|s| s.0),
            Some(Scheme::Data("data:text/html"))
        );
        assert_eq!(script_url("data:image/png;base64,iVBO"), None);
        assert_eq!(script_url("https://example.com/"), None);
        assert_eq!(script_url("java script:x"), None);
        assert_eq!(script_url("I love javascript"), None);
    }

    #[test]
    fn code_or_prose() {
        assert!(looks_like_code("alert(1)"));
        assert!(looks_like_code(" \t"));
        assert!(looks_like_code("/*--></title>"));
        assert!(!looks_like_code(" the good parts"));
        assert!(!looks_like_code("tutorial"));
        assert!(is_inert_js("void(0);"));
        assert!(!is_inert_js("alert(1)"));
        assert!(!is_inert_js("void(0);alert(1)"));
    }
}
