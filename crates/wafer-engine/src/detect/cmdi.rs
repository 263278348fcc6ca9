//! OS command injection: does this value, pasted into a shell command line,
//! start a command of its own?
//!
//! **What it inspects.** Every argument, argument name, cookie, header, body
//! field and path (the raw request line and query string are skipped: their
//! arguments are inspected one by one). The decoded value, first
//! [`MAX_SCAN`] bytes.
//!
//! **What it finds.** The value is tokenized by a lenient POSIX-shell lexer
//! ([`lex`]) three ways — as a bare argument, as if injected inside single
//! quotes and inside double quotes (so `';id;'` and `";id;"` break out) —
//! which undoes the tricks that hide a command name: quote and backslash
//! splitting (`c'a't`, `c"a"t`, `c\at`, `w^h^o^a^m^i`), empty expansions
//! (`ca$@t`, `c$u`at, ``pi``ng``, `pi$()ng`), `$'\x63at'`, `${IFS}`/`$IFS$9`
//! as blanks, brace expansion (`{cat,/etc/passwd}`), variables assigned in
//! the same value (`a=/etc;b=cat;$b $a/passwd`), command prefixes (`time`,
//! `sudo`, `nohup`, `strace`, `flock -u /`, `cpulimit -l 100 -f`) and
//! wildcard paths (`/???/c?t`, `/etc/pas[s]wd`). Then each command position
//! (value start, after `;` `|` `||` `&` `&&` a newline, inside `$(...)`,
//! backticks, `<(...)`, `(...)`) is judged by the command named there
//! ([`names`]: three tiers, from "only ever a program" like `whoami` to
//! "also an English word" like `cat`) and by its arguments (options, paths,
//! sensitive files, redirections, addresses). Separately ([`shapes`]):
//! Windows batch `for %x in (...) do` / `if a==b cmd`, fork bombs, reverse
//! shell device paths (`/dev/tcp/`), SMTP/POP3/IMAP commands after a line
//! break.
//!
//! **Cost.** A byte scan rejects values with no shell metacharacter whose
//! first word is not a known command (most values) without tokenizing. The
//! lexer is linear, allocation-free (fixed word buffer and variable table),
//! at most three passes over at most [`MAX_SCAN`] bytes. Allocation happens
//! only to report a hit.
//!
//! **Known false positives.** Text that really is shell (a tutorial pasted in
//! a comment field: `ls -la /var/www`), prose that chains an English command
//! word with a path or an option after a separator (`notes; find /docs`),
//! Windows batch snippets. Prose lists (`cats & dogs`, `salt; pepper`,
//! `Name & ID`), URLs and CSS stay quiet: an ordinary word after a
//! separator needs shell-style arguments, a capitalised one is read as
//! prose, and a spaced `&`/`;` weakens a lone recon word to paranoia 2.
//!
//! **Why our own.** Ideas from libinjection (classify a value by tokenizing
//! it the way the target interpreter would, not by matching text) and from
//! the OWASP CRS command-injection rule descriptions (which evasions exist:
//! quote splitting, `$@`, `${IFS}`, globs, prefixes, the mail protocol
//! injections). No code, pattern or word list was copied: the lexer, the
//! command tables and the scoring are written here, so each verdict can say
//! which command at which position and why.

mod lex;
mod names;
mod shapes;
#[cfg(test)]
mod tests;

use std::ops::Range;

use super::{Hit, Input};
use crate::request::Part;
use lex::{Lexer, Quote, Sep, Tok, Word};
use names::Tier;

super::detector_rules! { Rce;
    CHAINED = 1300, Critical, 1, "shell separator or substitution starts a known command";
    OBFUSCATED = 1301, Critical, 1, "command name hidden by shell quoting, escapes or empty expansions";
    COMMAND_LINE = 1302, Critical, 1, "value is a shell command line (known command with shell-style arguments)";
    WEAK_COMMAND = 1303, Critical, 2, "value names a known command with little or no shell syntax";
    REVERSE_SHELL = 1304, Critical, 1, "reverse shell device path (/dev/tcp/, /dev/udp/)";
    WILDCARD_PATH = 1305, Critical, 1, "wildcard path aimed at a system binary or file (/???/c?t, /etc/pas[s]wd)";
    WINDOWS_BATCH = 1306, Critical, 1, "Windows batch control flow (for %x in (...) do, if a==b command)";
    FORK_BOMB = 1307, Critical, 1, "shell function that spawns itself (fork bomb)";
    MAIL_COMMAND = 1308, Critical, 2, "mail protocol command after a line break (SMTP/POP3/IMAP injection)";
    EXPANSION = 1309, Critical, 1, "shell expansion used for evasion (${IFS}, ${x:0:1}, ${x#y}, $[1+1])";
}

