//! Mail injection: does this value, placed in a mail header or a mail
//! protocol session (a contact form's `To:`/`Subject:`, a webmail's IMAP
//! mailbox name, an SMTP envelope), start a header or a command of its own
//! after a line break?
//!
//! **What it inspects.** Every argument, argument name, cookie, header, body
//! field and path (the raw request line and query string are skipped: their
//! arguments are inspected one by one) that has a line break (CR, LF, CRLF)
//! in its decoded value (`%0d%0a`, `\r\n`, `%u000a`, `&#10;`, double percent
//! all end there). First [`MAX_SCAN`] bytes.
//!
//! **What it finds.** Each line after a break (leading blanks ignored) is read
//! as:
//! - a mail header (`Bcc:`, `Cc:`, `To:`, `From:`, `Subject:`, `Reply-To:`,
//!   `Content-Type:`, `MIME-Version:`, …) with a value;
//! - an SMTP command (`MAIL FROM:`, `RCPT TO:`, `HELO`/`EHLO` host, `VRFY`,
//!   `EXPN`, `AUTH` mechanism, `BDAT` n, or `DATA`, `QUIT`, `RSET`, `NOOP`,
//!   `STARTTLS` alone);
//! - an IMAP tagged command (`a1 LOGIN user pass`, `A2 SELECT INBOX`,
//!   `x FETCH 1:* (FLAGS)`, `t UID FETCH`, `z CAPABILITY`, `z LOGOUT`, …)
//!   whose arguments fit the command;
//! - a POP3 command with its arguments (`RETR 1`, `TOP 1 2`, `APOP user
//!   digest`).
//!
//! How much a line weighs depends on where the value sits. A value that
//! should be one line (a query argument, a cookie, a header, or a field named
//! like a mail header or an address: `email`, `to`, `subject`, `name`) is an
//! attack with any of them. In multi-line text (a comment, a message) a line
//! that adds recipients or rewrites the message (`Bcc:` with an address,
//! `Content-Type:`), an envelope command, an upper-case command, or two
//! command lines are, and so is any command in text that opens with a line
//! break; a lone `Subject:` or `quit` line is paranoia 2. IMAP prose
//! (`I select it`, `1 select the file`) needs an upper-case command or a
//! client-style tag mixing letters and digits (`a001`).
//! Documents (see [`crate::document`]) make all of it weak evidence.
//!
//! **Cost.** One `memchr2` for CR/LF rejects every one-line value; lines are
//! read in place, nothing is allocated unless there is a hit.
//!
//! **Known false positives.** An e-mail pasted whole into a short field, a
//! travel note written as `From: Paris` / `To: Rome` in a query argument.
//!
//! **Why our own.** The grammar is RFC 5322 header fields, RFC 5321 SMTP and
//! RFC 9051 IMAP commands; the context weighting and the reading are written
//! here so each finding names the header or command and the break before it.

use std::ops::Range;

use super::{Hit, Input};
use crate::request::Part;

super::detector_rules! { Mail;
    HEADER_ONE_LINE = 1750, Critical, 1, "mail header injected after a line break in a one-line field (CRLF then Bcc:, To:, Subject:)";
    HEADER = 1751, Critical, 1, "mail header that adds recipients or rewrites the message after a line break (Bcc:, Cc:, Content-Type:)";
    HEADER_IN_TEXT = 1752, Critical, 2, "mail header line in multi-line text (Subject:, From:)";
    SMTP = 1753, Critical, 1, "SMTP command after a line break (MAIL FROM, RCPT TO, DATA, HELO, QUIT)";
    IMAP = 1754, Critical, 1, "IMAP tagged command after a line break (a1 LOGIN, SELECT, FETCH, LOGOUT)";
    COMMAND_IN_TEXT = 1755, Critical, 2, "mail protocol command on a line of multi-line text";
    POP3 = 1756, Critical, 1, "POP3 command after a line break (RETR, TOP, APOP)";
}

/// Bytes of a value we look at.
pub const MAX_SCAN: usize = 8 * 1024;

