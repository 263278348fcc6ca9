//! The ModSecurity rule language (SecLang), read into directives: the first
//! step of a second rule source (issue 21). This module parses; it does not
//! run rules yet (see docs/CRS.md).
//!
//! Written here: no maintained Rust crate parses SecLang, and which
//! constructs are understood, refused and reported is the heart of loading
//! someone's rules honestly. Every directive keeps its line. A directive this
//! parser does not know is an error with its line, never skipped.
//!
//! The syntax, as ModSecurity reads it: a directive per logical line (a
//! backslash at the end of a line joins the next one; `#` starts a comment
//! line); arguments separated by blanks, or double-quoted with `\"` for a
//! quote inside; `SecRule VARIABLES OPERATOR [ACTIONS]`, where variables are
//! `|`-separated (`!` excludes, `&` counts, `:key` or `:/regex/` selects),
//! the operator is `[!]@name argument` (a bare pattern is `@rx`), and actions
//! are `,`-separated `name[:value]`, a value single-quoted when it holds a comma.

mod parse;

pub use parse::parse;

/// One directive, with the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Directive {
    pub line: usize,
    pub kind: DirectiveKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DirectiveKind {
    /// `SecRule`.
    Rule(Rule),
    /// `SecAction`: actions that run unconditionally.
    Action(Vec<Action>),
    /// `SecMarker`: a `skipAfter` target.
    Marker(String),
    /// `SecDefaultAction`: the actions a phase's rules start from.
    DefaultAction(Vec<Action>),
    /// `SecRuleRemoveById`: ids and ranges, as written.
    RemoveById(Vec<String>),
    RemoveByTag(String),
    RemoveByMsg(String),
    /// `SecRuleUpdateTargetById ID TARGETS [REPLACED]`.
    UpdateTargetById {
        ids: Vec<String>,
        targets: Vec<Variable>,
        replaced: Option<Vec<Variable>>,
    },
    UpdateTargetByTag {
        tag: String,
        targets: Vec<Variable>,
        replaced: Option<Vec<Variable>>,
    },
    /// `SecRuleUpdateActionById ID[:OFFSET] ACTIONS`.
    UpdateActionById {
        id: String,
        actions: Vec<Action>,
    },
    /// `Include PATH` (a glob; the loader reads it).
    Include(String),
    /// `SecComponentSignature`: recorded, no effect on inspection.
    ComponentSignature(String),
    /// An engine setting (`SecRuleEngine On`, `SecRequestBodyAccess On`).
    Setting {
        name: String,
        value: String,
    },
}

/// `SecRule VARIABLES OPERATOR ACTIONS`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub variables: Vec<Variable>,
    pub operator: Operator,
    pub actions: Vec<Action>,
}

/// One variable of a rule: `ARGS`, `REQUEST_HEADERS:User-Agent`,
/// `!REQUEST_COOKIES:/^__utm/`, `&ARGS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// Upper case, as ModSecurity compares them.
    pub name: String,
    pub selector: Option<Selector>,
    /// `!`: this member is left out of the collection.
    pub exclude: bool,
    /// `&`: the number of members, not their values.
    pub count: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    Key(String),
    /// `/.../`: members whose name matches.
    Regex(String),
}

/// `[!]@name argument`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub negated: bool,
    pub name: String,
    pub argument: String,
}

/// `name` or `name:value` (the value unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub name: String,
    pub value: Option<String>,
}

impl Rule {
    /// The value of the first action named `name`.
    pub fn action(&self, name: &str) -> Option<&str> {
        self.actions
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .and_then(|a| a.value.as_deref())
    }

    pub fn has_action(&self, name: &str) -> bool {
        self.actions
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A directive that could not be read: its line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}
