//! Path canonicalization: the path a server resolves, not the one written.
//!
//! `/a/./b/../c`, `/a//c`, `\a\c` and `/a;x=1/c` all name `/a/c` to some
//! server, so routes and path rules must see `/a/c`. Done here, not with a
//! crate, because the rules are a WAF's union of what servers accept:
//!
//! - `\` is a separator too (IIS, Windows back ends);
//! - runs of `/` collapse to one;
//! - `;params` are dropped from each segment, as Tomcat and Jetty do
//!   (`/a;jsessionid=1/b` is `/a/b`), which also makes `/..;/` a `..`, the
//!   classic way past a proxy that does not resolve it;
//! - `.` goes, `..` removes the segment before it, never above the root;
//! - a leading `/` and a trailing `/` are kept (`/a/b/..` is `/a/`).
//!
//! A relative path keeps the `..` it cannot resolve (`../../etc` stays), so a
//! traversal in a value stays visible. Not handled: percent escapes (decode
//! first, see [`super::normalize`]), Windows' trimming of trailing dots and
//! spaces (`/admin.`), and `....` (a plain name to every server; the
//! `....//` trick targets filters that strip `../` once, and stays visible).

use std::borrow::Cow;

/// Resolves `.` and `..`, collapses `//`, turns `\` into `/`, drops `;params`.
pub fn canonicalize(input: &str) -> Cow<'_, str> {
    if !needs_work(input) {
        return Cow::Borrowed(input);
    }
    let absolute = input.starts_with(['/', '\\']);
    let mut out = String::with_capacity(input.len() + 1);
    if absolute {
        out.push('/');
    }
    // Segments in `out` that a `..` may remove (the relative `..`s we keep may not).
    let mut poppable = 0usize;
    // Whether the path ends in a separator (last segment empty, `.` or `..`).
    let mut trailing = false;
    for seg in input.split(['/', '\\']) {
        let seg = seg.split(';').next().unwrap_or("");
        match seg {
            "" | "." => trailing = true,
            ".." => {
                trailing = true;
                if poppable > 0 {
                    poppable -= 1;
                    let cut = out.rfind('/').unwrap_or(0);
                    // For an absolute path the root `/` stays.
                    out.truncate(if absolute { cut.max(1) } else { cut });
                } else if !absolute {
                    push_segment(&mut out, "..");
                }
            }
            s => {
                trailing = false;
                poppable += 1;
                push_segment(&mut out, s);
            }
        }
    }
    if trailing && !out.is_empty() && !out.ends_with('/') {
        out.push('/');
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

fn push_segment(out: &mut String, seg: &str) {
    if !out.is_empty() && !out.ends_with('/') {
        out.push('/');
    }
    out.push_str(seg);
}

/// A quick scan for anything [`canonicalize`] would change.
fn needs_work(p: &str) -> bool {
    let b = p.as_bytes();
    if b.iter().any(|&c| c == b'\\' || c == b';') || memchr::memmem::find(b, b"//").is_some() {
        return true;
    }
    p.split('/').any(|s| s == "." || s == "..")
}