/// Bytes of a value we tokenize.
pub const MAX_SCAN: usize = 8 * 1024;

// Argument evidence.
const E_OPT: u16 = 1;
const E_PATH: u16 = 1 << 1;
const E_SENSITIVE: u16 = 1 << 2;
const E_URL: u16 = 1 << 3;
const E_IP: u16 = 1 << 4;
const E_REDIRECT: u16 = 1 << 5;
const E_GLOB: u16 = 1 << 6;
const E_VAR: u16 = 1 << 7;
const E_NUM: u16 = 1 << 8;
/// `name=value` as an argument (`alias ls=id`).
const E_ASSIGN: u16 = 1 << 9;
/// A quoted argument that is itself a command line (`trap 'rm -rf x' EXIT`).
const E_NESTED: u16 = 1 << 10;
/// Evidence that makes any known command a command line.
const E_STRONG: u16 = E_OPT | E_PATH | E_SENSITIVE | E_REDIRECT | E_GLOB | E_NESTED;

/// Checks one value.
pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    let part = input.location.part;
    if matches!(part, Part::RequestLine | Part::QueryString | Part::Method) {
        return;
    }
    if structured_header(input) {
        return;
    }
    let v = input.decoded.as_bytes();
    let v = &v[..v.len().min(MAX_SCAN)];
    if v.len() < 2 && !v.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        return;
    }
    let mut found = Found::default();
    let meta = v.iter().any(|&c| {
        matches!(
            c,
            b';' | b'|'
                | b'&'
                | b'\n'
                | b'\r'
                | b'$'
                | b'`'
                | b'('
                | b'{'
                | b'<'
                | b'>'
                | b'\''
                | b'"'
                | b'\\'
                | b'^'
                | b'*'
                | b'?'
                | b'['
        )
    });
    if !meta && !first_word_is_command(v) {
        return;
    }
    let ctx = Ctx {
        part,
        header: if part == Part::Header {
            input.location.name.as_deref()
        } else {
            None
        },
    };
    analyze(v, Quote::None, &ctx, &mut found);
    // Breaking out of quotes only matters if a separator can follow.
    let breakout = v
        .iter()
        .any(|&c| matches!(c, b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' | b'$'));
    if breakout && v.contains(&b'\'') {
        analyze(v, Quote::Single, &ctx, &mut found);
    }
    if breakout && v.contains(&b'"') {
        analyze(v, Quote::Double, &ctx, &mut found);
    }
    if memchr::memchr2(b'f', b'F', v).is_some()
        && let Some((what, span)) = shapes::windows_control(v)
    {
        found.add(WINDOWS_BATCH, span, || what.to_owned());
    }
    if meta {
        if let Some(k) =
            memchr::memmem::find(v, b"/dev/tcp/").or_else(|| memchr::memmem::find(v, b"/dev/udp/"))
        {
            // The device path up to the next blank, quote or shell operator.
            let end = v[k..]
                .iter()
                .take(64)
                .position(|&c| {
                    c.is_ascii_whitespace()
                        || matches!(
                            c,
                            b'\'' | b'"' | b';' | b'|' | b'&' | b'<' | b'>' | b')' | b'`'
                        )
                })
                .map_or((k + 64).min(v.len()), |e| k + e);
            found.add(REVERSE_SHELL, k..end, || {
                format!(
                    "`{}`",
                    String::from_utf8_lossy(&v[k..(k + 24).min(v.len())])
                )
            });
        }
        if v.contains(&b'{')
            && let Some(span) = shapes::fork_bomb(v)
        {
            found.add(FORK_BOMB, span, || "name(){ name|name& }".to_owned());
        }
        if v.contains(&b'\n')
            && matches!(
                part,
                Part::QueryArg | Part::BodyArg | Part::Cookie | Part::Header | Part::Body
            )
            && let Some((what, span)) = shapes::mail_command(v)
        {
            found.add(MAIL_COMMAND, span, || what.to_owned());
        }
    }
    for (rule, span, detail) in found.hits {
        // Lexer offsets are bytes; the scan may also have been cut mid-character.
        let mut span = super::snap(input.decoded, span);
        if span.is_empty() {
            span = 0..input.decoded.len();
        }
        Hit::push(out, rule, input, span, Some(detail));
    }
}

/// Browser-generated structured headers (`Accept*`, `Sec-*` client hints and
/// fetch metadata): their grammar leaves no room for a command, a path or a
/// URL, and they are in every request. Shared by the traversal and SSRF
/// detectors.
pub(crate) fn structured_header(input: &Input<'_>) -> bool {
    input.location.part == Part::Header
        && input.location.name.as_deref().is_some_and(|n| {
            n.starts_with("accept")
                || n.starts_with("sec-")
                || matches!(
                    n,
                    "cache-control"
                        | "pragma"
                        | "upgrade-insecure-requests"
                        | "dnt"
                        | "priority"
                        | "te"
                        | "if-none-match"
                        | "if-modified-since"
                        | "content-type"
                        | "keep-alive"
                )
        })
}

/// Cheap test for the no-metacharacter path: is the first word a known command?
fn first_word_is_command(v: &[u8]) -> bool {
    let start = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let w = &v[start..];
    let end = w
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(w.len());
    let w = &w[..end];
    if w.is_empty() || w.len() > 32 {
        return false;
    }
    let mut buf = [0u8; 32];
    let name = normalize(w, &mut buf);
    names::tier(name).is_some()
        || names::is_prefix(name)
        || name == b"if"
        || name == b"for"
        || name.starts_with(b"if/")
}

/// Hits of one value, one per rule: the rule, the bytes that made it, the detail.
#[derive(Default)]
struct Found {
    hits: Vec<(u32, Range<usize>, String)>,
}

impl Found {
    fn add(&mut self, rule: u32, span: Range<usize>, detail: impl FnOnce() -> String) {
        if !self.hits.iter().any(|(r, ..)| *r == rule) {
            self.hits.push((rule, span, detail()));
        }
    }
}

struct Ctx<'a> {
    part: Part,
    #[allow(dead_code)]
    header: Option<&'a str>,
}