/// Headers that add recipients or redirect replies: strong with an address.
const ADDRESS_HEADERS: &[&str] = &[
    "bcc",
    "cc",
    "to",
    "from",
    "sender",
    "reply-to",
    "return-path",
    "errors-to",
    "disposition-notification-to",
    "return-receipt-to",
    "delivered-to",
    "resent-to",
    "resent-cc",
    "resent-bcc",
];
/// Headers that rewrite the message body or structure: strong with any value.
const BODY_HEADERS: &[&str] = &[
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "mime-version",
];
/// Other headers: strong only in a one-line field. Headers named by an
/// everyday word (`Date:`, `Priority:`, `Comments:`) are left out: notes
/// are written with such labels.
const OTHER_HEADERS: &[&str] = &[
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "x-mailer",
    "x-priority",
    "received",
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
    let Some((first_break, _, _)) = next_break(v, 0) else {
        return;
    };
    let one_line = one_line_field(input);
    // Text opening with a line break has no first line of its own: what
    // follows was written to start a line somewhere else.
    let lead_break = v[..first_break].trim_ascii().is_empty();
    let mut commands = 0;
    let mut weak: Option<(u32, Range<usize>, String)> = None;
    for (line, brk) in lines_after(v, first_break) {
        let Some(found) = read_line(v, line.clone()) else {
            continue;
        };
        let (rule, detail) = match found {
            // A raw body with header lines is a MIME document (a multipart
            // body the parser did not take, a message uploaded), not a field.
            Line::Header { .. } if input.location.part == Part::Body => continue,
            Line::Header { name, strong } => {
                // A break written as an escape in a one-line field is often
                // JSON text carried in a query or cookie: only a header that
                // adds recipients or rewrites the body is enough there.
                let escaped = brk.starts_with("an escaped") && !mail_named(input);
                let rule = if one_line && (strong || !escaped) {
                    HEADER_ONE_LINE
                } else if strong {
                    HEADER
                } else {
                    HEADER_IN_TEXT
                };
                (rule, format!("`{name}:` header after {brk}"))
            }
            Line::Command {
                proto,
                what,
                strong,
            } => {
                commands += 1;
                let rule = if one_line || strong || lead_break || commands >= 2 {
                    match proto {
                        "SMTP" => SMTP,
                        "POP3" => POP3,
                        _ => IMAP,
                    }
                } else {
                    COMMAND_IN_TEXT
                };
                (rule, format!("{proto} `{what}` after {brk}"))
            }
        };
        let span = super::snap(input.decoded, line);
        if super::rule(rule).paranoia == 1 {
            Hit::push(out, rule, input, span, Some(detail));
            return;
        }
        weak.get_or_insert((rule, span, detail));
    }
    if let Some((rule, span, detail)) = weak {
        Hit::push(out, rule, input, span, Some(detail));
    }
}

/// Whether the value should be one line: anything but a body field, or a
/// body field named like a header or an address.
fn one_line_field(input: &Input<'_>) -> bool {
    !matches!(input.location.part, Part::BodyArg | Part::Body) || mail_named(input)
}

/// Whether the field is named like a mail header or an address (`email`,
/// `to`, `subject`, `user.name`, `to[]`), wherever it sits.
fn mail_named(input: &Input<'_>) -> bool {
    let Some(name) = input.location.name.as_deref() else {
        return false;
    };
    // The last key of a JSON path or a form array (`user.email`, `to[]`).
    let last = name
        .rsplit(['.', '[', '/'])
        .find(|s| !s.trim_end_matches(']').is_empty())
        .unwrap_or(name)
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let squashed: String = last.chars().filter(char::is_ascii_alphanumeric).collect();
    squashed.contains("mail")
        || squashed.ends_with("name")
        || squashed.contains("subject")
        || squashed.contains("recipient")
        || squashed.contains("sender")
        || squashed.contains("replyto")
        || matches!(
            squashed.as_str(),
            "to" | "from"
                | "cc"
                | "bcc"
                | "rcpt"
                | "title"
                | "login"
                | "user"
                | "mailbox"
                | "folder"
        )
}

