//! A lenient shell lexer: splits a value into words, separators and
//! redirections the way `sh`/`bash` (and, loosely, `cmd.exe`) would, undoing
//! the quoting and expansion tricks attackers use to hide a command name.
//!
//! It never fails and never allocates: each word is de-obfuscated into a
//! fixed buffer ([`WORD_CAP`] bytes, longer words are truncated and marked),
//! variables assigned earlier in the same value (`a=/etc;b=cat;$b $a/passwd`)
//! are remembered in a small fixed table. Work is linear in the input.

/// Bytes of a de-obfuscated word we keep (enough for any command name and
/// the start of any path).
pub(super) const WORD_CAP: usize = 96;

/// A shell trick happened inside the word (quotes, `\`, `^`, empty `$x`,
/// `$@`, ``` `` ```, `$()`) with text on both sides: `c'a't`, `w\ho\am\i`.
pub(super) const F_OBF: u16 = 1;
/// Some part of the word was quoted.
pub(super) const F_QUOTED: u16 = 1 << 1;
/// An unset variable or special parameter expanded to nothing.
pub(super) const F_EXPANSION: u16 = 1 << 2;
/// Contains an unquoted glob (`*`, `?`, `[`).
pub(super) const F_GLOB: u16 = 1 << 3;
/// `name=value` (an assignment, when at command position).
pub(super) const F_ASSIGN: u16 = 1 << 4;
/// `${IFS}` / `$IFS` used as a blank.
pub(super) const F_IFS: u16 = 1 << 5;
/// `${x#…}`, `${x%…}`, `${x:1:2}`, `${!x}`: parameter operators.
pub(super) const F_PARAM_OP: u16 = 1 << 6;
/// `$[1+1]`, `$((1+1))`, `$[]`: arithmetic expansion.
pub(super) const F_ARITH: u16 = 1 << 7;
/// A variable assigned earlier in the value was substituted.
pub(super) const F_VAR: u16 = 1 << 8;
/// The word was cut at [`WORD_CAP`].
pub(super) const F_TRUNCATED: u16 = 1 << 9;
/// Starts with `{` (possible brace expansion).
pub(super) const F_BRACE: u16 = 1 << 10;
/// An unset *named* variable (`$u`, `${x}`) expanded to nothing.
pub(super) const F_NAMED: u16 = 1 << 11;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sep {
    Semi,
    Pipe,
    OrOr,
    Amp,
    AndAnd,
    Newline,
    /// `$(`, `<(`, `>(`.
    SubstOpen,
    Backtick,
    ParenOpen,
    ParenClose,
    BraceOpen,
    BraceClose,
}