/// Where a command starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    /// The start of the value (the value is the whole command line).
    Start,
    /// The rest of a quoted argument, in a quote-context pass: never a command.
    QuoteTail,
    /// After a separator.
    Chained { sep: Sep, spaced: bool },
    /// Inside `$(...)`, `<(...)` or backticks.
    Subst { backtick: bool },
}

/// One command being read.
struct Cmd {
    name: [u8; 32],
    nlen: usize,
    tier: Tier,
    pos: Pos,
    /// Strong prefix (`sudo`, `strace`) or weak (`time`, `env`).
    prefix: Option<bool>,
    obf: bool,
    capitalised: bool,
    /// `MySQL`, `Python`: a proper noun in prose, never how a command is typed.
    mixed_case: bool,
    /// Named by its binary directory (`/bin/sh`, `bin/ansible`).
    pathed: bool,
    /// Ended by a separator rather than the end of the value.
    separated: bool,
    brace: bool,
    glob_name: bool,
    ev: u16,
    nargs: u8,
    /// What made `ev` (for the detail), first one.
    why: Option<&'static str>,
    /// Bytes of the value from the separator (or prefix, or the name) to
    /// the end of the last argument.
    span: Range<usize>,
}

impl Cmd {
    fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..self.nlen]).unwrap_or("?")
    }

    fn add_evidence(&mut self, ev: u16) {
        if ev != 0 && self.why.is_none() {
            self.why = Some(evidence_name(ev));
        }
        self.ev |= ev;
    }
}

fn evidence_name(ev: u16) -> &'static str {
    if ev & E_SENSITIVE != 0 {
        "a sensitive path"
    } else if ev & E_REDIRECT != 0 {
        "a redirection"
    } else if ev & E_GLOB != 0 {
        "a wildcard path"
    } else if ev & E_OPT != 0 {
        "an option"
    } else if ev & E_PATH != 0 {
        "a path"
    } else if ev & E_URL != 0 {
        "a URL"
    } else if ev & E_IP != 0 {
        "an address"
    } else if ev & E_NUM != 0 {
        "a number"
    } else if ev & E_NESTED != 0 {
        "a command line as its argument"
    } else if ev & E_ASSIGN != 0 {
        "an assignment"
    } else {
        "a shell variable"
    }
}

