//! Word tables: keywords, functions by what an attacker uses them for, type
//! names and system objects. Written from the SQL dialects' documentation.

/// Longest word we classify; longer words are plain identifiers.
pub(super) const MAX_WORD: usize = 32;

/// Keyword classes the classifier distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kw {
    And,
    Or,
    Xor,
    Not,
    /// LIKE, RLIKE, REGEXP, ILIKE, GLOB, SIMILAR, MATCH (and folded NOT LIKE).
    Like,
    Sounds,
    Is,
    In,
    Between,
    Escape,
    Collate,
    /// PostgreSQL / SQLite postfix NOTNULL, ISNULL.
    NullTest,
    Null,
    /// TRUE, FALSE, UNKNOWN.
    True,
    Select,
    /// UNION, INTERSECT, EXCEPT, MINUS.
    Union,
    /// ALL, DISTINCT, DISTINCTROW.
    All,
    From,
    Where,
    Having,
    Limit,
    Offset,
    Into,
    /// OUTFILE, DUMPFILE.
    Outfile,
    Order,
    Group,
    By,
    OrderBy,
    GroupBy,
    As,
    /// ASC, DESC.
    Dir,
    Case,
    When,
    Then,
    Else,
    End,
    Exists,
    Top,
    /// JOIN and its modifiers.
    Join,
    On,
    Procedure,
    Values,
    For,
    /// DIV, MOD (binary operators).
    ArithWord,
    // Statements.
    Drop,
    Create,
    Alter,
    Truncate,
    Insert,
    Update,
    Delete,
    Replace,
    Exec,
    Declare,
    Set,
    Prepare,
    Deallocate,
    Show,
    Shutdown,
    Waitfor,
    Grant,
    Call,
    Load,
    Use,
    Handler,
    Rename,
    Lock,
    Kill,
    Backup,
    Dbcc,
    Bulk,
    Copy,
    Pragma,
    Attach,
    Merge,
    Begin,
    Commit,
    /// TABLE, DATABASE, SCHEMA, VIEW, INDEX, ... (what DDL acts on).
    Object,
    /// SHOW targets: WARNINGS, TABLES, DATABASES, GRANTS, VARIABLES, ...
    ShowWhat,
    /// WAITFOR DELAY / TIME.
    Delay,
    If,
    Immediate,
    Analyse,
}

/// Function classes, by what an injection uses them for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fk {
    /// Time delays: SLEEP, BENCHMARK, PG_SLEEP, RANDOMBLOB, ...
    Delay,
    /// Error-based extraction and out-of-band: EXTRACTVALUE, UPDATEXML, XMLTYPE, UTL_INADDR, ...
    Error,
    /// Files and the operating system: LOAD_FILE, PG_READ_FILE, LO_IMPORT, SYS_EXEC, ...
    File,
    /// Server facts: VERSION(), DATABASE(), USER(), CURRENT_USER(), ...
    Info,
    /// Building and probing strings and values: CHAR, CONCAT, SUBSTRING, ASCII, HEX, IF, ...
    Build,
    /// Other SQL functions that also exist in CSS or everyday notation (ROUND, MIN, COS, ...).
    Common,
    Unknown,
}

/// Lowercases `w` into `buf`; `None` when it does not fit.
pub(super) fn lower<'b>(w: &[u8], buf: &'b mut [u8; MAX_WORD]) -> Option<&'b [u8]> {
    if w.len() > MAX_WORD {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    Some(&buf[..w.len()])
}

