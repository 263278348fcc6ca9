//! Command shapes that are not "separator + program": Windows batch control
//! flow (`for %i in (...) do`, `if a==b cmd`), shell fork bombs and mail
//! protocol lines smuggled after a line break (SMTP, POP3, IMAP).
//!
//! All are linear scans over the value's bytes, ASCII case-insensitive,
//! without allocation.

use std::ops::Range;

/// Where `part`, a subslice of `s`, sits in it.
fn range_in(s: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(s.as_ptr() as usize);
    let start = start.min(s.len());
    start..(start + part.len()).min(s.len())
}

/// From `at` to the end of its line.
fn to_line_end(s: &[u8], at: usize) -> Range<usize> {
    let end = s[at..]
        .iter()
        .position(|&c| matches!(c, b'\n' | b'\r'))
        .map_or(s.len(), |k| at + k);
    at..end
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t')
}

/// Splits at blanks, returning (word, rest) with leading blanks skipped.
fn next_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    let end = s
        .iter()
        .position(|&c| is_blank(c) || c == b'\n' || c == b'\r')
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn trim_start(s: &[u8]) -> &[u8] {
    let k = s.iter().position(|&c| !is_blank(c)).unwrap_or(s.len());
    &s[k..]
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Where a batch statement may start: the value's start and after `&`, `|`, `(`, a line break.
fn statement_starts(s: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(
        s.iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, b'&' | b'|' | b'(' | b'\n' | b'\r'))
            .map(|(i, _)| i + 1),
    )
}

/// `for [/d|/r|/l|/f ["opts"]] %x in (...) do` and `if [/i] [not] a==b cmd`.
/// Returns what it is and the statement's bytes (to the end of its line).
pub(super) fn windows_control(s: &[u8]) -> Option<(&'static str, Range<usize>)> {
    if s.len() < 6 {
        return None;
    }
    for start in statement_starts(s).take(64) {
        let mut rest = trim_start(&s[start..]);
        if rest.first() == Some(&b'@') {
            rest = &rest[1..];
        }
        if rest.len() < 3 {
            continue;
        }
        let (kw, after) = (&rest[..3], &rest[3..]);
        let span = || to_line_end(s, range_in(s, rest).start);
        if eq(kw, "for") && after.first().is_some_and(|&c| is_blank(c)) && batch_for(after) {
            return Some(("for %x in (...) do", span()));
        }
        if eq(&rest[..2], "if")
            && rest.get(2).is_some_and(|&c| is_blank(c) || c == b'/')
            && batch_if(&rest[2..])
        {
            return Some(("if ... command", span()));
        }
    }
    None
}

fn batch_for(mut rest: &[u8]) -> bool {
    for _ in 0..8 {
        let (w, r) = next_word(rest);
        if w.is_empty() {
            return false;
        }
        rest = r;
        if w[0] == b'%' && (2..=3).contains(&w.len()) {
            let (kw, r) = next_word(rest);
            return eq(kw, "in") && trim_start(r).first() == Some(&b'(');
        }
        // Options and their quoted argument strings come before the variable.
        if !(w[0] == b'/'
            || w[0] == b'"'
            || w.contains(&b'=')
            || w.ends_with(b"\"")
            || w.contains(&b':'))
        {
            return false;
        }
    }
    false
}