/// Lowercases, strips a directory (`/usr/bin/`, `c:\windows\system32\`) and `.exe`.
fn normalize<'b>(w: &[u8], buf: &'b mut [u8; 32]) -> &'b [u8] {
    let mut w = w;
    let pathy = w.starts_with(b"/")
        || w.starts_with(b"./")
        || w.starts_with(b"bin/")
        || w.starts_with(b"sbin/")
        || (w.len() > 3 && w[1] == b':' && matches!(w[2], b'\\' | b'/'));
    if pathy && let Some(k) = w.iter().rposition(|&c| c == b'/' || c == b'\\') {
        w = &w[k + 1..];
    }
    let n = w.len().min(32);
    for (d, s) in buf.iter_mut().zip(&w[..n]) {
        *d = s.to_ascii_lowercase();
    }
    let mut name = &buf[..n];
    if let Some(stem) = name
        .strip_suffix(b".exe")
        .or_else(|| name.strip_suffix(b".com"))
    {
        name = stem;
    }
    name
}

/// What an argument word says about the command it follows.
fn classify(w: &[u8], flags: u16) -> u16 {
    let mut ev = 0;
    if w.is_empty() {
        return if flags & lex::F_NAMED != 0 { E_VAR } else { 0 };
    }
    if flags & (lex::F_VAR | lex::F_NAMED | lex::F_PARAM_OP) != 0 {
        ev |= E_VAR;
    }
    let c0 = w[0];
    let c1 = w.get(1).copied().unwrap_or(0);
    if c0 == b'-' && (c1.is_ascii_alphanumeric() || c1 == b'-') {
        ev |= E_OPT;
    }
    if c0 == b'/' {
        if w.len() <= 3 && w[1..].iter().all(u8::is_ascii_alphabetic) && w.len() >= 2 {
            // `/c`, `/all`: a Windows switch.
            ev |= E_OPT;
        } else if c1 != b'/' && c1 != 0 && c1 != b' ' {
            ev |= E_PATH;
        }
    }
    if c0 == b'~'
        || w.starts_with(b"./")
        || w.starts_with(b"../")
        || w.starts_with(b"..\\")
        || w.starts_with(b"\\\\")
        || (w.len() >= 3 && c0.is_ascii_alphabetic() && c1 == b':' && matches!(w[2], b'\\' | b'/'))
    {
        ev |= E_PATH;
    }
    if flags & lex::F_GLOB != 0 && names::glob_target(w).is_some() {
        ev |= E_GLOB;
    }
    if sensitive(w) {
        ev |= E_SENSITIVE;
    }
    if memchr::memmem::find(w, b"://").is_some() {
        ev |= E_URL;
    }
    if looks_ipv4(w) {
        ev |= E_IP;
    }
    if w.iter().all(u8::is_ascii_digit) {
        ev |= E_NUM;
    }
    if w.contains(&b'=') {
        ev |= E_ASSIGN;
    }
    if flags & lex::F_QUOTED != 0
        && let Some(k) = w.iter().position(|&c| c == b' ')
    {
        let mut buf = [0u8; 32];
        let inner = normalize(&w[..k], &mut buf);
        let rest = &w[k + 1..];
        match names::tier(inner) {
            Some(Tier::Shell) => ev |= E_NESTED,
            Some(_) if rest.starts_with(b"-") || rest.starts_with(b"/") => ev |= E_NESTED,
            _ => {}
        }
    }
    ev
}

/// Paths and names a command line aims at (case-insensitive).
static SENSITIVE: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build([
            "/etc/",
            "passwd",
            "shadow",
            "/proc/",
            "win.ini",
            "system32",
            "boot.ini",
            "id_rsa",
            ".ssh",
            "/var/log",
            "/root",
            "_history",
            "/dev/",
            "/tmp/",
            "windows\\",
            "/bin/",
            ".htpasswd",
            "/var/www",
            "authorized_keys",
        ])
        .expect("sensitive patterns build")
});

fn sensitive(w: &[u8]) -> bool {
    if w.len() < 4 || memchr::memmem::find(w, b"://").is_some() {
        return false;
    }
    w.eq_ignore_ascii_case(b"/etc") || SENSITIVE.is_match(w)
}

fn looks_ipv4(w: &[u8]) -> bool {
    let mut parts = 0;
    let mut digits = 0;
    for &c in w {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' if digits > 0 && digits <= 3 => {
                parts += 1;
                digits = 0;
            }
            b':' | b'/' if parts == 3 && digits > 0 => return true,
            _ => return false,
        }
    }
    parts == 3 && (1..=3).contains(&digits)
}

