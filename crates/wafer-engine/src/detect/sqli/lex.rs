//! The SQL tokenizer: a value as SQL text, cut into typed tokens, folded as
//! they are produced (see [`Tokens::push`]) so the classifier sees a short,
//! regular sequence.
//!
//! One lexer serves every dialect we care about (MySQL, PostgreSQL, MSSQL,
//! Oracle, SQLite), taking the more permissive reading where they disagree:
//! `--` starts a comment with or without a following space, `#` starts a
//! comment, `"` delimits a string, backslash escapes inside strings, a doubled
//! quote is an escaped quote. MySQL `/*! ... */` and `/*!50000 ... */` are
//! code, not comments. A plain `/* */` between two word characters glues them
//! (`un/**/ion` reads as `union`, as it does after the comment-stripping
//! filters such payloads are aimed at); elsewhere it is white space. `[`, `]`,
//! `{` and `}` are dropped, so neither MSSQL bracket identifiers nor ODBC
//! escapes can hide a payload inside one "identifier".
//!
//! No allocation: tokens are offsets into the value, word classification
//! lowercases into a stack buffer.

use super::words::{self, Fk, Kw};

/// Token types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A string literal; [`OPEN`] when the value ends inside it.
    Str,
    Num,
    Word(Kw),
    /// A bareword, backtick identifier or qualified name.
    Ident,
    /// A word followed by `(`.
    Func(Fk),
    /// `@x`, `$1`.
    Var,
    /// `@@version`.
    SysVar,
    Op(Op),
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    /// `--`, `#` (to the end of the line) or an unterminated `/*`.
    Comment,
}

/// Operator classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// `= == != <> < > <= >= <=> !< !>` and PostgreSQL `~ ~* !~ !~*`.
    Cmp,
    /// `||` and `&&` (OR/AND in MySQL; `||` concatenates elsewhere).
    Logic,
    /// `!`.
    Not,
    /// `+ -` (may be unary).
    Sign,
    /// `* / % ^ | & << >> ~` and DIV/MOD.
    Arith,
    /// `::` (PostgreSQL cast).
    Cast,
    /// `:=`.
    Assign,
    /// JSON / containment operators: `-> ->> #> #>> @> <@ ? ?| ?&`.
    Json,
}

/// [`Kind::Str`]: the value ended inside the string (the application's own quote closes it).
pub(super) const OPEN: u8 = 1;
/// [`Kind::Comment`]: nothing but white space and punctuation follows the comment marker.
pub(super) const EMPTY: u8 = 2;
/// [`Kind::Ident`] / [`Kind::Func`]: qualified (`a.b`); for a function, by a non-SQL qualifier.
pub(super) const FOREIGN: u8 = 4;
/// [`Kind::Ident`]: the name of an SQL function or a system object written without `(`.
pub(super) const SQLNAME: u8 = 8;
/// [`Kind::Num`]: hexadecimal or binary literal (`0x41`).
pub(super) const HEX: u8 = 16;
/// [`Kind::Ident`]: a PostgreSQL / SQL type name (after `::`).
pub(super) const TYPE: u8 = 32;
/// [`Kind::Ident`]: starts with a non-ASCII letter (a word of prose, not a column).
pub(super) const PROSE: u8 = 64;

#[derive(Clone, Copy, Debug)]
pub(super) struct Tok {
    pub(super) kind: Kind,
    pub(super) flags: u8,
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Tok {
    pub(super) fn is(&self, k: Kind) -> bool {
        self.kind == k
    }

    pub(super) fn kw(&self) -> Option<Kw> {
        match self.kind {
            Kind::Word(k) => Some(k),
            _ => None,
        }
    }

    pub(super) fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Ends an operand: what a binary operator may follow.
    pub(super) fn ends_operand(&self) -> bool {
        matches!(
            self.kind,
            Kind::Str
                | Kind::Num
                | Kind::Ident
                | Kind::Var
                | Kind::SysVar
                | Kind::RParen
                | Kind::Word(Kw::Null | Kw::True)
        )
    }
}

/// Where the value is assumed to sit in the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    /// As written (numeric context, or a value that is SQL on its own).
    Bare,
    /// Inside a string opened by this quote: the value starts as string content.
    Quoted(u8),
}