/// A keyword that, written with `(`, is a function or procedure name rather
/// than syntax (`function(x)`, `show(..)`, `update(..)`).
pub(super) fn names_a_call(k: Kw) -> bool {
    matches!(
        k,
        Kw::Object
            | Kw::ShowWhat
            | Kw::Delay
            | Kw::Drop
            | Kw::Create
            | Kw::Alter
            | Kw::Update
            | Kw::Delete
            | Kw::Show
            | Kw::Shutdown
            | Kw::Grant
            | Kw::Load
            | Kw::Use
            | Kw::Handler
            | Kw::Rename
            | Kw::Lock
            | Kw::Kill
            | Kw::Backup
            | Kw::Dbcc
            | Kw::Bulk
            | Kw::Copy
            | Kw::Pragma
            | Kw::Attach
            | Kw::Merge
            | Kw::Begin
            | Kw::Commit
            | Kw::Outfile
            | Kw::Immediate
            | Kw::NullTest
            | Kw::Prepare
            | Kw::Deallocate
    )
}

/// What the tables say about one word.
#[derive(Clone, Copy, Debug)]
pub(super) struct Info {
    pub(super) kw: Option<Kw>,
    pub(super) func: Option<Fk>,
    /// A system catalogue, schema or procedure.
    pub(super) sys: bool,
    /// An SQL type name.
    pub(super) ty: bool,
}

const NOTHING: Info = Info {
    kw: None,
    func: None,
    sys: false,
    ty: false,
};

/// Everything known about a lowercase word: one hash probe.
pub(super) fn lookup(w: &[u8]) -> Info {
    if w.is_empty() || w.len() > MAX_WORD {
        return NOTHING;
    }
    let mut i = hash(w);
    loop {
        let slot = &TABLE[i];
        if slot.word.is_empty() {
            return NOTHING;
        }
        if slot.word == w {
            return slot.info;
        }
        i = (i + 1) & (SLOTS - 1);
    }
}

/// The keyword class of a lowercase word.
pub(super) fn keyword(w: &[u8]) -> Option<Kw> {
    lookup(w).kw
}

/// The function class of a lowercase word written with `(`.
pub(super) fn function(w: &[u8]) -> Option<Fk> {
    lookup(w).func
}

#[derive(Clone, Copy)]
struct Slot {
    word: &'static [u8],
    info: Info,
}

/// Open-addressing table over all word lists, built at compile time.
const SLOTS: usize = 2048;
static TABLE: [Slot; SLOTS] = build();

/// The home slot of `w`. Only the table's layout depends on the hash, never a lookup's answer.
const fn hash(w: &[u8]) -> usize {
    (crate::fnv::hash64(w) as usize) & (SLOTS - 1)
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The slot holding `w`, claiming an empty one if needed.
const fn slot(t: &mut [Slot; SLOTS], w: &'static [u8]) -> usize {
    let mut i = hash(w);
    loop {
        if t[i].word.is_empty() {
            t[i].word = w;
            return i;
        }
        if same(t[i].word, w) {
            return i;
        }
        i = (i + 1) & (SLOTS - 1);
    }
}

const fn build() -> [Slot; SLOTS] {
    let mut t = [Slot {
        word: b"",
        info: NOTHING,
    }; SLOTS];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let s = slot(&mut t, KEYWORDS[i].0);
        t[s].info.kw = Some(KEYWORDS[i].1);
        i += 1;
    }
    i = 0;
    while i < FUNCTIONS.len() {
        let s = slot(&mut t, FUNCTIONS[i].0);
        t[s].info.func = Some(FUNCTIONS[i].1);
        i += 1;
    }
    i = 0;
    while i < SYSTEM_OBJECTS.len() {
        let s = slot(&mut t, SYSTEM_OBJECTS[i]);
        t[s].info.sys = true;
        i += 1;
    }
    i = 0;
    while i < TYPE_NAMES.len() {
        let s = slot(&mut t, TYPE_NAMES[i]);
        t[s].info.ty = true;
        i += 1;
    }
    t
}

// The word lists, kept sorted so duplicates show (a test checks it).