/// The next line break at or after `from`: where it starts, how long it
/// is and its name. Breaks written as escapes (`\r\n` as text) count: the
/// decode chain leaves `\n` before a letter alone (it is likelier a Windows
/// path there), but a mailer built from a JSON or C string would not.
fn next_break(v: &[u8], from: usize) -> Option<(usize, usize, &'static str)> {
    let mut at = from;
    while let Some(k) = memchr::memchr3(b'\n', b'\r', b'\\', &v[at.min(v.len())..]) {
        let i = at + k;
        let next = v.get(i + 1).copied();
        match (v[i], next) {
            (b'\r', Some(b'\n')) => return Some((i, 2, "CRLF")),
            (b'\r', _) => return Some((i, 1, "CR")),
            (b'\n', _) => return Some((i, 1, "LF")),
            (_, Some(b'r')) if v.get(i + 2..i + 4) == Some(b"\\n") => {
                return Some((i, 4, "an escaped CRLF (\\r\\n)"));
            }
            (_, Some(b'n')) => return Some((i, 2, "an escaped LF (\\n)")),
            (_, Some(b'r')) => return Some((i, 2, "an escaped CR (\\r)")),
            _ => at = i + 1,
        }
    }
    None
}

/// The lines after each break from `first` on, with the break's name.
fn lines_after(v: &[u8], first: usize) -> impl Iterator<Item = (Range<usize>, &'static str)> + '_ {
    let mut at = Some(first);
    std::iter::from_fn(move || {
        let (i, n, brk) = next_break(v, at?)?;
        let start = i + n;
        let end = next_break(v, start).map(|(k, _, _)| k);
        at = end;
        Some((start..end.unwrap_or(v.len()), brk))
    })
}

enum Line {
    Header {
        name: String,
        strong: bool,
    },
    Command {
        proto: &'static str,
        what: String,
        strong: bool,
    },
}

/// What the line `r` of `v` is, if it is a header or a command.
fn read_line(v: &[u8], r: Range<usize>) -> Option<Line> {
    let line = v[r].trim_ascii();
    if line.is_empty() {
        return None;
    }
    header(line)
        .or_else(|| smtp(line))
        .or_else(|| pop3(line))
        .or_else(|| imap(line))
}

fn header(line: &[u8]) -> Option<Line> {
    let end = line
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-'))?;
    let name = &line[..end];
    let rest = line[end..].trim_ascii_start().strip_prefix(b":")?;
    let value = rest.trim_ascii();
    if name.is_empty() || value.is_empty() {
        return None;
    }
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    let strong = if ADDRESS_HEADERS.contains(&lower.as_str()) {
        value.contains(&b'@')
    } else if BODY_HEADERS.contains(&lower.as_str()) {
        true
    } else if OTHER_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-") {
        false
    } else {
        return None;
    };
    Some(Line::Header {
        name: String::from_utf8_lossy(name).into_owned(),
        strong,
    })
}

/// Blank-separated words of a line (a quoted string is one word).
fn words(line: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while line.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let start = i;
        if line[i] == b'"' {
            i += 1 + line[i + 1..]
                .iter()
                .position(|&c| c == b'"')
                .map_or(line.len() - i - 1, |k| k + 1);
        } else {
            while line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                i += 1;
            }
        }
        out.push(&line[start..i.min(line.len())]);
    }
    out
}

fn eq(w: &[u8], k: &str) -> bool {
    w.eq_ignore_ascii_case(k.as_bytes())
}

fn upper(w: &[u8]) -> bool {
    !w.iter().any(u8::is_ascii_lowercase)
}

fn smtp(line: &[u8]) -> Option<Line> {
    let w = words(line);
    let verb = *w.first()?;
    let shown = |n: usize| {
        let s: Vec<String> = w[..n.min(w.len())]
            .iter()
            .map(|x| String::from_utf8_lossy(x).to_ascii_uppercase())
            .collect();
        s.join(" ")
    };
    // `MAIL FROM:<a@b>`, `RCPT TO: <x>`, `MAIL FROM :<>`.
    let envelope = |kw: &str| {
        let rest = line[verb.len()..].trim_ascii_start();
        rest.len() > kw.len()
            && rest[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
            && rest[kw.len()..].trim_ascii_start().starts_with(b":")
    };
    if (eq(verb, "mail") && envelope("from")) || (eq(verb, "rcpt") && envelope("to")) {
        let what = format!(
            "{} {}",
            shown(1),
            if eq(verb, "mail") { "FROM" } else { "TO" }
        );
        return Some(Line::Command {
            proto: "SMTP",
            what,
            strong: true,
        });
    }
    let hostish = |x: &[u8]| {
        x.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'[' | b']' | b':'))
    };
    let fits = match (w.len(), verb.to_ascii_lowercase().as_slice()) {
        (2, b"helo" | b"ehlo") => hostish(w[1]),
        (2, b"vrfy" | b"expn") => true,
        // `AUTH PLAIN`, `AUTH user base64-secret`.
        (2 | 3, b"auth") => {
            w[1].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && (upper(w[1]) || w.get(2).is_some_and(|x| base64ish(x)))
        }
        (1 | 2, b"help") => true,
        (2 | 3, b"bdat") => w[1].iter().all(u8::is_ascii_digit),
        (1, b"data" | b"quit" | b"rset" | b"noop" | b"starttls" | b"turn") => true,
        _ => false,
    };
    fits.then(|| Line::Command {
        proto: "SMTP",
        what: shown(2),
        strong: upper(verb),
    })
}