impl Ctx {
    pub(super) fn label(self) -> &'static str {
        match self {
            Ctx::Bare => "bare",
            Ctx::Quoted(b'\'') => "after '",
            Ctx::Quoted(b'"') => "after \"",
            Ctx::Quoted(_) => "after `",
        }
    }
}

/// Token capacity of one window; longer values are classified window by window.
pub(super) const WINDOW: usize = 96;
/// Tokens carried over into the next window so shapes spanning the cut are seen.
pub(super) const OVERLAP: usize = 12;

/// A window of folded tokens.
pub(super) struct Tokens {
    pub(super) buf: [Tok; WINDOW],
    pub(super) len: usize,
}

const BLANK: Tok = Tok {
    kind: Kind::Comma,
    flags: 0,
    start: 0,
    end: 0,
};

impl Tokens {
    pub(super) fn new() -> Tokens {
        Tokens {
            buf: [BLANK; WINDOW],
            len: 0,
        }
    }

    pub(super) fn as_slice(&self) -> &[Tok] {
        &self.buf[..self.len]
    }

    pub(super) fn is_full(&self) -> bool {
        self.len == WINDOW
    }

    /// Keeps the last [`OVERLAP`] tokens.
    pub(super) fn shift(&mut self) {
        let keep = OVERLAP.min(self.len);
        self.buf.copy_within(self.len - keep..self.len, 0);
        self.len = keep;
    }

    fn last(&self, back: usize) -> Option<&Tok> {
        self.len.checked_sub(back + 1).map(|i| &self.buf[i])
    }

    fn pop(&mut self) -> Option<Tok> {
        self.len = self.len.checked_sub(1)?;
        Some(self.buf[self.len])
    }

    fn raw_push(&mut self, t: Tok) {
        if self.len < WINDOW {
            self.buf[self.len] = t;
            self.len += 1;
        }
    }

    /// Appends a token, folding multi-word operators and unary signs:
    /// `order by` / `group by` → one keyword, `union all|distinct` → `union`,
    /// `not like|in|between|regexp` → that operator, `is not` → `is`,
    /// `sounds like` → `like`, `select distinct|all` → `select`, a sign before a
    /// number where no operand precedes → part of the number, `a.b` → one name.
    pub(super) fn push(&mut self, mut t: Tok) {
        let prev = self.last(0).copied();
        if let Some(p) = prev {
            match (p.kind, t.kind) {
                (Kind::Word(Kw::Order), Kind::Word(Kw::By)) => {
                    self.buf[self.len - 1].kind = Kind::Word(Kw::OrderBy);
                    self.buf[self.len - 1].end = t.end;
                    return;
                }
                (Kind::Word(Kw::Group), Kind::Word(Kw::By)) => {
                    self.buf[self.len - 1].kind = Kind::Word(Kw::GroupBy);
                    self.buf[self.len - 1].end = t.end;
                    return;
                }
                (Kind::Word(Kw::Union | Kw::Select), Kind::Word(Kw::All))
                | (Kind::Word(Kw::Is), Kind::Word(Kw::Not)) => {
                    self.buf[self.len - 1].end = t.end;
                    return;
                }
                (Kind::Word(Kw::Not), Kind::Word(Kw::Like | Kw::In | Kw::Between)) => {
                    t.start = p.start;
                    self.pop();
                }
                (Kind::Word(Kw::Sounds), Kind::Word(Kw::Like)) => {
                    t.start = p.start;
                    self.pop();
                }
                (Kind::Op(Op::Sign), Kind::Num) => {
                    let before = self.last(1);
                    if before.is_none_or(|b| !b.ends_operand()) {
                        t.start = p.start;
                        self.pop();
                    }
                }
                (Kind::Dot, Kind::Ident | Kind::Func(_) | Kind::Word(_)) => {
                    if let Some(q) = self.last(1).copied()
                        && matches!(q.kind, Kind::Ident | Kind::Word(_))
                    {
                        // `a.b`, `dbms_lock.sleep(`, `information_schema.tables`.
                        self.pop();
                        self.pop();
                        let mut merged = t;
                        merged.start = q.start;
                        merged.flags |= q.flags & SQLNAME;
                        if let Kind::Word(_) = t.kind {
                            merged.kind = Kind::Ident;
                        }
                        if matches!(t.kind, Kind::Func(_)) && !q.has(SQLNAME) {
                            merged.flags |= FOREIGN;
                        }
                        self.raw_push(merged);
                        return;
                    }
                }
                _ => {}
            }
        }
        self.raw_push(t);
    }
}

