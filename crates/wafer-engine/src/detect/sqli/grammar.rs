//! The classifier: does a token sequence read as "a value, then SQL"?
//!
//! Two kinds of shape are looked for.
//!
//! * Anywhere in the value: `UNION [ALL] SELECT`, `;` followed by a
//!   well-formed statement (stacked query), a delay / error-based / file
//!   function called in expression position, `WAITFOR DELAY '..'`, and a
//!   logical operator followed by a comparison of two literals (`or 1=1`).
//! * At the breakout point, i.e. right after the string the value sat in
//!   (quoted contexts) or after the leading number (bare context): optional
//!   `)`s, then a condition (`or ...`), an expression (`|| ...`, `- ...`), a
//!   comment, `;`, a clause (`order by`, `group by`, `having`, `limit`,
//!   `procedure analyse`, `into outfile`, `as x from`), or a statement. What
//!   follows is parsed by a small SQL expression grammar which records what
//!   it saw (comparisons of literals, function classes, subqueries, casts)
//!   and whether the value ends where SQL could end (end of input, a
//!   comment, `;`, a further clause). The verdict weighs those features with
//!   the strength of the breakout.
//!
//! A value that is a complete statement on its own (`select * from users`),
//! or a call of an SQL function (`concat(`, `md5(password)::int`), is judged
//! by the same grammar, strictly: it must parse to its end.

use super::lex::{Ctx, EMPTY, FOREIGN, Kind, Op, PROSE, SQLNAME, TYPE, Tok};
use super::words::{Fk, Kw};

/// What was found, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Shape {
    Union,
    Stacked,
    Function,
    Condition,
    Statement,
    Clause,
    Expression,
    Truncation,
    Call,
    /// SQL syntax without a convincing breakout (paranoia 2).
    Fragment,
    /// A hint on its own: `1--`, `@@version`, `version()`.
    Hint,
}

impl Shape {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Shape::Union => "UNION SELECT",
            Shape::Stacked => "stacked statement after ';'",
            Shape::Function => "time-delay / error-based / file function",
            Shape::Condition => "breakout into a boolean condition",
            Shape::Statement => "the value is an SQL statement",
            Shape::Clause => "breakout into a query clause",
            Shape::Expression => "breakout into an SQL expression",
            Shape::Truncation => "breakout, then the query cut off",
            Shape::Call => "the value is an SQL function call or cast",
            Shape::Fragment => "SQL fragment",
            Shape::Hint => "SQL hint",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Found {
    pub(super) shape: Shape,
    /// Token index where the shape starts (for the explanation).
    pub(super) at: usize,
}

// Features the expression parser records.
const LITCMP: u32 = 1; // comparison of two literals (tautology or contradiction)
const CMP: u32 = 1 << 1; // any comparison
const DELAY: u32 = 1 << 2;
const ERROR: u32 = 1 << 3;
const FILE: u32 = 1 << 4;
const INFO: u32 = 1 << 5;
const BUILD: u32 = 1 << 6;
const COMMON: u32 = 1 << 7;
const UNKFN: u32 = 1 << 8;
const SUBQ: u32 = 1 << 9;
const SYSVAR: u32 = 1 << 10;
const CAST: u32 = 1 << 11; // `::type`
const JSON: u32 = 1 << 12;
const CASE: u32 = 1 << 13;
const LOGIC: u32 = 1 << 14;
const SYSOBJ: u32 = 1 << 15; // information_schema and friends
const DANGLING: u32 = 1 << 16; // an operator with nothing after it: `or name = `
const OPEN_CALL: u32 = 1 << 17; // a call whose `)` never comes: `concat(`
const TAUT: u32 = 1 << 18; // an equality of literals that holds: `1=1`, `'a'<>'b'`
const DANGER: u32 = DELAY | ERROR | FILE;
const SQLISH: u32 =
    CMP | INFO | BUILD | COMMON | UNKFN | SYSVAR | CAST | JSON | CASE | SYSOBJ | DANGER | SUBQ;

const MAX_DEPTH: u8 = 24;

/// A recursive-descent reader of SQL expressions over folded tokens.
struct P<'t> {
    t: &'t [Tok],
    src: &'t [u8],
    i: usize,
    depth: u8,
    f: u32,
    /// The last primary parsed was a literal (number, string, NULL, TRUE).
    lit: bool,
    /// Binary operators parsed.
    ops: u32,
}