fn base64ish(w: &[u8]) -> bool {
    w.len() >= 8
        && w.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
}

fn pop3(line: &[u8]) -> Option<Line> {
    let w = words(line);
    let verb = *w.first()?;
    let num = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    let fits = match (w.len(), verb.to_ascii_lowercase().as_slice()) {
        (2, b"retr" | b"dele" | b"list" | b"uidl") => num(w[1]),
        (3, b"top") => num(w[1]) && num(w[2]),
        (3, b"apop") => w[2].len() == 32 && w[2].iter().all(u8::is_ascii_hexdigit),
        _ => false,
    };
    fits.then(|| Line::Command {
        proto: "POP3",
        what: String::from_utf8_lossy(&w[..w.len().min(2)].join(&b' ')).to_ascii_uppercase(),
        strong: upper(verb),
    })
}

/// IMAP commands and how many arguments each takes (min, max).
const IMAP_COMMANDS: &[(&str, usize, usize)] = &[
    ("login", 2, 2),
    ("authenticate", 1, 2),
    ("select", 1, 2),
    ("examine", 1, 2),
    ("create", 1, 1),
    ("delete", 1, 1),
    ("rename", 2, 2),
    ("subscribe", 1, 1),
    ("unsubscribe", 1, 1),
    ("list", 2, 2),
    ("lsub", 2, 2),
    ("status", 2, 8),
    ("append", 2, 8),
    ("search", 1, 16),
    ("fetch", 2, 16),
    ("store", 3, 16),
    ("copy", 2, 2),
    ("move", 2, 2),
    ("uid", 2, 16),
    ("capability", 0, 0),
    ("logout", 0, 0),
    ("noop", 0, 0),
    ("check", 0, 0),
    ("close", 0, 0),
    ("unselect", 0, 0),
    ("expunge", 0, 0),
    ("idle", 0, 0),
    ("namespace", 0, 0),
    ("starttls", 0, 0),
    ("getquotaroot", 1, 1),
    ("getquota", 1, 1),
    ("enable", 1, 4),
    ("id", 1, 16),
];