/// Keywords and their classes.
const KEYWORDS: &[(&[u8], Kw)] = &[
    (b"all", Kw::All),
    (b"alter", Kw::Alter),
    (b"analyse", Kw::Analyse),
    (b"analyze", Kw::Analyse),
    (b"and", Kw::And),
    (b"as", Kw::As),
    (b"asc", Kw::Dir),
    (b"attach", Kw::Attach),
    (b"backup", Kw::Backup),
    (b"begin", Kw::Begin),
    (b"between", Kw::Between),
    (b"bulk", Kw::Bulk),
    (b"by", Kw::By),
    (b"call", Kw::Call),
    (b"case", Kw::Case),
    (b"collate", Kw::Collate),
    (b"column", Kw::Object),
    (b"columns", Kw::ShowWhat),
    (b"commit", Kw::Commit),
    (b"copy", Kw::Copy),
    (b"create", Kw::Create),
    (b"cross", Kw::Join),
    (b"database", Kw::Object),
    (b"databases", Kw::ShowWhat),
    (b"dbcc", Kw::Dbcc),
    (b"deallocate", Kw::Deallocate),
    (b"declare", Kw::Declare),
    (b"delay", Kw::Delay),
    (b"delete", Kw::Delete),
    (b"desc", Kw::Dir),
    (b"distinct", Kw::All),
    (b"distinctrow", Kw::All),
    (b"div", Kw::ArithWord),
    (b"drop", Kw::Drop),
    (b"dumpfile", Kw::Outfile),
    (b"else", Kw::Else),
    (b"end", Kw::End),
    (b"engines", Kw::ShowWhat),
    (b"errors", Kw::ShowWhat),
    (b"escape", Kw::Escape),
    (b"event", Kw::Object),
    (b"except", Kw::Union),
    (b"exec", Kw::Exec),
    (b"execute", Kw::Exec),
    (b"exists", Kw::Exists),
    (b"false", Kw::True),
    (b"for", Kw::For),
    (b"from", Kw::From),
    (b"full", Kw::ShowWhat),
    (b"function", Kw::Object),
    (b"glob", Kw::Like),
    (b"global", Kw::ShowWhat),
    (b"grant", Kw::Grant),
    (b"grants", Kw::ShowWhat),
    (b"group", Kw::Group),
    (b"handler", Kw::Handler),
    (b"having", Kw::Having),
    (b"if", Kw::If),
    (b"ilike", Kw::Like),
    (b"immediate", Kw::Immediate),
    (b"in", Kw::In),
    (b"index", Kw::Object),
    (b"inner", Kw::Join),
    (b"insert", Kw::Insert),
    (b"intersect", Kw::Union),
    (b"into", Kw::Into),
    (b"is", Kw::Is),
    (b"isnull", Kw::NullTest),
    (b"join", Kw::Join),
    (b"kill", Kw::Kill),
    (b"like", Kw::Like),
    (b"limit", Kw::Limit),
    (b"load", Kw::Load),
    (b"lock", Kw::Lock),
    (b"login", Kw::Object),
    (b"match", Kw::Like),
    (b"merge", Kw::Merge),
    (b"minus", Kw::Union),
    (b"mod", Kw::ArithWord),
    (b"natural", Kw::Join),
    (b"not", Kw::Not),
    (b"notnull", Kw::NullTest),
    (b"null", Kw::Null),
    (b"offset", Kw::Offset),
    (b"on", Kw::On),
    (b"or", Kw::Or),
    (b"order", Kw::Order),
    (b"outer", Kw::Join),
    (b"outfile", Kw::Outfile),
    (b"plugins", Kw::ShowWhat),
    (b"pragma", Kw::Pragma),
    (b"prepare", Kw::Prepare),
    (b"privileges", Kw::ShowWhat),
    (b"procedure", Kw::Procedure),
    (b"processlist", Kw::ShowWhat),
    (b"regexp", Kw::Like),
    (b"rename", Kw::Rename),
    (b"replace", Kw::Replace),
    (b"restore", Kw::Backup),
    (b"revoke", Kw::Grant),
    (b"rlike", Kw::Like),
    (b"role", Kw::Object),
    (b"rollback", Kw::Commit),
    (b"schema", Kw::Object),
    (b"schemas", Kw::ShowWhat),
    (b"select", Kw::Select),
    (b"sequence", Kw::Object),
    (b"session", Kw::ShowWhat),
    (b"set", Kw::Set),
    (b"show", Kw::Show),
    (b"shutdown", Kw::Shutdown),
    (b"similar", Kw::Like),
    (b"sounds", Kw::Sounds),
    (b"status", Kw::ShowWhat),
    (b"straight_join", Kw::Join),
    (b"table", Kw::Object),
    (b"tables", Kw::Object),
    (b"tablespace", Kw::Object),
    (b"temporary", Kw::Object),
    (b"then", Kw::Then),
    (b"time", Kw::Delay),
    (b"top", Kw::Top),
    (b"trigger", Kw::Object),
    (b"triggers", Kw::ShowWhat),
    (b"true", Kw::True),
    (b"truncate", Kw::Truncate),
    (b"union", Kw::Union),
    (b"unknown", Kw::True),
    (b"update", Kw::Update),
    (b"use", Kw::Use),
    (b"user", Kw::Object),
    (b"values", Kw::Values),
    (b"variables", Kw::ShowWhat),
    (b"view", Kw::Object),
    (b"waitfor", Kw::Waitfor),
    (b"warnings", Kw::ShowWhat),
    (b"when", Kw::When),
    (b"where", Kw::Where),
    (b"xor", Kw::Xor),
];