fn batch_if(rest: &[u8]) -> bool {
    let mut rest = trim_start(rest);
    if rest.len() >= 2 && eq(&rest[..2], "/i") {
        rest = trim_start(&rest[2..]);
    }
    let (w, r) = next_word(rest);
    if eq(w, "not") {
        rest = r;
    }
    let (w, r) = next_word(rest);
    if w.is_empty() {
        return false;
    }
    if ["exist", "errorlevel", "defined", "cmdextversion"]
        .iter()
        .any(|k| eq(w, k))
    {
        let (arg, r) = next_word(r);
        let (cmd, _) = next_word(r);
        return !arg.is_empty() && !cmd.is_empty();
    }
    // `left==right` in one word, or `left OP right` over three.
    let (left, right, after) = if let Some(k) = find(w, b"==") {
        let right = &w[k + 2..];
        let right = right.strip_prefix(b"=").unwrap_or(right);
        if right.is_empty() {
            let (rw, r2) = next_word(r);
            (&w[..k], rw, r2)
        } else {
            (&w[..k], right, r)
        }
    } else {
        let (op, r2) = next_word(r);
        let is_op = op == b"=="
            || ["equ", "neq", "lss", "leq", "gtr", "geq"]
                .iter()
                .any(|k| eq(op, k));
        if !is_op {
            return false;
        }
        let (rw, r3) = next_word(r2);
        (w, rw, r3)
    };
    if left.is_empty() && right.is_empty() {
        return false;
    }
    let (cmd, _) = next_word(after);
    !cmd.is_empty() || left.contains(&b'%') || right.contains(&b'%')
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

/// `name(){ name|name& };name`: a function that spawns itself in the background.
/// Returns the function definition's bytes, name to closing brace.
pub(super) fn fork_bomb(s: &[u8]) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'(', &s[from..]).map(|k| from + k) {
        from = k + 1;
        // `(` `)` `{` with optional blanks.
        let mut j = k + 1;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if s.get(j) != Some(&b')') {
            continue;
        }
        j += 1;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if s.get(j) != Some(&b'{') {
            continue;
        }
        let mut n = k;
        while n > 0 && is_blank(s[n - 1]) {
            n -= 1;
        }
        let name_end = n;
        while n > 0
            && (s[n - 1].is_ascii_alphanumeric() || matches!(s[n - 1], b'_' | b':' | b'.' | b'-'))
        {
            n -= 1;
        }
        let name = &s[n..name_end];
        if name.is_empty() {
            continue;
        }
        let body_end = s[j..]
            .iter()
            .take(160)
            .position(|&c| c == b'}')
            .map(|e| j + e);
        let Some(body_end) = body_end else { continue };
        let body = &s[j + 1..body_end];
        let mut at = 0;
        while let Some(p) = find(&body[at..], name).map(|p| at + p) {
            let mut q = p + name.len();
            if body[q..].starts_with(b"()") {
                q += 2;
            }
            while q < body.len() && is_blank(body[q]) {
                q += 1;
            }
            if matches!(body.get(q), Some(b'|' | b'&')) {
                return Some(n..body_end + 1);
            }
            at = p + 1;
        }
    }
    None
}

/// A mail protocol command on a line of its own after a line break (header
/// and protocol injection into SMTP, POP3 or IMAP sessions).
/// Returns what it is and the line's bytes.
pub(super) fn mail_command(s: &[u8]) -> Option<(&'static str, Range<usize>)> {
    let mut lines = s.split(|&c| c == b'\n').skip(1);
    lines.find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = trim_start(line);
        mail_line(line).map(|what| (what, range_in(s, line)))
    })
}

fn mail_line(line: &[u8]) -> Option<&'static str> {
    let (w1, r1) = next_word(line);
    let (w2, r2) = next_word(r1);
    let (w3, r3) = next_word(r2);
    let words = usize::from(!w1.is_empty())
        + usize::from(!w2.is_empty())
        + usize::from(!w3.is_empty())
        + usize::from(!trim_start(r3).is_empty());
    let upper = |w: &[u8]| w.iter().all(|c| !c.is_ascii_lowercase());
    let num = |w: &[u8]| !w.is_empty() && w.iter().all(u8::is_ascii_digit);
    // SMTP.
    if (eq(w1, "mail") && w2.len() >= 5 && eq(&w2[..5], "from:")
        || eq(w1, "rcpt") && w2.len() >= 3 && eq(&w2[..3], "to:"))
        && line.contains(&b'<')
    {
        return Some("SMTP envelope command");
    }
    if (eq(w1, "ehlo") || eq(w1, "helo")) && words == 2 {
        return Some("SMTP greeting");
    }
    if words == 1
        && ["data", "quit", "rset", "starttls", "stat", "uidl", "capa"]
            .iter()
            .any(|k| eq(w1, k))
    {
        return Some("mail protocol command alone on a line");
    }
    // POP3.
    if (["retr", "dele", "list"].iter().any(|k| eq(w1, k)) && num(w2) && words == 2)
        || (eq(w1, "top") && num(w2) && num(w3) && words == 3)
        || (eq(w1, "apop") && words == 3 && w3.len() == 32 && w3.iter().all(u8::is_ascii_hexdigit))
        || (eq(w1, "auth") && upper(w1) && (2..=3).contains(&words))
    {
        return Some("POP3 command");
    }
    // IMAP: `tag COMMAND args`.
    const IMAP: &[&str] = &[
        "login",
        "authenticate",
        "select",
        "examine",
        "create",
        "delete",
        "rename",
        "subscribe",
        "unsubscribe",
        "list",
        "lsub",
        "status",
        "append",
        "check",
        "close",
        "expunge",
        "search",
        "fetch",
        "store",
        "copy",
        "move",
        "uid",
        "capability",
        "noop",
        "logout",
        "idle",
        "starttls",
        "namespace",
        "getquota",
        "enable",
    ];
    let tag_ok = !w1.is_empty()
        && w1.len() <= 10
        && w1.iter().all(u8::is_ascii_alphanumeric)
        && (w1.iter().any(u8::is_ascii_digit)
            || w3
                .first()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'*' | b'(' | b'"')));
    if tag_ok && IMAP.iter().any(|k| eq(w2, k)) {
        return Some("IMAP command");
    }
    None
}