/// One pass of the lexer over the value, starting in `quote`.
fn analyze(v: &[u8], quote: Quote, ctx: &Ctx<'_>, found: &mut Found) {
    let mut lx = Lexer::new(v, quote);
    let mut pos = if quote == Quote::None {
        Pos::Start
    } else {
        Pos::QuoteTail
    };
    let mut at_cmd = true;
    let mut cur: Option<Cmd> = None;
    let mut prefix: Option<bool> = None;
    let mut prefix_skip = 0u8;
    let mut redirect_target = false;
    let mut in_backtick = false;
    // Where the statement being read starts: its separator, else its first word.
    let mut stmt_start: Option<usize> = None;
    let mut tokens = 0usize;
    loop {
        tokens += 1;
        if tokens > 4096 {
            break;
        }
        let before = lx.pos();
        match lx.next_token() {
            Tok::End => {
                finish(cur.take(), ctx, found);
                break;
            }
            Tok::Word => {
                let w = &lx.word;
                let word_span = w.start..lx.pos();
                if let Some(c) = cur.as_mut() {
                    c.span.end = lx.pos();
                }
                if w.has(lex::F_PARAM_OP | lex::F_ARITH | lex::F_IFS) && pos != Pos::QuoteTail {
                    expansion_hit(w, word_span.clone(), found);
                }
                if w.has(lex::F_GLOB)
                    && let Some(t) = names::glob_target(w.bytes())
                {
                    let shown = String::from_utf8_lossy(w.bytes()).into_owned();
                    found.add(WILDCARD_PATH, word_span.clone(), || {
                        format!("`{shown}` matches {}", String::from_utf8_lossy(t))
                    });
                }
                if w.is_empty() {
                    if let Some(c) = cur.as_mut()
                        && w.has(lex::F_NAMED)
                    {
                        c.add_evidence(E_VAR);
                    }
                    continue;
                }
                if redirect_target {
                    redirect_target = false;
                    if let Some(c) = cur.as_mut() {
                        let t = w.bytes();
                        let ev = classify(t, w.flags);
                        if ev & (E_PATH | E_SENSITIVE) != 0
                            || (t.contains(&b'.')
                                && t.iter().any(u8::is_ascii_alphabetic)
                                && !t.contains(&b' ')
                                && t.len() > 2)
                            || t.starts_with(b"$")
                        {
                            c.add_evidence(E_REDIRECT | (ev & (E_PATH | E_SENSITIVE)));
                        }
                    }
                    continue;
                }
                if !at_cmd {
                    if let Some(c) = cur.as_mut() {
                        let ev = classify(w.bytes(), w.flags);
                        c.add_evidence(ev);
                        c.nargs = c.nargs.saturating_add(1);
                    }
                    continue;
                }
                // Command position.
                if w.has(lex::F_ASSIGN) && !w.has(lex::F_BRACE) {
                    let (name, value) = w.bytes().split_at(w.assign_at);
                    let value = value.get(1..).unwrap_or(&[]);
                    let (name, value) = (name.to_owned_small(), value.to_owned_small());
                    lx.assign(name.as_slice(), value.as_slice());
                    continue;
                }
                if prefix.is_some() && prefix_skip < 4 && skippable_after_prefix(w.bytes()) {
                    prefix_skip += 1;
                    continue;
                }
                let mut buf = [0u8; 32];
                let norm = normalize(w.bytes(), &mut buf);
                if names::is_prefix(norm) && !w.has(lex::F_GLOB) {
                    let strong = names::is_strong_prefix(norm);
                    prefix = Some(prefix.unwrap_or(false) || strong);
                    prefix_skip = 0;
                    stmt_start.get_or_insert(word_span.start);
                    continue;
                }
                let start = stmt_start.take().unwrap_or(word_span.start);
                cur = start_command(w, norm, pos, prefix).map(|mut c| {
                    c.span = start..word_span.end;
                    c
                });
                at_cmd = false;
            }
            Tok::Redirect => {
                // `>&`, `2>&1`, `<<<`: no prose has these. A plain `>` or `<`
                // counts once its target looks like a file.
                let (a, b) = lx.redirect;
                let op = &v[a..b];
                if let Some(c) = cur.as_mut() {
                    c.span.end = lx.pos();
                    if op.contains(&b'&') || op.starts_with(b"<<<") {
                        c.add_evidence(E_REDIRECT);
                    }
                }
                redirect_target = true;
            }
            Tok::Sep(sep) => {
                if let Some(c) = cur.as_mut() {
                    c.separated = true;
                }
                finish(cur.take(), ctx, found);
                // The separator itself (after any blanks) opens the next statement.
                let mut at = before;
                while at < v.len() && matches!(v[at], b' ' | b'\t') {
                    at += 1;
                }
                // A line break is only white space to show.
                stmt_start = (sep != Sep::Newline).then_some(at.min(lx.pos()));
                prefix = None;
                redirect_target = false;
                match sep {
                    Sep::ParenClose | Sep::BraceClose => {
                        at_cmd = false;
                    }
                    Sep::Backtick => {
                        in_backtick = !in_backtick;
                        at_cmd = in_backtick;
                        pos = Pos::Subst { backtick: true };
                    }
                    Sep::SubstOpen => {
                        at_cmd = true;
                        pos = Pos::Subst { backtick: false };
                    }
                    _ => {
                        at_cmd = true;
                        let after = lx.pos();
                        let spaced = v.get(after).is_some_and(|c| *c == b' ')
                            && before < v.len()
                            && v[before..after].first() == Some(&b' ');
                        pos = if sep == Sep::ParenOpen || sep == Sep::BraceOpen {
                            // A subshell or group keeps the position it opens in.
                            match pos {
                                Pos::QuoteTail | Pos::Start => Pos::Start,
                                p => p,
                            }
                        } else {
                            Pos::Chained { sep, spaced }
                        };
                    }
                }
            }
        }
    }
}