/// Bytes of words: ASCII letters and digits, `_`, `$`, and everything non-ASCII.
static WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        i += 1;
    }
    t
};

fn is_word_byte(b: u8) -> bool {
    WORD[b as usize]
}

/// Bytes that separate tokens and mean nothing: white space, dropped brackets, `\\`.
static SPACE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let set = b" \t\n\r\x0b\x0c[]{}\\";
    while i < set.len() {
        t[set[i] as usize] = true;
        i += 1;
    }
    t
};

fn is_space(b: &[u8], i: usize) -> usize {
    let c = b[i];
    if SPACE[c as usize] {
        1
    } else if c == 0xc2 && b.get(i + 1) == Some(&0xa0) {
        // NO-BREAK SPACE in UTF-8: MySQL treats 0xA0 as white space.
        2
    } else {
        0
    }
}

/// The lexer over one value in one context.
pub(super) struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Open MySQL `/*!` comments whose `*/` is to be skipped.
    versioned: u8,
    /// The next token is the start of the value in a quoted context.
    pending: Option<u8>,
    /// The string the value starts in takes backslashes literally (standard SQL).
    std_first: bool,
    /// The previous token was `::` (type names are only looked up there).
    after_cast: bool,
}

impl<'a> Lexer<'a> {
    /// In a quoted context the first token is the string the value sits in:
    /// [`Lexer::breakout`] tells whether the value leaves it.
    pub(super) fn new(b: &'a [u8], ctx: Ctx, std_first: bool) -> Lexer<'a> {
        Lexer {
            b,
            i: 0,
            versioned: 0,
            std_first,
            after_cast: false,
            pending: match ctx {
                Ctx::Bare => None,
                Ctx::Quoted(q) => Some(q),
            },
        }
    }

    fn at(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn tok(&self, kind: Kind, start: usize, flags: u8) -> Tok {
        Tok {
            kind,
            flags,
            start: start as u32,
            end: self.i as u32,
        }
    }

    /// Scans string content from `self.i` to its closing `q`; returns whether it closed.
    fn string_body(&mut self, q: u8, escapes: bool) -> bool {
        let b = self.b;
        while self.i < b.len() {
            let c = b[self.i];
            if c == b'\\' && escapes && q != b'`' {
                self.i += 2;
            } else if c == q {
                if self.at(1) == q {
                    self.i += 2;
                } else {
                    self.i += 1;
                    return true;
                }
            } else {
                self.i += 1;
            }
        }
        self.i = b.len();
        false
    }

    /// Skips white space, dropped brackets and closed block comments.
    fn skip_space(&mut self) {
        let b = self.b;
        while self.i < b.len() {
            let n = is_space(b, self.i);
            if n > 0 {
                self.i += n;
                continue;
            }
            if b[self.i] == b'*' && self.at(1) == b'/' && self.versioned > 0 {
                self.versioned -= 1;
                self.i += 2;
                continue;
            }
            if b[self.i] == b'/' && self.at(1) == b'*' {
                if self.at(2) == b'!' {
                    self.i += 3;
                    while self.i < b.len() && b[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    self.versioned = self.versioned.saturating_add(1);
                    continue;
                }
                if let Some(end) = find2(&b[self.i + 2..], b'*', b'/') {
                    self.i += 2 + end + 2;
                    continue;
                }
                return; // unterminated: a comment token
            }
            return;
        }
    }

    /// The next token, or `None` at the end of the value.
    pub(super) fn next_token(&mut self) -> Option<Tok> {
        let t = self.lex_token();
        self.after_cast = t.is_some_and(|t| t.kind == Kind::Op(Op::Cast));
        t
    }

    fn lex_token(&mut self) -> Option<Tok> {
        if let Some(q) = self.pending.take() {
            let closed = self.string_body(q, !self.std_first);
            return Some(self.tok(Kind::Str, 0, if closed { 0 } else { OPEN }));
        }
        self.skip_space();
        let b = self.b;
        if self.i >= b.len() {
            return None;
        }
        let s = self.i;
        let c = b[s];
        let c1 = self.at(1);
        let op = |lx: &mut Lexer<'_>, n: usize, o: Op| {
            lx.i += n;
            Some(lx.tok(Kind::Op(o), s, 0))
        };
        match c {
            b'\'' | b'"' => {
                self.i += 1;
                let closed = self.string_body(c, true);
                Some(self.tok(Kind::Str, s, if closed { 0 } else { OPEN }))
            }
            b'`' => {
                self.i += 1;
                self.string_body(b'`', true);
                Some(self.tok(Kind::Ident, s, 0))
            }
            b'(' => {
                self.i += 1;
                Some(self.tok(Kind::LParen, s, 0))
            }
            b')' => {
                self.i += 1;
                Some(self.tok(Kind::RParen, s, 0))
            }
            b',' => {
                self.i += 1;
                Some(self.tok(Kind::Comma, s, 0))
            }
            b';' => {
                self.i += 1;
                Some(self.tok(Kind::Semi, s, 0))
            }
            b'-' if c1 == b'-' => Some(self.line_comment(s, 2)),
            b'#' if c1 == b'>' => op(self, if self.at(2) == b'>' { 3 } else { 2 }, Op::Json),
            b'#' => Some(self.line_comment(s, 1)),
            b'/' if c1 == b'*' => {
                // Only an unterminated block comment reaches here.
                let empty = b[s + 2..].iter().all(|&x| !x.is_ascii_alphanumeric());
                self.i = b.len();
                Some(self.tok(Kind::Comment, s, if empty { EMPTY } else { 0 }))
            }
            b'.' if c1.is_ascii_digit() => Some(self.number(s)),
            b'.' => {
                self.i += 1;
                Some(self.tok(Kind::Dot, s, 0))
            }
            b'0'..=b'9' => Some(self.number(s)),
            b'@' => {
                let sys = c1 == b'@';
                self.i += if sys { 2 } else { 1 };
                match self.at(0) {
                    q @ (b'\'' | b'"' | b'`') => {
                        self.i += 1;
                        self.string_body(q, true);
                    }
                    _ => self.word_end(),
                }
                if self.i == s + 1 && c1 == b'>' {
                    return op(self, 1, Op::Json);
                }
                Some(self.tok(if sys { Kind::SysVar } else { Kind::Var }, s, 0))
            }
            b'$' if c1 == b'$' => {
                self.i += 2;
                self.i = match find2(&b[self.i..], b'$', b'$') {
                    Some(e) => self.i + e + 2,
                    None => b.len(),
                };
                Some(self.tok(Kind::Str, s, 0))
            }
            b'$' if c1.is_ascii_digit() => {
                self.i += 1;
                self.word_end();
                Some(self.tok(Kind::Var, s, 0))
            }
            b':' if c1 == b':' => op(self, 2, Op::Cast),
            b':' if c1 == b'=' => op(self, 2, Op::Assign),
            b'<' => match (c1, self.at(2)) {
                (b'=', b'>') => op(self, 3, Op::Cmp),
                (b'=' | b'>', _) => op(self, 2, Op::Cmp),
                (b'<', _) => op(self, 2, Op::Arith),
                (b'@', n) if !is_word_byte(n) && n != b'@' => op(self, 2, Op::Json),
                _ => op(self, 1, Op::Cmp),
            },
            b'>' => match c1 {
                b'=' => op(self, 2, Op::Cmp),
                b'>' => op(self, 2, Op::Arith),
                _ => op(self, 1, Op::Cmp),
            },
            b'=' => op(self, if c1 == b'=' { 2 } else { 1 }, Op::Cmp),
            b'!' => match (c1, self.at(2)) {
                (b'~', b'*') => op(self, 3, Op::Cmp),
                (b'=' | b'<' | b'>' | b'~', _) => op(self, 2, Op::Cmp),
                _ => op(self, 1, Op::Not),
            },
            b'|' if c1 == b'|' => op(self, 2, Op::Logic),
            b'&' if c1 == b'&' => op(self, 2, Op::Logic),
            b'-' if c1 == b'>' => op(self, if self.at(2) == b'>' { 3 } else { 2 }, Op::Json),
            b'?' => op(
                self,
                if matches!(c1, b'|' | b'&') { 2 } else { 1 },
                Op::Json,
            ),
            b'~' => op(self, if c1 == b'*' { 2 } else { 1 }, Op::Cmp),
            b'+' | b'-' => op(self, 1, Op::Sign),
            b'*' | b'/' | b'%' | b'^' | b'|' | b'&' => op(self, 1, Op::Arith),
            _ if is_word_byte(c) => Some(self.word(s)),
            _ => {
                // Anything else (`:`, `\`, control bytes) separates tokens and means nothing.
                self.i += 1;
                self.lex_token()
            }
        }
    }

    /// `--` or `#` comment to the end of the line.
    fn line_comment(&mut self, s: usize, marker: usize) -> Tok {
        let b = self.b;
        let from = s + marker;
        let end = memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |e| from + e);
        let empty = b[from..end].iter().all(|&x| !x.is_ascii_alphanumeric());
        self.i = end;
        self.tok(Kind::Comment, s, if empty { EMPTY } else { 0 })
    }

    fn word_end(&mut self) {
        while self.i < self.b.len() && is_word_byte(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn number(&mut self, s: usize) -> Tok {
        let b = self.b;
        if b[s] == b'0' && matches!(self.at(1), b'x' | b'X' | b'b' | b'B') {
            let hex = matches!(self.at(1), b'x' | b'X');
            let mut j = s + 2;
            while j < b.len()
                && (if hex {
                    b[j].is_ascii_hexdigit()
                } else {
                    matches!(b[j], b'0' | b'1')
                })
            {
                j += 1;
            }
            if j > s + 2 && (j == b.len() || !is_word_byte(b[j])) {
                self.i = j;
                return self.tok(Kind::Num, s, HEX);
            }
        }
        let mut j = s;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j < b.len() && b[j] == b'.' {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        if j < b.len() && matches!(b[j], b'e' | b'E') {
            let mut k = j + 1;
            if k < b.len() && matches!(b[k], b'+' | b'-') {
                k += 1;
            }
            if k < b.len() && b[k].is_ascii_digit() {
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                j = k;
            } else if k == j + 1 {
                // `1.e(`: MySQL reads `1.e` as a number.
                j = k;
            }
        }
        self.i = j;
        if j < b.len() && is_word_byte(b[j]) {
            // `1union`: a number glued to a keyword is two tokens; `64bit` is a word.
            let mut k = j;
            while k < b.len() && is_word_byte(b[k]) {
                k += 1;
            }
            let mut buf = [0u8; words::MAX_WORD];
            if let Some(w) = words::lower(&b[j..k], &mut buf)
                && let Some(kw) = words::keyword(w)
                && matches!(
                    kw,
                    Kw::And
                        | Kw::Or
                        | Kw::Xor
                        | Kw::Union
                        | Kw::Select
                        | Kw::From
                        | Kw::Like
                        | Kw::OrderBy
                        | Kw::Order
                        | Kw::Group
                        | Kw::Limit
                        | Kw::Having
                        | Kw::Where
                )
            {
                return self.tok(Kind::Num, s, 0);
            }
            self.i = k;
            return self.tok(Kind::Ident, s, 0);
        }
        self.tok(Kind::Num, s, 0)
    }

    /// A word: keyword, function (when `(` follows), or bareword.
    fn word(&mut self, s: usize) -> Tok {
        let b = self.b;
        let mut buf = [0u8; words::MAX_WORD];
        let mut n = 0usize;
        let mut long = false;
        loop {
            let ws = self.i;
            self.word_end();
            for &x in &b[ws..self.i] {
                if n < buf.len() {
                    buf[n] = x.to_ascii_lowercase();
                    n += 1;
                } else {
                    long = true;
                }
            }
            // Glue `un/**/ion` when the glued word is a keyword or function
            // (`UNION/**/SELECT` stays two words).
            if self.at(0) == b'/'
                && self.at(1) == b'*'
                && self.at(2) != b'!'
                && let Some(e) = find2(&b[self.i + 2..], b'*', b'/')
            {
                let after = self.i + 2 + e + 2;
                let mut k = after;
                while k < b.len() && is_word_byte(b[k]) {
                    k += 1;
                }
                if k > after && n + (k - after) <= buf.len() {
                    let mut joined = buf;
                    for (d, s) in joined[n..].iter_mut().zip(&b[after..k]) {
                        *d = s.to_ascii_lowercase();
                    }
                    let w = &joined[..n + (k - after)];
                    if words::keyword(w).is_some() || words::function(w).is_some() {
                        self.i = after;
                        continue;
                    }
                }
            }
            break;
        }
        // A one-letter prefix glued to a quote is a string literal: N'..', x'..', b'..', E'..'.
        if n == 1 && matches!(buf[0], b'n' | b'x' | b'b' | b'e') && matches!(self.at(0), b'\'') {
            self.i += 1;
            let closed = self.string_body(b'\'', true);
            return self.tok(Kind::Str, s, if closed { 0 } else { OPEN });
        }
        let w = &buf[..n];
        let end = self.i;
        // Is it called? Look past white space and comments for `(`.
        let called = match self.at(0) {
            b'(' => true,
            c if SPACE[c as usize] || matches!(c, 0xc2 | b'/' | b'*') => {
                let save = (self.i, self.versioned);
                self.skip_space();
                let called = self.at(0) == b'(';
                (self.i, self.versioned) = save;
                called
            }
            _ => false,
        };
        let mut t = self.tok(Kind::Ident, s, if b[s] >= 0x80 { PROSE } else { 0 });
        t.end = end as u32;
        if long {
            return t;
        }
        let info = words::lookup(w);
        if called {
            if let Some(f) = info.func {
                t.kind = Kind::Func(f);
                return t;
            }
            t.kind = match info.kw {
                Some(k) if !words::names_a_call(k) => Kind::Word(k),
                _ => Kind::Func(Fk::Unknown),
            };
            return t;
        }
        if let Some(k) = info.kw {
            t.kind = Kind::Word(k);
            return t;
        }
        if info.func.is_some() || info.sys {
            t.flags |= SQLNAME;
        }
        if self.after_cast && info.ty {
            t.flags |= TYPE;
        }
        t
    }
}

fn find2(h: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = memchr::memchr(a, &h[from..]) {
        let at = from + p;
        if h.get(at + 1) == Some(&b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Tokenizes `b` in `ctx`, calling `window` for each full window and for the
/// last one (with `first` set on the first call) until it returns `true`.
/// Returns `None` without calling `window` when a quoted context never breaks out.
pub(super) fn each_window(
    b: &[u8],
    ctx: Ctx,
    std_first: bool,
    toks: &mut Tokens,
    mut window: impl FnMut(&[Tok], bool) -> bool,
) -> Option<bool> {
    let mut lx = Lexer::new(b, ctx, std_first);
    toks.len = 0;
    let mut first = true;
    if let Ctx::Quoted(_) = ctx {
        match lx.next_token() {
            Some(t) if !t.has(OPEN) => toks.push(t),
            _ => return None,
        }
    }
    while let Some(t) = lx.next_token() {
        toks.push(t);
        if toks.is_full() {
            if window(toks.as_slice(), first) {
                return Some(true);
            }
            first = false;
            toks.shift();
        }
    }
    Some(window(toks.as_slice(), first))
}