impl<'t> P<'t> {
    fn at(t: &'t [Tok], src: &'t [u8], i: usize) -> P<'t> {
        P {
            t,
            src,
            i,
            depth: 0,
            f: 0,
            lit: false,
            ops: 0,
        }
    }

    fn peek(&self) -> Option<&'t Tok> {
        self.t.get(self.i)
    }

    fn peek_kind(&self) -> Option<Kind> {
        self.peek().map(|t| t.kind)
    }

    fn eat(&mut self, k: Kind) -> bool {
        if self.peek_kind() == Some(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn text(&self, i: usize) -> &'t [u8] {
        self.t
            .get(i)
            .map_or(&b""[..], |x| &self.src[x.start as usize..x.end as usize])
    }

    fn eat_kw(&mut self, k: Kw) -> bool {
        self.eat(Kind::Word(k))
    }

    /// `unary (binop unary)*`, with postfix predicates (IS, IN, BETWEEN, COLLATE).
    fn expr(&mut self) -> bool {
        if !self.unary() {
            return false;
        }
        self.tail();
        true
    }

    /// The binary-operator loop, after an operand.
    fn tail(&mut self) {
        while let Some(tk) = self.peek() {
            let save = self.i;
            let lhs_lit = self.lit;
            let mut cmp = false;
            let mut set = 0;
            match tk.kind {
                Kind::Op(Op::Cmp) | Kind::Word(Kw::Like | Kw::Sounds) => cmp = true,
                Kind::Op(Op::Json) => {
                    cmp = true;
                    set = JSON;
                }
                Kind::Op(Op::Logic) | Kind::Word(Kw::And | Kw::Or | Kw::Xor) => set = LOGIC,
                Kind::Op(Op::Arith | Op::Sign | Op::Assign) | Kind::Word(Kw::ArithWord) => {}
                Kind::Word(Kw::Is) => {
                    self.i += 1;
                    self.eat_kw(Kw::Not);
                    if self.unary() {
                        self.f |= CMP;
                        self.ops += 1;
                        continue;
                    }
                    self.i = save;
                    return;
                }
                Kind::Word(Kw::NullTest) => {
                    self.i += 1;
                    self.f |= CMP;
                    self.ops += 1;
                    continue;
                }
                Kind::Word(Kw::In) => {
                    self.i += 1;
                    if self.peek_kind() == Some(Kind::LParen) && self.primary() {
                        self.f |= CMP;
                        self.ops += 1;
                        continue;
                    }
                    self.i = save;
                    return;
                }
                Kind::Word(Kw::Between) => {
                    self.i += 1;
                    if self.unary() && self.eat_kw(Kw::And) && self.unary() {
                        self.f |= CMP;
                        self.ops += 1;
                        continue;
                    }
                    self.i = save;
                    return;
                }
                Kind::Word(Kw::Collate) => {
                    self.i += 1;
                    if matches!(self.peek_kind(), Some(Kind::Ident | Kind::Str)) {
                        self.i += 1;
                        self.ops += 1;
                        continue;
                    }
                    self.i = save;
                    return;
                }
                Kind::Word(Kw::Escape) => {}
                _ => return,
            }
            self.i += 1;
            if !self.unary() {
                if cmp && self.i >= self.t.len() {
                    self.f |= DANGLING;
                }
                self.i = save;
                return;
            }
            self.ops += 1;
            self.f |= set;
            if cmp {
                self.f |= CMP;
                if lhs_lit && self.lit {
                    self.f |= LITCMP;
                    // `save` can be 0 (the comparison opens the value): no left operand then.
                    let lhs = save.checked_sub(1).map_or(&b""[..], |j| self.text(j));
                    if holds(self.text(save), lhs, self.text(self.i - 1)) {
                        self.f |= TAUT;
                    }
                }
            }
        }
    }

    /// Prefix operators, a primary, postfix casts.
    fn unary(&mut self) -> bool {
        while let Some(k) = self.peek_kind() {
            match k {
                Kind::Word(Kw::Not) | Kind::Op(Op::Not | Op::Sign) => self.i += 1,
                _ => break,
            }
        }
        if !self.primary() {
            return false;
        }
        while self.peek_kind() == Some(Kind::Op(Op::Cast)) {
            self.i += 1;
            match self.peek() {
                Some(t) if t.is(Kind::Ident) || t.kw().is_some() => {
                    if t.has(TYPE) {
                        self.f |= CAST;
                    }
                    self.i += 1;
                    // `double precision`
                    if self.peek_kind() == Some(Kind::Ident) && self.t[self.i - 1].has(TYPE) {
                        self.i += 1;
                    }
                }
                _ => break,
            }
            self.lit = false;
        }
        true
    }

    fn primary(&mut self) -> bool {
        let Some(tk) = self.peek() else {
            return false;
        };
        self.lit = false;
        match tk.kind {
            Kind::Num | Kind::Str | Kind::Word(Kw::Null | Kw::True) => {
                self.i += 1;
                self.lit = true;
            }
            Kind::Var => self.i += 1,
            Kind::SysVar => {
                self.i += 1;
                self.f |= SYSVAR;
            }
            Kind::Ident => {
                self.i += 1;
                if tk.has(SQLNAME) {
                    self.f |= SYSOBJ;
                }
            }
            Kind::Func(fk) => {
                self.i += 1;
                self.f |= if tk.has(FOREIGN) {
                    UNKFN
                } else {
                    match fk {
                        Fk::Delay => DELAY,
                        Fk::Error => ERROR,
                        Fk::File => FILE,
                        Fk::Info => INFO,
                        Fk::Build => BUILD,
                        Fk::Common => COMMON,
                        Fk::Unknown => UNKFN,
                    }
                };
                if self.eat(Kind::LParen) {
                    self.args();
                }
                self.lit = false;
            }
            Kind::LParen => {
                self.i += 1;
                self.group();
            }
            Kind::Word(Kw::Exists) => {
                self.i += 1;
                if self.eat(Kind::LParen) {
                    self.group();
                }
            }
            Kind::Word(Kw::Case) => {
                self.i += 1;
                self.f |= CASE;
                let limit = (self.i + 64).min(self.t.len());
                while self.i < limit && !self.eat_kw(Kw::End) {
                    if !self.expr() {
                        self.i += 1;
                    }
                }
            }
            _ => return false,
        }
        true
    }

    /// After `(`: a subquery or an expression list, to the matching `)` (or the end).
    fn group(&mut self) {
        if self.depth >= MAX_DEPTH {
            self.i = self.t.len();
            return;
        }
        self.depth += 1;
        let lit = if self.peek_kind() == Some(Kind::Word(Kw::Select)) {
            self.select();
            self.f |= SUBQ;
            false
        } else {
            let mut n = 0;
            let mut lit = true;
            while self.expr() {
                lit &= self.lit;
                n += 1;
                if !self.eat(Kind::Comma) {
                    break;
                }
            }
            lit && n == 1
        };
        self.close();
        self.depth -= 1;
        self.lit = lit;
    }

    /// Function arguments after `(`, tolerant of keyword arguments (`AS`, `FROM`, `USING`).
    fn args(&mut self) {
        if self.depth >= MAX_DEPTH {
            self.i = self.t.len();
            return;
        }
        self.depth += 1;
        loop {
            match self.peek_kind() {
                None => {
                    self.f |= OPEN_CALL;
                    break;
                }
                Some(Kind::RParen) => {
                    self.i += 1;
                    break;
                }
                Some(Kind::Word(Kw::Select)) => {
                    self.select();
                    self.f |= SUBQ;
                }
                Some(
                    Kind::Comma
                    | Kind::Op(Op::Arith)
                    | Kind::Word(Kw::As | Kw::From | Kw::For | Kw::In | Kw::Dir | Kw::All),
                ) => self.i += 1,
                _ => {
                    if !self.expr() {
                        // Tolerate what the grammar does not know, inside the parentheses.
                        self.i += 1;
                    }
                }
            }
        }
        self.depth -= 1;
    }

    /// Skips to the `)` closing the current group (tolerantly).
    fn close(&mut self) {
        let mut depth = 0u32;
        while let Some(k) = self.peek_kind() {
            self.i += 1;
            match k {
                Kind::LParen => depth += 1,
                Kind::RParen if depth == 0 => return,
                Kind::RParen => depth -= 1,
                _ => {}
            }
        }
    }

    /// `SELECT ...` at `self.i`; returns whether it carries SQL evidence beyond
    /// a bare word list (`*`, literals, functions, several columns, a WHERE).
    fn select(&mut self) -> bool {
        self.select_info().strong
    }

    /// [`P::select`], with what made it strong.
    fn select_info(&mut self) -> Select {
        self.i += 1; // SELECT (ALL/DISTINCT folded)
        let mut strong = false;
        let mut star = false;
        let mut prose = false;
        if self.eat_kw(Kw::Top) {
            self.eat(Kind::Num);
        }
        let f0 = self.f;
        let mut items = 0;
        loop {
            if self.eat(Kind::Op(Op::Arith)) {
                strong = true; // `*`
                star = true;
            } else {
                let at = self.i;
                if !self.expr() {
                    break;
                }
                // Words in other scripts are prose, not column names.
                prose |= self.t[at].is(Kind::Ident) && self.t[at].has(PROSE);
                if self.i - at > 1 || !self.t[at].is(Kind::Ident) || self.t[at].has(SQLNAME) {
                    strong = true;
                }
            }
            items += 1;
            if self.eat_kw(Kw::As) {
                if !self.eat(Kind::Ident) {
                    self.eat(Kind::Str);
                }
            } else if matches!(self.peek_kind(), Some(Kind::Ident | Kind::Str)) {
                self.i += 1;
            }
            if !self.eat(Kind::Comma) {
                break;
            }
        }
        if items == 0 {
            return Select::default();
        }
        if items > 1 || self.f & (SQLISH & !CMP) != f0 & (SQLISH & !CMP) {
            strong = true;
        }
        let mut from = false;
        loop {
            match self.peek_kind() {
                Some(Kind::Word(Kw::Into)) => {
                    self.i += 1;
                    if self.eat_kw(Kw::Outfile) {
                        strong = true;
                    }
                    self.expr();
                }
                Some(Kind::Word(Kw::From)) => {
                    self.i += 1;
                    from = true;
                    loop {
                        if self.peek_kind() == Some(Kind::LParen) {
                            self.primary();
                        } else if let Some(t) = self.peek()
                            && (t.is(Kind::Ident) || t.kw() == Some(Kw::Object))
                        {
                            if t.has(SQLNAME) {
                                strong = true;
                            }
                            self.i += 1;
                        } else {
                            break;
                        }
                        self.eat_kw(Kw::As);
                        self.eat(Kind::Ident);
                        if !self.eat(Kind::Comma) {
                            break;
                        }
                    }
                }
                Some(Kind::Word(Kw::Join)) => {
                    self.i += 1;
                    self.eat(Kind::Ident);
                }
                Some(Kind::Word(Kw::Where | Kw::Having | Kw::On)) => {
                    self.i += 1;
                    if self.expr() && from {
                        strong = true;
                    }
                }
                Some(Kind::Word(Kw::OrderBy | Kw::GroupBy)) => {
                    self.i += 1;
                    while self.expr() {
                        self.eat_kw(Kw::Dir);
                        if !self.eat(Kind::Comma) {
                            break;
                        }
                    }
                    if from {
                        strong = true;
                    }
                }
                Some(Kind::Word(Kw::Limit)) => {
                    self.i += 1;
                    if self.eat(Kind::Num) {
                        strong |= from;
                        if self.eat(Kind::Comma) || self.eat_kw(Kw::Offset) {
                            self.eat(Kind::Num);
                        }
                    }
                }
                Some(Kind::Word(Kw::Procedure)) => {
                    self.i += 1;
                    strong = true;
                    self.expr();
                }
                Some(Kind::Word(Kw::For)) => {
                    self.i += 1;
                    self.eat(Kind::Ident);
                    self.eat(Kind::Func(Fk::Unknown));
                }
                Some(Kind::Word(Kw::Union))
                    if self.t.get(self.i + 1).map(|t| t.kind) == Some(Kind::Word(Kw::Select)) =>
                {
                    self.i += 1;
                    self.select();
                    strong = true;
                }
                _ => break,
            }
        }
        Select {
            strong: strong && !prose,
            from,
            star,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Select {
    strong: bool,
    from: bool,
    star: bool,
}

/// Whether `a OP b` on two literal tokens holds, for the equality operators
/// (`=`, `==`, `<=>`, `LIKE`, `!=`, `<>`): numbers by value, strings by text.
fn holds(op: &[u8], a: &[u8], b: &[u8]) -> bool {
    let eq = match op {
        b"=" | b"==" | b"<=>" => true,
        b"!=" | b"<>" => false,
        _ if op.eq_ignore_ascii_case(b"like") => true,
        _ => return false,
    };
    let unquote = |x: &[u8]| -> Vec<u8> {
        let x = match x.first() {
            Some(b'\'' | b'"') => &x[1..],
            _ => x,
        };
        let x = match x.last() {
            Some(b'\'' | b'"') => &x[..x.len() - 1],
            _ => x,
        };
        x.to_ascii_lowercase()
    };
    let (a, b) = (unquote(a), unquote(b));
    let num = |x: &[u8]| std::str::from_utf8(x).ok()?.trim().parse::<f64>().ok();
    let same = match (num(&a), num(&b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    };
    same == eq
}

/// How the token stream continues at `i` when an expression has ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    /// Nothing follows (the application's own closing quote or paren may).
    Eof,
    /// A comment cuts off the rest of the query.
    Comment,
    /// `;`.
    Semi,
    /// Another clause: UNION, ORDER BY, GROUP BY, LIMIT, HAVING, INTO, PROCEDURE.
    Clause,
}

fn end_at(t: &[Tok], mut i: usize) -> Option<End> {
    while i < t.len() && t[i].is(Kind::RParen) {
        i += 1;
    }
    let Some(tk) = t.get(i) else {
        return Some(End::Eof);
    };
    match tk.kind {
        Kind::Comment => Some(End::Comment),
        Kind::Semi => Some(End::Semi),
        Kind::Word(
            Kw::Union
            | Kw::OrderBy
            | Kw::GroupBy
            | Kw::Limit
            | Kw::Having
            | Kw::Into
            | Kw::Procedure
            | Kw::Offset,
        ) => Some(End::Clause),
        _ => None,
    }
}

/// How convincing the start of the value is as a breakout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Breakout {
    /// A string closed by the value, or a leading number.
    Strong,
    /// The value starts with an operator or keyword (appended to a condition).
    Medium,
}

/// Classifies one window of tokens.
pub(super) fn classify(t: &[Tok], src: &[u8], ctx: Ctx, first: bool) -> Option<Found> {
    let a = anywhere(t, src);
    if a.is_some_and(|b| b.shape == Shape::Union) || !first {
        return a;
    }
    match (a, anchored(t, src, ctx)) {
        (Some(x), Some(y)) => Some(if y.shape < x.shape { y } else { x }),
        (x, y) => x.or(y),
    }
}

fn found(shape: Shape, at: usize) -> Option<Found> {
    Some(Found { shape, at })
}

/// Shapes that are SQL wherever they sit.
fn anywhere(t: &[Tok], src: &[u8]) -> Option<Found> {
    let mut best: Option<Found> = None;
    for i in 0..t.len() {
        let f = match t[i].kind {
            Kind::Word(Kw::Union) => {
                let mut j = i + 1;
                while j < t.len() && t[j].is(Kind::LParen) {
                    j += 1;
                }
                if t.get(j).and_then(Tok::kw) == Some(Kw::Select) {
                    // `union select 1,2`, `union select a from b`, `union select x--`,
                    // a bare `union select`; not "the union select committee met".
                    let mut p = P::at(t, src, j);
                    let sel = p.select_info();
                    if sel.strong
                        || sel.from
                        || j + 1 == t.len()
                        || matches!(end_at(t, p.i), Some(End::Comment | End::Semi))
                    {
                        return found(Shape::Union, i);
                    }
                }
                None
            }
            Kind::Semi => match statement(t, src, i + 1) {
                Some(_) => found(Shape::Stacked, i),
                // `;drop`, `;update users` at the very end: a statement cut short.
                None if t.len() <= i + 3
                    && t.get(i + 1)
                        .and_then(Tok::kw)
                        .is_some_and(is_statement_word) =>
                {
                    found(Shape::Fragment, i)
                }
                None => None,
            },
            Kind::Func(Fk::Delay | Fk::Error | Fk::File) if !t[i].has(FOREIGN) => danger_call(t, i)
                .then_some(Found {
                    shape: Shape::Function,
                    at: i,
                }),
            Kind::Word(Kw::Waitfor)
                if t.get(i + 1).and_then(Tok::kw) == Some(Kw::Delay)
                    && t.get(i + 2).is_some_and(|x| x.is(Kind::Str)) =>
            {
                found(Shape::Function, i)
            }
            Kind::Op(Op::Logic) | Kind::Word(Kw::And | Kw::Or | Kw::Xor) => {
                let mut p = P::at(t, src, i + 1);
                if p.unary() {
                    let lit = p.lit;
                    let save = p.f;
                    p.tail();
                    // The first comparison after the operator is between literals.
                    if lit && p.f & LITCMP != 0 && save & LITCMP == 0 && p.ops >= 1 {
                        found(Shape::Condition, i)
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            Kind::SysVar => found(Shape::Hint, i),
            Kind::Func(Fk::Info)
                if !t[i].has(FOREIGN)
                    && t.get(i + 1).is_some_and(|x| x.is(Kind::LParen))
                    && t.get(i + 2).is_some_and(|x| x.is(Kind::RParen)) =>
            {
                found(Shape::Hint, i)
            }
            _ => None,
        };
        if let Some(f) = f
            && best.is_none_or(|b| f.shape < b.shape)
        {
            best = Some(f);
        }
    }
    best
}

/// A delay / error / file function at `i` in expression position, with arguments.
fn danger_call(t: &[Tok], i: usize) -> bool {
    let prev_ok = i == 0
        || match t[i - 1].kind {
            Kind::LParen
            | Kind::Comma
            | Kind::Semi
            | Kind::Op(_)
            | Kind::Comment
            | Kind::Str
            | Kind::RParen => true,
            Kind::Word(k) => matches!(
                k,
                Kw::And
                    | Kw::Or
                    | Kw::Xor
                    | Kw::Not
                    | Kw::Select
                    | Kw::Where
                    | Kw::Having
                    | Kw::Then
                    | Kw::Else
                    | Kw::When
                    | Kw::On
                    | Kw::If
                    | Kw::Like
                    | Kw::In
                    | Kw::Union
                    | Kw::Exec
                    | Kw::Call
                    | Kw::From
                    | Kw::Values
                    | Kw::OrderBy
                    | Kw::GroupBy
                    | Kw::Case
                    | Kw::Is
                    | Kw::Between
            ),
            _ => false,
        };
    if !prev_ok || !t.get(i + 1).is_some_and(|x| x.is(Kind::LParen)) {
        return false;
    }
    // The first argument must be a value, not a word or nothing at all.
    match t.get(i + 2).map(|x| x.kind) {
        Some(Kind::Num | Kind::Str | Kind::Func(_) | Kind::LParen | Kind::Var | Kind::SysVar) => {
            true
        }
        Some(Kind::Word(Kw::Select | Kw::Null | Kw::True | Kw::Case | Kw::Not)) => true,
        Some(Kind::Op(Op::Sign)) => true,
        Some(Kind::Ident) => !matches!(t[i].kind, Kind::Func(Fk::Delay)),
        Some(Kind::RParen) => matches!(t[i].kind, Kind::Func(Fk::Error | Fk::File)),
        _ => false,
    }
}

/// A well-formed statement starting at `j`: `Some(true)` when its form is
/// unmistakable (`insert into x values`, `exec xp_..`, `waitfor delay '..'`),
/// `Some(false)` when it is grammatical but could be prose (`drop table legs`).
fn statement(t: &[Tok], src: &[u8], j: usize) -> Option<bool> {
    let k = |n: usize| t.get(j + n).map(|x| x.kind);
    let kw = |n: usize| t.get(j + n).and_then(Tok::kw);
    let text = |n: usize| {
        t.get(j + n)
            .map_or(&b""[..], |x| &src[x.start as usize..x.end as usize])
    };
    let ends = |n: usize| matches!(k(n), None | Some(Kind::Semi | Kind::Comment));
    match kw(0)? {
        Kw::Select => {
            let mut p = P::at(t, src, j);
            let strong = p.select();
            (strong && end_at(t, p.i).is_some()).then_some(true)
        }
        Kw::Drop | Kw::Create | Kw::Alter => match (kw(1), k(2)) {
            // `create table t (`, `alter table t change|add|drop|modify ..`: DDL, not prose.
            (Some(Kw::Object), Some(Kind::Ident))
                if (kw(0) == Some(Kw::Create) && k(3) == Some(Kind::LParen))
                    || (kw(0) == Some(Kw::Alter)
                        && [&b"add"[..], b"change", b"modify", b"drop", b"rename"]
                            .iter()
                            .any(|w| text(3).eq_ignore_ascii_case(w))) =>
            {
                Some(true)
            }
            (Some(Kw::Object), Some(Kind::Func(_))) if kw(0) == Some(Kw::Create) => Some(true),
            (Some(Kw::Object), Some(Kind::Ident | Kind::Word(_))) => Some(false),
            (Some(Kw::Or), _) if kw(2) == Some(Kw::Replace) => Some(true),
            (Some(Kw::Object), None) if kw(0) == Some(Kw::Drop) => Some(false),
            _ => None,
        },
        Kw::Truncate => {
            let n = if kw(1) == Some(Kw::Object) { 2 } else { 1 };
            (k(n) == Some(Kind::Ident) && ends(n + 1)).then_some(false)
        }
        Kw::Insert | Kw::Replace => {
            let n = if kw(1) == Some(Kw::Into) { 2 } else { 1 };
            match (k(n), kw(n + 1)) {
                (Some(Kind::Ident | Kind::Func(_)), Some(Kw::Values | Kw::Select | Kw::Set)) => {
                    Some(true)
                }
                (Some(Kind::Func(_)), _) if n == 2 => Some(true),
                (Some(Kind::Ident), None) if n == 2 && t.get(j + n + 1).is_some() => Some(true),
                _ => None,
            }
        }
        Kw::Update => match (k(1), kw(2)) {
            (Some(Kind::Ident), Some(Kw::Set)) => Some(true),
            _ => None,
        },
        Kw::Delete => match (kw(1), k(2)) {
            (Some(Kw::From), Some(Kind::Ident)) => Some(kw(3) == Some(Kw::Where)),
            _ => None,
        },
        Kw::Exec => match k(1)? {
            Kind::Ident | Kind::Func(_) => {
                let name = text(1);
                let lower =
                    |p: &[u8]| name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p);
                if lower(b"xp_")
                    || lower(b"sp_")
                    || lower(b"master.")
                    || t[j + 1].has(SQLNAME)
                    || matches!(k(1), Some(Kind::Func(Fk::File)))
                {
                    Some(true)
                } else if ends(2) || matches!(k(2), Some(Kind::Str | Kind::Var | Kind::Num)) {
                    Some(false)
                } else {
                    None
                }
            }
            Kind::Var | Kind::LParen => Some(true),
            Kind::Word(Kw::Immediate) => Some(true),
            _ => None,
        },
        Kw::Declare => (k(1) == Some(Kind::Var) && text(1).len() > 1).then_some(true),
        Kw::Set => match (k(1), k(2)) {
            (Some(Kind::Var | Kind::SysVar), _) if text(1).len() > 1 => Some(true),
            (Some(Kind::Ident), Some(Kind::Op(Op::Cmp | Op::Assign))) => Some(false),
            (Some(Kind::Word(Kw::ShowWhat)), Some(Kind::Ident | Kind::SysVar | Kind::Var)) => {
                Some(false)
            }
            _ => None,
        },
        Kw::Prepare => (k(1) == Some(Kind::Ident) && kw(2) == Some(Kw::From)).then_some(true),
        Kw::Deallocate => (kw(1) == Some(Kw::Prepare)).then_some(true),
        Kw::Show => match kw(1) {
            Some(Kw::ShowWhat | Kw::Object | Kw::Create) => Some(false),
            _ => None,
        },
        Kw::Shutdown => (ends(1) || k(1) == Some(Kind::Ident)).then_some(false),
        Kw::Waitfor => (kw(1) == Some(Kw::Delay) && k(2) == Some(Kind::Str)).then_some(true),
        Kw::Grant => {
            let limit = (j + 8).min(t.len());
            (j + 1..limit)
                .any(|x| t[x].kw() == Some(Kw::On))
                .then_some(false)
        }
        Kw::Call => matches!(k(1), Some(Kind::Func(_))).then_some(false),
        Kw::Load => (text(1).eq_ignore_ascii_case(b"data") || text(1).eq_ignore_ascii_case(b"xml"))
            .then_some(true),
        Kw::Kill => (k(1) == Some(Kind::Num)).then_some(false),
        Kw::Use => (k(1) == Some(Kind::Ident) && ends(2)).then_some(false),
        Kw::Backup | Kw::Attach | Kw::Rename => (kw(1) == Some(Kw::Object)).then_some(false),
        Kw::Lock => (kw(1) == Some(Kw::Object)).then_some(false),
        Kw::Dbcc | Kw::Pragma | Kw::Handler => {
            (k(1) == Some(Kind::Ident) || matches!(k(1), Some(Kind::Func(_)))).then_some(false)
        }
        Kw::Bulk => (kw(1) == Some(Kw::Insert)).then_some(true),
        Kw::Copy => match (k(1), kw(2)) {
            (Some(Kind::Ident | Kind::LParen), Some(Kw::From)) => Some(true),
            (Some(Kind::Ident), _) if text(2).eq_ignore_ascii_case(b"to") => Some(true),
            _ => None,
        },
        Kw::Merge => (kw(1) == Some(Kw::Into)).then_some(false),
        _ => None,
    }
}

/// Shapes at the start of the value: a breakout and what follows it.
fn anchored(t: &[Tok], src: &[u8], ctx: Ctx) -> Option<Found> {
    let first = t.first()?;
    let (p, strength) = match ctx {
        Ctx::Quoted(_) => (1, Breakout::Strong),
        Ctx::Bare => match first.kind {
            Kind::Num | Kind::Word(Kw::Null | Kw::True) => {
                let mut pr = P::at(t, src, 0);
                pr.unary();
                if pr.f & CAST != 0 {
                    return found(Shape::Call, 0);
                }
                (pr.i, Breakout::Strong)
            }
            Kind::Str => (1, Breakout::Medium),
            Kind::Func(_) | Kind::Ident | Kind::SysVar => return whole_call(t, src),
            Kind::Word(Kw::Select) => return whole_select(t, src),
            Kind::Word(_) if statement(t, src, 0).is_some() => {
                return match statement(t, src, 0) {
                    Some(true) => found(Shape::Statement, 0),
                    // Grammatical but possibly prose (`drop table legs`): paranoia 2.
                    _ if end_at(t, statement_len(t)).is_some() => found(Shape::Fragment, 0),
                    _ => None,
                };
            }
            Kind::RParen
            | Kind::Op(Op::Logic)
            | Kind::Word(
                Kw::And
                | Kw::Or
                | Kw::Xor
                | Kw::Like
                | Kw::Is
                | Kw::In
                | Kw::Between
                | Kw::NullTest
                | Kw::Collate
                | Kw::OrderBy
                | Kw::GroupBy
                | Kw::Having
                | Kw::Limit
                | Kw::Procedure
                | Kw::Into
                | Kw::When
                | Kw::As,
            )
            | Kind::Semi => (0, Breakout::Medium),
            _ => return None,
        },
    };
    let mut q = p;
    let mut closers = 0;
    while q < t.len() && t[q].is(Kind::RParen) {
        q += 1;
        closers += 1;
    }
    continuation(t, src, ctx, q, strength, closers)
}

/// A crude length for a statement matched at 0: up to the first `;`/comment.
fn statement_len(t: &[Tok]) -> usize {
    t.iter()
        .position(|x| matches!(x.kind, Kind::Semi | Kind::Comment))
        .unwrap_or(t.len())
}

fn continuation(
    t: &[Tok],
    src: &[u8],
    ctx: Ctx,
    q: usize,
    strength: Breakout,
    closers: usize,
) -> Option<Found> {
    let strong = strength == Breakout::Strong;
    let quoted = matches!(ctx, Ctx::Quoted(_));
    let tk = t.get(q)?;
    let by_strength = |s: Shape| if strong { s } else { Shape::Fragment };
    match tk.kind {
        Kind::Comment => {
            if quoted || (strong && closers > 0) {
                found(Shape::Truncation, q)
            } else if tk.has(EMPTY) && (strong || closers > 0) {
                found(Shape::Hint, q)
            } else {
                None
            }
        }
        Kind::Semi => match statement(t, src, q + 1) {
            Some(_) => found(Shape::Stacked, q),
            None => match t.get(q + 1).map(|x| x.kind) {
                Some(Kind::Comment) if quoted || closers > 0 => found(Shape::Truncation, q),
                None if quoted => found(Shape::Hint, q),
                _ => None,
            },
        },
        Kind::Op(Op::Logic) | Kind::Word(Kw::And | Kw::Or | Kw::Xor) => {
            condition(t, src, q, strength, quoted)
        }
        Kind::Op(Op::Cast) => {
            let mut p = P::at(t, src, q - 1);
            p.unary();
            (p.f & CAST != 0).then_some(Found {
                shape: by_strength(Shape::Call),
                at: q,
            })
        }
        Kind::Op(_)
        | Kind::Word(
            Kw::Like
            | Kw::Sounds
            | Kw::Is
            | Kw::In
            | Kw::Between
            | Kw::ArithWord
            | Kw::Collate
            | Kw::NullTest,
        ) => expression(t, src, q, strength, quoted),
        Kind::Word(Kw::OrderBy | Kw::GroupBy) => {
            let mut p = P::at(t, src, q + 1);
            let mut all_num = true;
            let mut n = 0;
            while let Some(x) = p.peek() {
                let at = p.i;
                if !p.expr() {
                    break;
                }
                all_num &= x.is(Kind::Num) && p.i == at + 1;
                n += 1;
                p.eat_kw(Kw::Dir);
                if !p.eat(Kind::Comma) {
                    break;
                }
            }
            let end = end_at(t, p.i);
            match end {
                _ if n == 0 => None,
                Some(End::Comment | End::Semi) => found(by_strength(Shape::Clause), q),
                Some(_) if all_num => found(by_strength(Shape::Clause), q),
                Some(_) if strong => found(Shape::Fragment, q),
                _ => None,
            }
        }
        Kind::Word(Kw::Having) => {
            let mut p = P::at(t, src, q + 1);
            (p.expr() && p.f & CMP != 0 && end_at(t, p.i).is_some()).then_some(Found {
                shape: by_strength(Shape::Clause),
                at: q,
            })
        }
        Kind::Word(Kw::Limit) => {
            let mut p = P::at(t, src, q + 1);
            if !p.eat(Kind::Num) {
                return None;
            }
            if p.eat(Kind::Comma) || p.eat_kw(Kw::Offset) {
                p.eat(Kind::Num);
            }
            match end_at(t, p.i)? {
                End::Comment | End::Semi => found(by_strength(Shape::Clause), q),
                _ if strong => found(Shape::Fragment, q),
                _ => None,
            }
        }
        Kind::Word(Kw::When) => {
            // `) when 234 then`: inside a CASE expression.
            let mut p = P::at(t, src, q + 1);
            (p.expr() && p.eat_kw(Kw::Then)).then_some(Found {
                shape: by_strength(Shape::Clause),
                at: q,
            })
        }
        Kind::Word(Kw::Procedure) if t.get(q + 1).and_then(Tok::kw) == Some(Kw::Analyse) => {
            found(Shape::Clause, q)
        }
        Kind::Word(Kw::Into) if t.get(q + 1).and_then(Tok::kw) == Some(Kw::Outfile) => {
            found(Shape::Clause, q)
        }
        Kind::Word(Kw::As) => {
            // `1 AS "x" FROM t`, `` ` AS `col` from ``: the end of a select list.
            let alias = t.get(q + 1).is_some_and(|x| {
                matches!(
                    x.kind,
                    Kind::Ident | Kind::Str | Kind::Word(Kw::Object | Kw::ShowWhat | Kw::Delay)
                )
            });
            let from = t.get(q + 2).and_then(Tok::kw) == Some(Kw::From);
            (alias && from && (strong || quoted || closers > 0)).then_some(Found {
                shape: if strong || quoted {
                    Shape::Clause
                } else {
                    Shape::Fragment
                },
                at: q,
            })
        }
        Kind::Word(Kw::From) if quoted || closers > 0 => {
            // `') from users--`
            let table = t.get(q + 1).is_some_and(|x| x.is(Kind::Ident));
            (table && end_at(t, q + 2).is_some_and(|e| e != End::Eof)).then_some(Found {
                shape: Shape::Clause,
                at: q,
            })
        }
        Kind::Word(_) if strong => match statement(t, src, q) {
            Some(_) => found(Shape::Stacked, q),
            // `'union a`, `' alter/`: a breakout into a statement keyword, cut short.
            None if quoted && t[q].kw().is_some_and(is_statement_word) && t.len() <= q + 2 => {
                found(Shape::Fragment, q)
            }
            None => None,
        },
        _ => None,
    }
}

fn is_statement_word(k: Kw) -> bool {
    matches!(
        k,
        Kw::Union
            | Kw::Select
            | Kw::Drop
            | Kw::Create
            | Kw::Alter
            | Kw::Truncate
            | Kw::Insert
            | Kw::Update
            | Kw::Delete
            | Kw::Exec
            | Kw::Declare
            | Kw::Shutdown
            | Kw::Waitfor
    )
}

/// `or ...` / `and ...` after the breakout.
fn condition(t: &[Tok], src: &[u8], q: usize, strength: Breakout, quoted: bool) -> Option<Found> {
    let strong = strength == Breakout::Strong;
    let mut p = P::at(t, src, q + 1);
    if !p.unary() {
        return None;
    }
    // A bare number or TRUE/NULL (not a string: `"a" or "b"` is a search query).
    let bare_lit = p.lit && !t[p.i - 1].is(Kind::Str);
    let before = p.ops;
    p.tail();
    let f = p.f;
    let alone = p.ops == before;
    let end = end_at(t, p.i);
    let shape = if f & (LITCMP | DANGER | SUBQ) != 0 {
        Some(Shape::Condition)
    } else if end.is_some() && alone && bare_lit {
        // `1 or true`, `' or 1--`
        Some(if strong {
            Shape::Condition
        } else {
            Shape::Fragment
        })
    } else if end.is_some() && f & SQLISH != 0 {
        Some(if strong {
            Shape::Condition
        } else {
            Shape::Fragment
        })
    } else if quoted && end.is_some_and(|e| e != End::Eof) {
        // `' or x--`
        Some(Shape::Truncation)
    } else if f & (CMP | CAST | JSON | DANGLING) != 0 || quoted {
        // `and code != "`, `xor 2 <`, `' or homer 9`
        Some(Shape::Fragment)
    } else {
        None
    };
    shape.map(|shape| Found { shape, at: q })
}

/// An operator other than AND/OR right after the breakout: `'||(select..)`,
/// `1-sleep(5)`, `x'<email--`, `1*1--`.
fn expression(t: &[Tok], src: &[u8], q: usize, strength: Breakout, quoted: bool) -> Option<Found> {
    let strong = strength == Breakout::Strong;
    let mut p = P::at(t, src, q);
    p.lit = true; // the breakout operand
    p.tail();
    if p.ops == 0 {
        return None;
    }
    let f = p.f;
    let end = end_at(t, p.i);
    let shape = if f & (DANGER | SUBQ) != 0 {
        Shape::Expression
    } else if f & LOGIC != 0 && f & LITCMP != 0 {
        Shape::Condition
    } else if end == Some(End::Comment) {
        if quoted || (strong && t.get(p.i).is_some_and(|c| c.has(EMPTY))) {
            Shape::Truncation
        } else {
            return None;
        }
    } else if end.is_some() && f & (SQLISH & !CMP) != 0 {
        if strong {
            Shape::Expression
        } else {
            Shape::Fragment
        }
    } else if end.is_some() && (f & TAUT != 0 || (!strong && f & CMP != 0 && t[0].kw().is_some())) {
        // `1=1`, `42 like 42`, `'x'!='y` (comparisons that hold), `in (0,1)`, `is null`.
        Shape::Fragment
    } else {
        return None;
    };
    found(shape, q)
}

/// The whole value is a function call (or a name with a cast): `concat(`, `md5(password)::int`.
fn whole_call(t: &[Tok], src: &[u8]) -> Option<Found> {
    let mut p = P::at(t, src, 0);
    if !p.expr() {
        return None;
    }
    let end = end_at(t, p.i)?;
    if end == End::Clause {
        return None;
    }
    let f = p.f;
    let shape =
        if f & CAST != 0 || f & DANGER != 0 || (f & (BUILD | INFO) != 0 && t[0].is_func_named()) {
            Shape::Call
        } else if f & COMMON != 0 && t[0].is_func_named() {
            // `round(` cut off is a probe; `round(2.5)` may be CSS or a formula.
            if f & OPEN_CALL != 0 && p.ops == 0 {
                Shape::Call
            } else {
                Shape::Fragment
            }
        } else if f & SYSVAR != 0 && t[0].is(Kind::SysVar) {
            Shape::Hint
        } else {
            return None;
        };
    found(shape, 0)
}

/// The whole value is a SELECT with SQL evidence, parsed to its end. A plain
/// `select 1 from a` is someone asking about SQL (paranoia 2); a star, a
/// function of interest, a system object or a terminator make it an attack.
fn whole_select(t: &[Tok], src: &[u8]) -> Option<Found> {
    let mut p = P::at(t, src, 0);
    let sel = p.select_info();
    let end = end_at(t, p.i)?;
    let loud = sel.star
        || p.f & (DANGER | INFO | SYSVAR | SYSOBJ | SUBQ | BUILD) != 0
        || matches!(end, End::Comment | End::Semi | End::Clause);
    match end {
        _ if sel.strong && loud => found(Shape::Statement, 0),
        _ if sel.strong => found(Shape::Fragment, 0),
        End::Comment | End::Semi => found(Shape::Fragment, 0),
        _ => None,
    }
}

impl Tok {
    /// A known SQL function (not an unknown or foreign-qualified one).
    fn is_func_named(&self) -> bool {
        matches!(self.kind, Kind::Func(k) if k != Fk::Unknown) && !self.has(FOREIGN)
    }
}