/// Small owned copy without heap allocation.
trait SmallCopy {
    fn to_owned_small(&self) -> Small;
}

struct Small {
    buf: [u8; 48],
    len: usize,
}

impl Small {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl SmallCopy for [u8] {
    fn to_owned_small(&self) -> Small {
        let mut s = Small {
            buf: [0; 48],
            len: self.len().min(48),
        };
        s.buf[..s.len].copy_from_slice(&self[..s.len]);
        s
    }
}

/// Options, numbers and lock-file paths between a prefix and its command
/// (`timeout 5`, `flock -u /`, `cpulimit -l 100 -f`, `nice -n 19`).
fn skippable_after_prefix(w: &[u8]) -> bool {
    w.starts_with(b"-") || w.iter().all(u8::is_ascii_digit) || w == b"/" || w.contains(&b'=')
}

fn expansion_hit(w: &Word, span: Range<usize>, found: &mut Found) {
    let what = if w.has(lex::F_IFS) {
        "${IFS} as a blank"
    } else if w.has(lex::F_ARITH) {
        "arithmetic expansion"
    } else {
        "parameter operator"
    };
    found.add(EXPANSION, span, || what.to_owned());
}

fn start_command(w: &Word, norm: &[u8], pos: Pos, prefix: Option<bool>) -> Option<Cmd> {
    let raw = w.bytes();
    let mut cmd = Cmd {
        name: [0; 32],
        nlen: 0,
        tier: Tier::Word,
        pos,
        prefix,
        obf: w.has(lex::F_OBF),
        capitalised: raw.iter().any(u8::is_ascii_uppercase),
        mixed_case: raw.iter().any(u8::is_ascii_uppercase)
            && raw.iter().any(u8::is_ascii_lowercase),
        pathed: names::is_binary_path(raw) || raw.starts_with(b"bin/") || raw.starts_with(b"sbin/"),
        separated: false,
        brace: false,
        glob_name: false,
        ev: 0,
        nargs: 0,
        why: None,
        span: 0..0,
    };
    let set_name = |cmd: &mut Cmd, n: &[u8]| {
        let k = n.len().min(32);
        cmd.name[..k].copy_from_slice(&n[..k]);
        cmd.nlen = k;
    };
    // `{cat,/etc/passwd}`: brace expansion gives the words.
    if w.has(lex::F_BRACE) && raw.ends_with(b"}") && raw.contains(&b',') {
        let inner = &raw[1..raw.len() - 1];
        let mut parts = inner.split(|&c| c == b',');
        let leading_empty = inner.starts_with(b",");
        let first = parts.by_ref().find(|p| !p.is_empty())?;
        let mut buf = [0u8; 32];
        let (n, t) = command_name(first, &mut buf)?;
        set_name(&mut cmd, n);
        cmd.tier = t;
        cmd.brace = true;
        if leading_empty {
            cmd.obf = true;
        }
        for p in parts.filter(|p| !p.is_empty()) {
            let fl = if p.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                lex::F_GLOB
            } else {
                0
            };
            cmd.add_evidence(classify(p, fl));
            cmd.nargs += 1;
        }
        return Some(cmd);
    }
    if w.has(lex::F_GLOB) {
        let target = names::glob_target(raw)
            .filter(|t| names::is_binary_path(t))
            .and_then(|t| t.rsplit(|&c| c == b'/').next())
            .and_then(|b| std::str::from_utf8(b).ok())
            .or_else(|| names::glob_command(raw));
        if let Some(t) = target
            && let Some(tier) = names::tier(t.as_bytes())
        {
            set_name(&mut cmd, t.as_bytes());
            cmd.tier = tier;
            cmd.glob_name = true;
            return Some(cmd);
        }
    }
    // `$c1$c2$c3$c4` where one variable holds a blank: the expansion is split into words.
    if w.has(lex::F_VAR)
        && let Some(k) = raw.iter().position(|&c| c == b' ')
    {
        let mut buf = [0u8; 32];
        let (n, t) = command_name(&raw[..k], &mut buf)?;
        set_name(&mut cmd, n);
        cmd.tier = t;
        for p in raw[k + 1..].split(|&c| c == b' ').filter(|p| !p.is_empty()) {
            cmd.add_evidence(classify(p, 0));
            cmd.nargs += 1;
        }
        return Some(cmd);
    }
    let tier = names::tier(norm)?;
    set_name(&mut cmd, norm);
    cmd.tier = tier;
    Some(cmd)
}