/// Functions by what an injection uses them for.
const FUNCTIONS: &[(&[u8], Fk)] = &[
    (b"abs", Fk::Common),
    (b"acos", Fk::Common),
    (b"aes_decrypt", Fk::Build),
    (b"aes_encrypt", Fk::Build),
    (b"array_agg", Fk::Build),
    (b"ascii", Fk::Build),
    (b"asin", Fk::Common),
    (b"atan", Fk::Common),
    (b"atan2", Fk::Common),
    (b"avg", Fk::Common),
    (b"benchmark", Fk::Delay),
    (b"bin", Fk::Build),
    (b"bit_length", Fk::Build),
    (b"cast", Fk::Build),
    (b"ceil", Fk::Common),
    (b"ceiling", Fk::Common),
    (b"char", Fk::Build),
    (b"char_length", Fk::Build),
    (b"character_length", Fk::Build),
    (b"charindex", Fk::Build),
    (b"chr", Fk::Build),
    (b"coalesce", Fk::Build),
    (b"col_name", Fk::Info),
    (b"compress", Fk::Build),
    (b"concat", Fk::Build),
    (b"concat_ws", Fk::Build),
    (b"connection_id", Fk::Info),
    (b"conv", Fk::Build),
    (b"convert", Fk::Build),
    (b"cos", Fk::Common),
    (b"cot", Fk::Common),
    (b"count", Fk::Common),
    (b"crc32", Fk::Build),
    (b"ctxsys", Fk::Error),
    (b"curdate", Fk::Build),
    (b"current_database", Fk::Info),
    (b"current_schema", Fk::Info),
    (b"current_setting", Fk::Info),
    (b"current_timestamp", Fk::Build),
    (b"current_user", Fk::Info),
    (b"current_user_id", Fk::Info),
    (b"database", Fk::Info),
    (b"datalength", Fk::Build),
    (b"date", Fk::Common),
    (b"date_format", Fk::Build),
    (b"dateadd", Fk::Build),
    (b"datediff", Fk::Build),
    (b"day", Fk::Common),
    (b"db_name", Fk::Info),
    (b"dblink", Fk::File),
    (b"dblink_connect", Fk::File),
    (b"dbms_java", Fk::File),
    (b"dbms_xmlgen", Fk::Error),
    (b"decode", Fk::Build),
    (b"decode_bin", Fk::Build),
    (b"degrees", Fk::Common),
    (b"des_encrypt", Fk::Build),
    (b"difference", Fk::Build),
    (b"div", Fk::Build),
    (b"drithsx", Fk::Error),
    (b"edit", Fk::File),
    (b"elt", Fk::Build),
    (b"encode", Fk::Build),
    (b"encrypt", Fk::Build),
    (b"exp", Fk::Common),
    (b"exp_extract", Fk::Error),
    (b"export_set", Fk::Build),
    (b"extract", Fk::Common),
    (b"extractvalue", Fk::Error),
    (b"field", Fk::Build),
    (b"find_in_set", Fk::Build),
    (b"floor", Fk::Common),
    (b"fopen", Fk::File),
    (b"format", Fk::Common),
    (b"found_rows", Fk::Info),
    (b"from_base64", Fk::Build),
    (b"geometrycollection", Fk::Error),
    (b"get_host_address", Fk::Error),
    (b"get_host_name", Fk::Error),
    (b"getxml", Fk::Error),
    (b"glob", Fk::Build),
    (b"greatest", Fk::Common),
    (b"group_concat", Fk::Build),
    (b"gtid_subset", Fk::Error),
    (b"gtid_subtract", Fk::Error),
    (b"has_dbaccess", Fk::Info),
    (b"hex", Fk::Build),
    (b"hextoraw", Fk::Build),
    (b"host_name", Fk::Info),
    (b"hour", Fk::Common),
    (b"httpuritype", Fk::Error),
    (b"if", Fk::Build),
    (b"ifnull", Fk::Build),
    (b"iif", Fk::Build),
    (b"inet_aton", Fk::Build),
    (b"inet_ntoa", Fk::Build),
    (b"inet_server_addr", Fk::Info),
    (b"insert", Fk::Common),
    (b"instr", Fk::Build),
    (b"is_srvrolemember", Fk::Info),
    (b"isnull", Fk::Build),
    (b"json_agg", Fk::Build),
    (b"json_arrayagg", Fk::Build),
    (b"json_build_object", Fk::Build),
    (b"json_extract", Fk::Build),
    (b"json_keys", Fk::Error),
    (b"json_object", Fk::Build),
    (b"jsonb_agg", Fk::Build),
    (b"jsonb_pretty", Fk::Build),
    (b"last_insert_id", Fk::Info),
    (b"lcase", Fk::Build),
    (b"least", Fk::Common),
    (b"left", Fk::Build),
    (b"len", Fk::Common),
    (b"length", Fk::Build),
    (b"linestring", Fk::Error),
    (b"listagg", Fk::Build),
    (b"ln", Fk::Common),
    (b"lo_creat", Fk::Build),
    (b"lo_export", Fk::File),
    (b"lo_from_bytea", Fk::File),
    (b"lo_get", Fk::File),
    (b"lo_import", Fk::File),
    (b"load_extension", Fk::Error),
    (b"load_file", Fk::File),
    (b"locate", Fk::Build),
    (b"log", Fk::Common),
    (b"log10", Fk::Common),
    (b"log2", Fk::Common),
    (b"lower", Fk::Build),
    (b"lpad", Fk::Build),
    (b"ltrim", Fk::Build),
    (b"make_set", Fk::Build),
    (b"make_time", Fk::Build),
    (b"max", Fk::Common),
    (b"md5", Fk::Build),
    (b"mid", Fk::Build),
    (b"min", Fk::Common),
    (b"minute", Fk::Common),
    (b"mod", Fk::Common),
    (b"month", Fk::Common),
    (b"multilinestring", Fk::Error),
    (b"multipoint", Fk::Error),
    (b"multipolygon", Fk::Error),
    (b"name_const", Fk::Error),
    (b"nchar", Fk::Build),
    (b"now", Fk::Common),
    (b"nullif", Fk::Build),
    (b"nvl", Fk::Build),
    (b"nvl2", Fk::Build),
    (b"object_id", Fk::Info),
    (b"object_name", Fk::Info),
    (b"oct", Fk::Build),
    (b"octet", Fk::Build),
    (b"octet_length", Fk::Build),
    (b"old_password", Fk::Build),
    (b"opendatasource", Fk::File),
    (b"openquery", Fk::File),
    (b"openrowset", Fk::File),
    (b"ord", Fk::Build),
    (b"password", Fk::Build),
    (b"patindex", Fk::Build),
    (b"pg_backend_pid", Fk::Info),
    (b"pg_ls_dir", Fk::File),
    (b"pg_read_binary_file", Fk::File),
    (b"pg_read_file", Fk::File),
    (b"pg_sleep", Fk::Delay),
    (b"pg_sleep_for", Fk::Delay),
    (b"pg_sleep_until", Fk::Delay),
    (b"pg_stat_file", Fk::File),
    (b"pg_typeof", Fk::Build),
    (b"pi", Fk::Common),
    (b"polygon", Fk::Error),
    (b"position", Fk::Build),
    (b"pow", Fk::Common),
    (b"power", Fk::Common),
    (b"quote", Fk::Build),
    (b"quote_ident", Fk::Build),
    (b"quote_literal", Fk::Build),
    (b"radians", Fk::Common),
    (b"rand", Fk::Build),
    (b"random", Fk::Common),
    (b"randomblob", Fk::Delay),
    (b"rawtohex", Fk::Build),
    (b"readfile", Fk::File),
    (b"receive_message", Fk::Delay),
    (b"repeat", Fk::Common),
    (b"replace", Fk::Build),
    (b"replicate", Fk::Build),
    (b"reverse", Fk::Build),
    (b"right", Fk::Build),
    (b"round", Fk::Common),
    (b"row", Fk::Common),
    (b"row_count", Fk::Info),
    (b"rpad", Fk::Build),
    (b"rtrim", Fk::Build),
    (b"schema", Fk::Info),
    (b"schema_name", Fk::Info),
    (b"second", Fk::Common),
    (b"serverproperty", Fk::Info),
    (b"session_user", Fk::Info),
    (b"sha", Fk::Build),
    (b"sha1", Fk::Build),
    (b"sha2", Fk::Build),
    (b"sign", Fk::Common),
    (b"sin", Fk::Common),
    (b"sleep", Fk::Delay),
    (b"soundex", Fk::Build),
    (b"space", Fk::Common),
    (b"sqlite_compileoption_get", Fk::Error),
    (b"sqlite_compileoption_used", Fk::Error),
    (b"sqlite_version", Fk::Error),
    (b"sqrt", Fk::Common),
    (b"st_latfromgeohash", Fk::Error),
    (b"st_longfromgeohash", Fk::Error),
    (b"st_pointfromgeohash", Fk::Error),
    (b"starts_with", Fk::Build),
    (b"strcmp", Fk::Build),
    (b"string_agg", Fk::Build),
    (b"stuff", Fk::Build),
    (b"substr", Fk::Build),
    (b"substring", Fk::Build),
    (b"substring_index", Fk::Build),
    (b"sum", Fk::Common),
    (b"suser_name", Fk::Info),
    (b"suser_sname", Fk::Info),
    (b"sys_context", Fk::Info),
    (b"sys_eval", Fk::File),
    (b"sys_exec", Fk::File),
    (b"sys_sleep", Fk::Delay),
    (b"sysdate", Fk::Build),
    (b"system_user", Fk::Info),
    (b"table_name", Fk::Info),
    (b"tan", Fk::Common),
    (b"time", Fk::Common),
    (b"timestamp", Fk::Common),
    (b"to_base64", Fk::Build),
    (b"to_char", Fk::Build),
    (b"to_number", Fk::Build),
    (b"translate", Fk::Common),
    (b"trim", Fk::Build),
    (b"truncate", Fk::Common),
    (b"type_name", Fk::Info),
    (b"typeof", Fk::Build),
    (b"ucase", Fk::Build),
    (b"uncompress", Fk::Build),
    (b"unhex", Fk::Build),
    (b"unicode", Fk::Build),
    (b"unistr", Fk::Build),
    (b"updatexml", Fk::Error),
    (b"upper", Fk::Build),
    (b"user", Fk::Info),
    (b"user_name", Fk::Info),
    (b"utl_file", Fk::File),
    (b"utl_http", Fk::File),
    (b"utl_inaddr", Fk::Error),
    (b"utl_raw", Fk::Build),
    (b"uuid", Fk::Info),
    (b"uuid_short", Fk::Info),
    (b"version", Fk::Info),
    (b"week", Fk::Common),
    (b"weight_string", Fk::Build),
    (b"writefile", Fk::File),
    (b"xmlagg", Fk::Error),
    (b"xmltype", Fk::Error),
    (b"xp_cmdshell", Fk::File),
    (b"year", Fk::Common),
    (b"zeroblob", Fk::Build),
];