impl Sep {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Sep::Semi => ";",
            Sep::Pipe => "|",
            Sep::OrOr => "||",
            Sep::Amp => "&",
            Sep::AndAnd => "&&",
            Sep::Newline => "newline",
            Sep::SubstOpen => "$(",
            Sep::Backtick => "`",
            Sep::ParenOpen => "(",
            Sep::ParenClose => ")",
            Sep::BraceOpen => "{",
            Sep::BraceClose => "}",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok {
    /// The word is in [`Lexer::word`].
    Word,
    Sep(Sep),
    /// `>`, `>>`, `<`, `<<<`, `2>&1`, `&>`.
    Redirect,
    End,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Quote {
    None,
    Single,
    Double,
    AnsiC,
}

/// The current word, de-obfuscated.
pub(super) struct Word {
    buf: [u8; WORD_CAP],
    len: usize,
    pub(super) flags: u16,
    /// For `name=value`: length of `name`.
    pub(super) assign_at: usize,
    /// Byte offset of the word in the input.
    pub(super) start: usize,
    pending_trick: bool,
    carets: u8,
}

impl Word {
    fn new() -> Self {
        Word {
            buf: [0; WORD_CAP],
            len: 0,
            flags: 0,
            assign_at: 0,
            start: 0,
            pending_trick: false,
            carets: 0,
        }
    }

    fn reset(&mut self, start: usize) {
        self.len = 0;
        self.flags = 0;
        self.assign_at = 0;
        self.start = start;
        self.pending_trick = false;
        self.carets = 0;
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn last(&self) -> Option<u8> {
        self.len.checked_sub(1).map(|k| self.buf[k])
    }

    /// An empty substitution (``` `` ```, `$()`, `<()`): there is no innocent reason for one.
    fn empty_subst(&mut self) {
        self.flags |= F_OBF | F_EXPANSION;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    fn push(&mut self, c: u8) {
        if self.pending_trick {
            self.flags |= F_OBF;
            self.pending_trick = false;
        }
        if self.len < WORD_CAP {
            self.buf[self.len] = c;
            self.len += 1;
        } else {
            self.flags |= F_TRUNCATED;
        }
    }

    fn push_all(&mut self, s: &[u8]) {
        for &c in s {
            self.push(c);
        }
    }

    /// A trick happened here: it obfuscates the word if text follows.
    fn trick(&mut self) {
        if self.len > 0 {
            self.pending_trick = true;
        }
    }
}

const MAX_VARS: usize = 8;
const VAR_NAME: usize = 16;
const VAR_VAL: usize = 48;
const MAX_DEPTH: usize = 16;

#[derive(Clone, Copy)]
struct Var {
    name: [u8; VAR_NAME],
    nlen: usize,
    val: [u8; VAR_VAL],
    vlen: usize,
}

#[derive(Clone, Copy)]
enum Frame {
    Paren(Quote),
    Backtick(Quote),
}

pub(super) struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    quote: Quote,
    pub(super) word: Word,
    vars: [Var; MAX_VARS],
    nvars: usize,
    stack: [Frame; MAX_DEPTH],
    depth: usize,
    /// Set when the word ended at `$(` or a backtick that must be the next token.
    pending_subst: bool,
    /// The bytes of the last redirection operator.
    pub(super) redirect: (usize, usize),
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x0b' | b'\x0c')
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Lexer<'a> {
    pub(super) fn new(s: &'a [u8], start_quote: Quote) -> Self {
        Lexer {
            s,
            i: 0,
            quote: start_quote,
            word: Word::new(),
            vars: [Var {
                name: [0; VAR_NAME],
                nlen: 0,
                val: [0; VAR_VAL],
                vlen: 0,
            }; MAX_VARS],
            nvars: 0,
            stack: [Frame::Paren(Quote::None); MAX_DEPTH],
            depth: 0,
            pending_subst: false,
            redirect: (0, 0),
        }
    }

    /// Byte offset of the next unread byte.
    pub(super) fn pos(&self) -> usize {
        self.i
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(k).copied()
    }

    /// Records `name=value` (from an assignment word) for later `$name`.
    pub(super) fn assign(&mut self, name: &[u8], value: &[u8]) {
        if name.is_empty() || name.len() > VAR_NAME {
            return;
        }
        let slot = (0..self.nvars)
            .find(|&k| &self.vars[k].name[..self.vars[k].nlen] == name)
            .unwrap_or_else(|| {
                let k = self.nvars.min(MAX_VARS - 1);
                if self.nvars < MAX_VARS {
                    self.nvars += 1;
                }
                k
            });
        let v = &mut self.vars[slot];
        v.nlen = name.len();
        v.name[..name.len()].copy_from_slice(name);
        let n = value.len().min(VAR_VAL);
        v.vlen = n;
        v.val[..n].copy_from_slice(&value[..n]);
    }

    fn lookup(&self, name: &[u8]) -> Option<([u8; VAR_VAL], usize)> {
        (0..self.nvars)
            .find(|&k| &self.vars[k].name[..self.vars[k].nlen] == name)
            .map(|k| (self.vars[k].val, self.vars[k].vlen))
    }

    fn push_frame(&mut self, f: Frame) {
        if self.depth < MAX_DEPTH {
            self.stack[self.depth] = f;
            self.depth += 1;
        }
    }

    /// Opens a substitution: quoting restarts inside it.
    fn open_subst(&mut self, backtick: bool) {
        let saved = self.quote;
        self.push_frame(if backtick {
            Frame::Backtick(saved)
        } else {
            Frame::Paren(saved)
        });
        self.quote = Quote::None;
    }

    pub(super) fn next_token(&mut self) -> Tok {
        let s = self.s;
        if self.pending_subst {
            self.pending_subst = false;
            return self.subst_start();
        }
        if self.i >= s.len() {
            // An unclosed quote ends with the input.
            return Tok::End;
        }
        if self.quote != Quote::None {
            return self.lex_word();
        }
        loop {
            while self.i < s.len() && is_blank(s[self.i]) {
                self.i += 1;
            }
            // `$IFS` and `${IFS}` between words are blanks too.
            if let Some(n) = self.ifs_len(self.i) {
                self.i += n;
                continue;
            }
            break;
        }
        let Some(c) = self.at(self.i) else {
            return Tok::End;
        };
        let next = self.at(self.i + 1);
        match c {
            b'\n' | b'\r' => {
                while self.i < s.len() && matches!(s[self.i], b'\n' | b'\r') {
                    self.i += 1;
                }
                Tok::Sep(Sep::Newline)
            }
            b';' => {
                self.i += if next == Some(b';') { 2 } else { 1 };
                Tok::Sep(Sep::Semi)
            }
            b'&' => match next {
                Some(b'&') => {
                    self.i += 2;
                    Tok::Sep(Sep::AndAnd)
                }
                Some(b'>') => {
                    self.i += 2;
                    if self.at(self.i) == Some(b'>') {
                        self.i += 1;
                    }
                    Tok::Redirect
                }
                _ => {
                    self.i += 1;
                    Tok::Sep(Sep::Amp)
                }
            },
            b'|' => {
                if next == Some(b'|') {
                    self.i += 2;
                    Tok::Sep(Sep::OrOr)
                } else {
                    self.i += if next == Some(b'&') { 2 } else { 1 };
                    Tok::Sep(Sep::Pipe)
                }
            }
            b'`' => {
                self.i += 1;
                self.backtick()
            }
            b'(' => {
                self.i += 1;
                self.push_frame(Frame::Paren(Quote::None));
                Tok::Sep(Sep::ParenOpen)
            }
            b')' => {
                self.i += 1;
                self.close_paren()
            }
            b'{' if next.is_none_or(|n| is_blank(n) || n == b'\n') => {
                self.i += 1;
                Tok::Sep(Sep::BraceOpen)
            }
            b'}' if next.is_none_or(|n| is_blank(n) || matches!(n, b';' | b'\n' | b'|' | b'&')) => {
                self.i += 1;
                Tok::Sep(Sep::BraceClose)
            }
            b'<' | b'>' if next == Some(b'(') => {
                self.i += 2;
                self.open_subst(false);
                Tok::Sep(Sep::SubstOpen)
            }
            b'<' | b'>' => {
                self.lex_redirect();
                Tok::Redirect
            }
            b'#' => {
                // A comment runs to the end of the line.
                while self.i < s.len() && !matches!(s[self.i], b'\n' | b'\r') {
                    self.i += 1;
                }
                self.next_token()
            }
            b'0'..=b'9' => {
                let mut k = self.i;
                while k < s.len() && s[k].is_ascii_digit() {
                    k += 1;
                }
                if matches!(self.at(k), Some(b'>' | b'<')) && self.at(k + 1) != Some(b'(') {
                    self.i = k;
                    self.lex_redirect();
                    Tok::Redirect
                } else {
                    self.lex_word()
                }
            }
            b'$' if next == Some(b'(') && self.at(self.i + 2) != Some(b'(') => {
                if self.at(self.i + 2) == Some(b')') {
                    // `$()` alone: nothing.
                    self.i += 3;
                    return self.next_token();
                }
                self.i += 2;
                self.open_subst(false);
                Tok::Sep(Sep::SubstOpen)
            }
            _ => self.lex_word(),
        }
    }

    /// After a word that stopped at `$(` or a backtick.
    fn subst_start(&mut self) -> Tok {
        if self.at(self.i) == Some(b'`') {
            self.i += 1;
            return self.backtick();
        }
        self.i += 2;
        self.open_subst(false);
        Tok::Sep(Sep::SubstOpen)
    }

    fn backtick(&mut self) -> Tok {
        if let Some(Frame::Backtick(q)) = self.depth.checked_sub(1).map(|d| self.stack[d]) {
            self.depth -= 1;
            self.quote = q;
        } else {
            self.open_subst(true);
        }
        Tok::Sep(Sep::Backtick)
    }

    fn close_paren(&mut self) -> Tok {
        if let Some(d) = self.depth.checked_sub(1)
            && let Frame::Paren(q) = self.stack[d]
        {
            self.depth = d;
            self.quote = q;
        }
        Tok::Sep(Sep::ParenClose)
    }

    fn lex_redirect(&mut self) {
        let s = self.s;
        let start = self.i;
        // `<`, `<<`, `<<<`, `>`, `>>`, `<>`, `>|`, then `&N` or `&-`.
        let mut n = 0;
        while self.i < s.len() && matches!(s[self.i], b'<' | b'>') && n < 3 {
            self.i += 1;
            n += 1;
        }
        if self.at(self.i) == Some(b'|') {
            self.i += 1;
        }
        if self.at(self.i) == Some(b'&') {
            self.i += 1;
            while self.i < s.len() && (s[self.i].is_ascii_digit() || s[self.i] == b'-') {
                self.i += 1;
            }
        }
        self.redirect = (start, self.i);
    }

    /// `$IFS` / `${IFS}` (and `${IFS%?}`-like forms) at `k`: their length.
    fn ifs_len(&self, k: usize) -> Option<usize> {
        let s = self.s;
        if s.get(k) != Some(&b'$') {
            return None;
        }
        let rest = &s[k + 1..];
        if rest.len() >= 3
            && rest[..3].eq_ignore_ascii_case(b"IFS")
            && rest.get(3).is_none_or(|&c| !is_ident(c))
        {
            return Some(4);
        }
        if rest.first() == Some(&b'{')
            && rest.len() >= 5
            && rest[1..4].eq_ignore_ascii_case(b"IFS")
            && let Some(close) = rest.iter().take(24).position(|&c| c == b'}')
        {
            return Some(close + 2);
        }
        None
    }

    fn lex_word(&mut self) -> Tok {
        let s = self.s;
        self.word.reset(self.i);
        let mut assign_possible = true;
        while self.i < s.len() {
            let c = s[self.i];
            match self.quote {
                Quote::Single => {
                    if c == b'\'' {
                        self.quote = Quote::None;
                        self.word.trick();
                    } else {
                        self.word.push(c);
                    }
                    self.i += 1;
                }
                Quote::AnsiC => {
                    self.i += 1;
                    match c {
                        b'\'' => {
                            self.quote = Quote::None;
                            self.word.trick();
                        }
                        b'\\' => self.ansi_escape(),
                        _ => self.word.push(c),
                    }
                }
                Quote::Double => match c {
                    b'"' => {
                        self.quote = Quote::None;
                        self.word.trick();
                        self.i += 1;
                    }
                    b'\\' => {
                        match self.at(self.i + 1) {
                            Some(n @ (b'$' | b'`' | b'"' | b'\\')) => self.word.push(n),
                            Some(b'\n') => {}
                            Some(n) => {
                                self.word.push(b'\\');
                                self.word.push(n);
                            }
                            None => self.word.push(b'\\'),
                        }
                        self.i += 2;
                    }
                    b'`' => {
                        if self.at(self.i + 1) == Some(b'`') {
                            self.i += 2;
                            self.word.trick();
                        } else if self.word.is_empty() {
                            self.i += 1;
                            return self.backtick();
                        } else {
                            self.pending_subst = true;
                            return Tok::Word;
                        }
                    }
                    b'$' => {
                        if let Some(t) = self.dollar() {
                            return t;
                        }
                    }
                    _ => {
                        self.word.push(c);
                        self.i += 1;
                    }
                },
                Quote::None => match c {
                    b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'(' | b')' | b'\x0b'
                    | b'\x0c' => break,
                    b'<' | b'>' => {
                        // `pi<()ng`: an empty process substitution inside a word.
                        if self.at(self.i + 1) == Some(b'(') && self.at(self.i + 2) == Some(b')') {
                            self.i += 3;
                            self.word.empty_subst();
                            continue;
                        }
                        break;
                    }
                    b'`' => {
                        if self.at(self.i + 1) == Some(b'`') {
                            self.i += 2;
                            self.word.empty_subst();
                            continue;
                        }
                        if !self.word.is_empty() {
                            self.pending_subst = true;
                        }
                        break;
                    }
                    b'\'' => {
                        self.quote = Quote::Single;
                        self.word.flags |= F_QUOTED;
                        self.word.trick();
                        assign_possible = false;
                        self.i += 1;
                    }
                    b'"' => {
                        self.quote = Quote::Double;
                        self.word.flags |= F_QUOTED;
                        self.word.trick();
                        assign_possible = false;
                        self.i += 1;
                    }
                    b'\\' => {
                        match self.at(self.i + 1) {
                            Some(b'\n') => {}
                            // `c:\`, `\\host`: a Windows path, not an escape.
                            _ if self.word.last() == Some(b':')
                                || self.word.last() == Some(b'\\') =>
                            {
                                self.word.push(b'\\');
                                self.i += 1;
                                continue;
                            }
                            Some(n) => {
                                // `\ls` skips aliases; mid-word it splits the name.
                                if self.word.is_empty() && n.is_ascii_alphabetic() {
                                    self.word.flags |= F_OBF;
                                }
                                self.word.trick();
                                self.word.push(n);
                            }
                            None => self.word.push(b'\\'),
                        }
                        self.i += 2;
                    }
                    b'^' if self
                        .at(self.i + 1)
                        .is_some_and(|n| n.is_ascii_alphanumeric()) =>
                    {
                        // cmd.exe's escape character: `w^h^o^a^m^i`. One alone is
                        // more likely a power (`e^x`), so it takes two to obfuscate.
                        self.word.carets = self.word.carets.saturating_add(1);
                        if self.word.carets >= 2 {
                            self.word.flags |= F_OBF;
                        }
                        self.i += 1;
                    }
                    b'$' => {
                        if self.word.is_empty()
                            && self.at(self.i + 1) == Some(b'(')
                            && self.at(self.i + 2) != Some(b'(')
                            && self.at(self.i + 2) != Some(b')')
                        {
                            break;
                        }
                        if let Some(n) = self.ifs_len(self.i) {
                            if self.word.is_empty() {
                                self.i += n;
                                continue;
                            }
                            self.word.flags |= F_IFS;
                            break;
                        }
                        if let Some(t) = self.dollar() {
                            return t;
                        }
                    }
                    b'*' | b'?' | b'[' => {
                        self.word.flags |= F_GLOB;
                        self.word.push(c);
                        self.i += 1;
                    }
                    b'{' => {
                        if self.word.is_empty() {
                            self.word.flags |= F_BRACE;
                        }
                        self.word.push(c);
                        self.i += 1;
                    }
                    b'=' => {
                        if assign_possible
                            && self.word.flags & (F_ASSIGN | F_QUOTED | F_EXPANSION | F_VAR) == 0
                            && !self.word.is_empty()
                            && is_ident_start(self.word.bytes()[0])
                            && self.word.bytes().iter().all(|&b| is_ident(b))
                        {
                            self.word.flags |= F_ASSIGN;
                            self.word.assign_at = self.word.len;
                        }
                        assign_possible = false;
                        self.word.push(c);
                        self.i += 1;
                    }
                    _ => {
                        self.word.push(c);
                        self.i += 1;
                    }
                },
            }
        }
        Tok::Word
    }

    fn ansi_escape(&mut self) {
        let s = self.s;
        let Some(c) = self.at(self.i) else { return };
        self.i += 1;
        let hex = |b: u8| (b as char).to_digit(16);
        match c {
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2
                    && let Some(d) = self.at(self.i).and_then(hex)
                {
                    v = v * 16 + d;
                    self.i += 1;
                    n += 1;
                }
                self.word.push(v as u8);
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && self.i < s.len() && (b'0'..=b'7').contains(&s[self.i]) {
                    v = v * 8 + u32::from(s[self.i] - b'0');
                    self.i += 1;
                    n += 1;
                }
                self.word.push((v & 0xff) as u8);
            }
            b'n' => self.word.push(b'\n'),
            b't' => self.word.push(b'\t'),
            other => self.word.push(other),
        }
    }

    /// Handles `$…` at `self.i` inside a word. Returns a token when the word
    /// must end here (a substitution starts).
    fn dollar(&mut self) -> Option<Tok> {
        let s = self.s;
        let next = self.at(self.i + 1);
        match next {
            Some(b'\'') if self.quote == Quote::None => {
                self.quote = Quote::AnsiC;
                self.word.flags |= F_QUOTED;
                self.word.trick();
                self.i += 2;
            }
            Some(b'"') if self.quote == Quote::None => {
                self.quote = Quote::Double;
                self.word.flags |= F_QUOTED;
                self.word.trick();
                self.i += 2;
            }
            Some(b'(') => {
                if self.at(self.i + 2) == Some(b')') {
                    self.i += 3;
                    self.word.empty_subst();
                } else if self.at(self.i + 2) == Some(b'(') {
                    // `$(( … ))`: arithmetic, skipped.
                    let end = find_from(s, self.i + 3, b"))", 64);
                    self.i = end.map_or(self.i + 3, |e| e + 2);
                    self.word.flags |= F_ARITH;
                    self.word.trick();
                } else if self.word.is_empty() {
                    self.i += 2;
                    self.open_subst(false);
                    return Some(Tok::Sep(Sep::SubstOpen));
                } else {
                    self.pending_subst = true;
                    return Some(Tok::Word);
                }
            }
            Some(b'{') => {
                let body_start = self.i + 2;
                // Matching `}` (nesting counted), within a short window.
                let mut depth = 1;
                let mut k = body_start;
                while k < s.len() && k < body_start + 64 {
                    match s[k] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                if k >= s.len() || s[k] != b'}' {
                    self.word.push(b'$');
                    self.i += 1;
                    return None;
                }
                let body = &s[body_start..k];
                self.i = k + 1;
                let nlen = body.iter().take_while(|&&c| is_ident(c)).count();
                let (name, rest) = body.split_at(nlen);
                if rest.is_empty() && !name.is_empty() {
                    self.expand_var(name);
                } else if body.starts_with(b"!")
                    || matches!(
                        rest.first(),
                        Some(b':' | b'#' | b'%' | b'/' | b'^' | b',' | b'@')
                    )
                {
                    self.word.flags |= F_PARAM_OP;
                    // `${PATH:0:1}` and friends give `/`.
                    if matches!(name, b"PATH" | b"HOME" | b"PWD" | b"SHELL" | b"OLDPWD")
                        && rest.starts_with(b":0:1")
                    {
                        self.word.push(b'/');
                    } else {
                        self.word.trick();
                    }
                } else {
                    self.word.trick();
                    self.word.flags |= F_EXPANSION | F_NAMED;
                }
            }
            Some(b'[') => {
                // `$[1+2]`: arithmetic (old bash).
                match find_from(s, self.i + 2, b"]", 32) {
                    Some(e)
                        if s[self.i + 2..e]
                            .iter()
                            .all(|c| c.is_ascii_digit() || b"+-*/%() ".contains(c))
                            && (e == self.i + 2
                                || s[self.i + 2..e].iter().any(|c| b"+-*/%".contains(c))) =>
                    {
                        self.i = e + 1;
                        self.word.flags |= F_ARITH;
                        self.word.trick();
                    }
                    _ => {
                        self.word.push(b'$');
                        self.i += 1;
                    }
                }
            }
            Some(c) if b"@*#?$!-_0123456789".contains(&c) => {
                self.i += 2;
                if c == b'0' {
                    // `$0` is the shell itself.
                    self.word.push_all(b"sh");
                } else {
                    self.word.trick();
                    self.word.flags |= F_EXPANSION;
                }
            }
            Some(c) if is_ident_start(c) => {
                let start = self.i + 1;
                let mut k = start;
                while k < s.len() && is_ident(s[k]) {
                    k += 1;
                }
                self.i = k;
                self.expand_var(&s[start..k]);
            }
            _ => {
                self.word.push(b'$');
                self.i += 1;
            }
        }
        None
    }

    fn expand_var(&mut self, name: &[u8]) {
        if let Some((val, n)) = self.lookup(name) {
            self.word.flags |= F_VAR;
            self.word.push_all(&val[..n]);
        } else if matches!(name, b"SHELL" | b"BASH") {
            self.word.flags |= F_VAR;
            self.word.push_all(b"sh");
        } else {
            self.word.trick();
            self.word.flags |= F_EXPANSION | F_NAMED;
        }
    }
}

/// First index of `pat` in `s` at or after `from`, looking at most `window` bytes ahead.
fn find_from(s: &[u8], from: usize, pat: &[u8], window: usize) -> Option<usize> {
    let end = (from + window + pat.len()).min(s.len());
    if from >= end {
        return None;
    }
    memchr::memmem::find(&s[from..end], pat).map(|k| from + k)
}