fn imap(line: &[u8]) -> Option<Line> {
    let w = words(line);
    let (&tag, &cmd) = (w.first()?, w.get(1)?);
    let tag_ok = tag.len() <= 16
        && tag
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    let &(name, min, max) = IMAP_COMMANDS.iter().find(|(n, _, _)| eq(cmd, n))?;
    let args = &w[2..];
    if !tag_ok || args.len() < min || args.len() > max {
        return None;
    }
    let seq = |x: &[u8]| {
        !x.is_empty()
            && x.iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'*' | b':' | b','))
    };
    let args_ok = match name {
        "fetch" | "store" | "copy" | "move" => seq(args[0]),
        "uid" => ["fetch", "store", "copy", "move", "search", "expunge"]
            .iter()
            .any(|k| eq(args[0], k)),
        "status" => args[1].starts_with(b"("),
        _ => true,
    };
    // Prose (`I select it`, `1 select the file`) has a lower-case verb and
    // a tag of letters or of digits; client tags mix them (`a001`, `A1`).
    let digit = tag.iter().any(u8::is_ascii_digit);
    let mixed = digit && tag.iter().any(u8::is_ascii_alphabetic);
    let strong = mixed || (upper(cmd) && (digit || tag.len() <= 4));
    // `STORE 2 +FLAGS (\Deleted)` says IMAP whatever its case.
    let flags = name == "store" && {
        let f = args[1]
            .strip_prefix(b"+")
            .or_else(|| args[1].strip_prefix(b"-"));
        let f = f.unwrap_or(args[1]);
        f.len() >= 5 && f[..5].eq_ignore_ascii_case(b"flags")
    };
    let plausible = upper(cmd) || mixed || flags;
    (args_ok && plausible).then(|| Line::Command {
        proto: "IMAP",
        what: format!(
            "{} {}",
            String::from_utf8_lossy(tag),
            name.to_ascii_uppercase()
        ),
        strong,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{hits, rule_ids};

    fn ids(part: Part, name: &str, v: &str) -> Vec<u32> {
        rule_ids(check, part, Some(name), v)
    }

    #[test]
    fn headers_after_a_break_are_found() {
        assert_eq!(
            ids(Part::QueryArg, "q", "a@b.c\r\nBcc: x@evil.test"),
            vec![HEADER_ONE_LINE]
        );
        assert_eq!(
            ids(Part::BodyArg, "email", "a@b.c\nSubject: hi"),
            vec![HEADER_ONE_LINE]
        );
        assert_eq!(
            ids(Part::BodyArg, "comment", "hello\nBcc: x@evil.test"),
            vec![HEADER]
        );
        assert_eq!(
            ids(Part::BodyArg, "comment", "hello\nSubject: hi"),
            vec![HEADER_IN_TEXT]
        );
        let h = hits(check, Part::BodyArg, Some("to"), "a@b.c\r\nCc: x@y.z");
        assert_eq!(h[0].detail.as_deref(), Some("`Cc:` header after CRLF"));
    }

    #[test]
    fn protocol_commands_after_a_break_are_found() {
        assert_eq!(
            ids(Part::QueryArg, "mbox", "INBOX\r\na1 LOGIN user pass"),
            vec![IMAP]
        );
        assert_eq!(ids(Part::Cookie, "c", "x\r\nV100 CAPABILITY"), vec![IMAP]);
        assert_eq!(
            ids(Part::BodyArg, "msg", "x\nMAIL FROM:<a@b.c>"),
            vec![SMTP]
        );
        assert_eq!(ids(Part::BodyArg, "msg", "x\nquit"), vec![COMMAND_IN_TEXT]);
        assert_eq!(
            ids(Part::BodyArg, "textarea", "\r\na002 copy 2:4 MEETING"),
            vec![IMAP]
        );
        assert_eq!(ids(Part::QueryArg, "q", "\r\nTOP 1 2"), vec![POP3]);
        assert_eq!(
            ids(Part::BodyArg, "text", "\r\nd store 2 +FLAGS (\\Deleted)"),
            vec![IMAP]
        );
        assert_eq!(ids(Part::QueryArg, "q", "\r\nHELP Postmaster"), vec![SMTP]);
        assert_eq!(ids(Part::BodyArg, "msg", "x\nQUIT"), vec![SMTP]);
        assert_eq!(
            ids(Part::BodyArg, "email", "x\\r\\nBcc: a@b.c"),
            vec![HEADER_ONE_LINE]
        );
        assert!(ids(Part::QueryArg, "f", "C:\\new\\report.txt").is_empty());
        assert_eq!(
            ids(Part::QueryArg, "q", "x\\nSubject: hi"),
            vec![HEADER_IN_TEXT]
        );
        let h = hits(check, Part::QueryArg, Some("q"), "x\nrcpt to: <v@e.t>");
        assert_eq!(h[0].detail.as_deref(), Some("SMTP `RCPT TO` after LF"));
    }

    #[test]
    fn multi_line_text_passes() {
        for v in [
            "Dear team,\nplease call me back.\nThanks, Ann",
            "Name: John\nPhone: 555 0100",
            "1 apple\n2 pears",
            "I select the best ones\nwe list them all",
            "Line one\r\n\r\nLine two: details",
            "See you at noon\nquit smoking",
            "Data\nAnalysis",
            "Steps:\n1 select the file\n2 delete it",
        ] {
            assert!(ids(Part::BodyArg, "comment", v).is_empty(), "{v}");
        }
    }
}