/// System catalogues, schemas and procedures.
const SYSTEM_OBJECTS: &[&[u8]] = &[
    b"all_tab_columns",
    b"all_tables",
    b"benchmark",
    b"ctxsys",
    b"dba_users",
    b"dbms_lock",
    b"dbms_pipe",
    b"dbms_session",
    b"dbms_xmlgen",
    b"dbo",
    b"dual",
    b"information_schema",
    b"master",
    b"msdb",
    b"msysaccessobjects",
    b"msysobjects",
    b"mysql",
    b"performance_schema",
    b"pg_catalog",
    b"pg_database",
    b"pg_namespace",
    b"pg_shadow",
    b"pg_sleep",
    b"pg_tables",
    b"pg_user",
    b"sleep",
    b"sp_configure",
    b"sp_executesql",
    b"sp_oacreate",
    b"sqlite_master",
    b"sqlite_schema",
    b"sqlite_temp_master",
    b"sys",
    b"syscolumns",
    b"sysdatabases",
    b"sysobjects",
    b"sysusers",
    b"tempdb",
    b"user_tables",
    b"utl_http",
    b"utl_inaddr",
    b"xp_cmdshell",
    b"xp_dirtree",
    b"xp_regread",
];

/// SQL type names.
const TYPE_NAMES: &[&[u8]] = &[
    b"bigint",
    b"bool",
    b"boolean",
    b"bytea",
    b"char",
    b"decimal",
    b"double",
    b"float",
    b"float4",
    b"float8",
    b"inet",
    b"int",
    b"int2",
    b"int4",
    b"int8",
    b"integer",
    b"json",
    b"jsonb",
    b"money",
    b"numeric",
    b"nvarchar",
    b"oid",
    b"real",
    b"regclass",
    b"regproc",
    b"signed",
    b"smallint",
    b"text",
    b"tsvector",
    b"unsigned",
    b"varchar",
    b"xml",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        fn sorted<T>(keys: impl Iterator<Item = T>) -> bool
        where
            T: Ord,
        {
            let v: Vec<T> = keys.collect();
            v.windows(2).all(|w| w[0] < w[1])
        }
        assert!(sorted(KEYWORDS.iter().map(|e| e.0)));
        assert!(sorted(FUNCTIONS.iter().map(|e| e.0)));
        assert!(sorted(SYSTEM_OBJECTS.iter()));
        assert!(sorted(TYPE_NAMES.iter()));
        assert_eq!(keyword(b"union"), Some(Kw::Union));
        assert_eq!(function(b"sleep"), Some(Fk::Delay));
        assert!(lookup(b"information_schema").sys && lookup(b"jsonb").ty);
        assert!(lookup(b"user").kw.is_some() && lookup(b"user").func.is_some());
        assert!(lookup(b"").kw.is_none() && lookup(b"quick").kw.is_none());
        assert_eq!(keyword(b"unionx"), None);
    }
}