/// The tier of a brace element used as a command name.
fn command_name<'b>(w: &[u8], buf: &'b mut [u8; 32]) -> Option<(&'b [u8], Tier)> {
    if w.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
        let t = names::glob_target(w)
            .filter(|t| names::is_binary_path(t))
            .and_then(|t| t.rsplit(|&c| c == b'/').next())
            .or_else(|| names::glob_command(w).map(str::as_bytes))?;
        let tier = names::tier(t)?;
        let k = t.len().min(32);
        buf[..k].copy_from_slice(&t[..k]);
        return Some((&buf[..k], tier));
    }
    let n = normalize(w, buf);
    let t = names::tier(n)?;
    Some((n, t))
}

/// Judges a finished command.
fn finish(cmd: Option<Cmd>, ctx: &Ctx<'_>, found: &mut Found) {
    let Some(c) = cmd else { return };
    let network = names::is_network(c.name.get(..c.nlen).unwrap_or(&[]));
    // `sleep 5`: the timing probe of blind injection.
    let raw_name = &c.name[..c.nlen];
    let timing = c.nargs == 1 && c.ev & E_NUM != 0 && raw_name == b"sleep";
    let alias = c.ev & E_ASSIGN != 0 && raw_name == b"alias";
    let strong = c.ev & E_STRONG != 0
        || (network && c.ev & (E_IP | E_URL) != 0)
        || timing
        || alias
        || c.pathed;
    let name = c.name();
    let why = c.why.unwrap_or("no arguments");
    // Where the command sits decides how much it takes.
    let pos = match c.pos {
        Pos::Start if c.prefix == Some(true) => Pos::Chained {
            sep: Sep::Semi,
            spaced: false,
        },
        Pos::Chained {
            sep: Sep::Newline, ..
        } => Pos::Start,
        p => p,
    };
    // The value's own first word, in the URL path or a file name, is a name, not a command.
    if pos == Pos::Start && matches!(ctx.part, Part::Path | Part::Filename) && c.prefix.is_none() {
        return;
    }
    if pos == Pos::QuoteTail {
        return;
    }
    if c.obf && (c.tier != Tier::Word || c.nargs > 0 || !c.capitalised || c.brace) {
        found.add(OBFUSCATED, c.span.clone(), || {
            format!("`{name}` written with shell tricks")
        });
        return;
    }
    if c.mixed_case && (c.tier != Tier::Shell || !strong) {
        return;
    }
    let verdict: Option<u32> = match pos {
        // Backticks are also Markdown's inline code (`npm install`): there
        // an ordinary word or an interpreter needs shell-style arguments.
        Pos::Subst { backtick: true } => match c.tier {
            Tier::Shell => Some(CHAINED),
            _ if strong => Some(CHAINED),
            Tier::Word if c.nargs == 0 && names::is_recon(name.as_bytes()) => Some(CHAINED),
            _ => None,
        },
        Pos::Subst { backtick: false } => match c.tier {
            Tier::Shell | Tier::Interp => Some(CHAINED),
            Tier::Word if strong || names::is_recon(name.as_bytes()) => Some(CHAINED),
            Tier::Word if !c.capitalised => Some(CHAINED),
            Tier::Word => None,
        },
        Pos::Chained { sep, spaced } => {
            let tight = matches!(sep, Sep::Pipe | Sep::OrOr | Sep::AndAnd | Sep::Backtick);
            match c.tier {
                Tier::Shell if c.capitalised && !strong => None,
                Tier::Shell => Some(CHAINED),
                Tier::Interp if c.capitalised && !strong => None,
                Tier::Interp if strong || tight || c.ev & E_VAR != 0 => Some(CHAINED),
                Tier::Interp => Some(WEAK_COMMAND),
                Tier::Word if c.capitalised && !strong => None,
                Tier::Word if strong || c.glob_name => Some(CHAINED),
                Tier::Word if c.ev & E_VAR != 0 && c.prefix.is_none() => Some(WEAK_COMMAND),
                Tier::Word if c.nargs == 0 && names::is_recon(name.as_bytes()) => {
                    Some(if spaced && !tight {
                        WEAK_COMMAND
                    } else {
                        CHAINED
                    })
                }
                Tier::Word => None,
            }
        }
        Pos::Start => {
            let weak_prefix = c.prefix == Some(false);
            match c.tier {
                Tier::Shell if strong || c.ev & (E_URL | E_IP) != 0 => Some(COMMAND_LINE),
                Tier::Shell if weak_prefix => Some(WEAK_COMMAND),
                // `visudo\n`, `whoami;…`, `aa-disable php-fpm`: a command list or a
                // program with arguments, unless it is one people write about.
                Tier::Shell if c.separated && !c.capitalised => Some(COMMAND_LINE),
                Tier::Shell
                    if c.nargs > 0 && !c.capitalised && !names::is_talked_about(raw_name) =>
                {
                    Some(COMMAND_LINE)
                }
                // A lone name: an argument name or a tag (`cmd`, `bash`) is no command.
                Tier::Shell
                    if c.nargs == 0
                        && (names::is_talked_about(raw_name)
                            || matches!(
                                ctx.part,
                                Part::QueryArgName | Part::BodyArgName | Part::CookieName
                            )) =>
                {
                    None
                }
                // A lone name: an argument name or a tag (`cmd`, `bash`) is no command.
                Tier::Shell
                    if c.nargs == 0
                        && (names::is_talked_about(raw_name)
                            || matches!(
                                ctx.part,
                                Part::QueryArgName | Part::BodyArgName | Part::CookieName
                            )) =>
                {
                    None
                }
                Tier::Shell => Some(WEAK_COMMAND),
                Tier::Interp if c.ev & (E_OPT | E_SENSITIVE | E_REDIRECT) != 0 => {
                    Some(COMMAND_LINE)
                }
                Tier::Interp if c.ev & E_PATH != 0 || weak_prefix => Some(WEAK_COMMAND),
                Tier::Interp => None,
                Tier::Word if c.ev & (E_SENSITIVE | E_GLOB) != 0 => Some(COMMAND_LINE),
                Tier::Word if c.ev & E_OPT != 0 && c.ev & (E_PATH | E_REDIRECT) != 0 => {
                    Some(COMMAND_LINE)
                }
                Tier::Word if c.glob_name => Some(COMMAND_LINE),
                Tier::Word if c.ev & (E_OPT | E_PATH | E_REDIRECT) != 0 && !c.capitalised => {
                    Some(WEAK_COMMAND)
                }
                Tier::Word => None,
            }
        }
        Pos::QuoteTail => None,
    };
    let Some(rule) = verdict else { return };
    let place = match c.pos {
        Pos::Start => "at the start".to_owned(),
        Pos::QuoteTail => String::new(),
        Pos::Chained { sep, .. } => format!("after `{}`", sep.as_str()),
        Pos::Subst { backtick: true } => "in backticks".to_owned(),
        Pos::Subst { backtick: false } => "in $(...)".to_owned(),
    };
    found.add(rule, c.span.clone(), || {
        format!("`{name}` {place} with {why}")
    });
}
