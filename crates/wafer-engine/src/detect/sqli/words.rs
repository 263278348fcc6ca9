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

/// The keyword class of a lowercase word.
pub(super) fn keyword(w: &[u8]) -> Option<Kw> {
    Some(match w {
        b"and" => Kw::And,
        b"or" => Kw::Or,
        b"xor" => Kw::Xor,
        b"not" => Kw::Not,
        b"like" | b"rlike" | b"regexp" | b"ilike" | b"glob" | b"similar" | b"match" => Kw::Like,
        b"sounds" => Kw::Sounds,
        b"is" => Kw::Is,
        b"in" => Kw::In,
        b"between" => Kw::Between,
        b"escape" => Kw::Escape,
        b"collate" => Kw::Collate,
        b"notnull" | b"isnull" => Kw::NullTest,
        b"null" => Kw::Null,
        b"true" | b"false" | b"unknown" => Kw::True,
        b"select" => Kw::Select,
        b"union" | b"intersect" | b"except" | b"minus" => Kw::Union,
        b"all" | b"distinct" | b"distinctrow" => Kw::All,
        b"from" => Kw::From,
        b"where" => Kw::Where,
        b"having" => Kw::Having,
        b"limit" => Kw::Limit,
        b"offset" => Kw::Offset,
        b"into" => Kw::Into,
        b"outfile" | b"dumpfile" => Kw::Outfile,
        b"order" => Kw::Order,
        b"group" => Kw::Group,
        b"by" => Kw::By,
        b"as" => Kw::As,
        b"asc" | b"desc" => Kw::Dir,
        b"case" => Kw::Case,
        b"when" => Kw::When,
        b"then" => Kw::Then,
        b"else" => Kw::Else,
        b"end" => Kw::End,
        b"exists" => Kw::Exists,
        b"top" => Kw::Top,
        b"join" | b"inner" | b"outer" | b"cross" | b"natural" | b"straight_join" => Kw::Join,
        b"on" => Kw::On,
        b"procedure" => Kw::Procedure,
        b"values" => Kw::Values,
        b"for" => Kw::For,
        b"div" | b"mod" => Kw::ArithWord,
        b"drop" => Kw::Drop,
        b"create" => Kw::Create,
        b"alter" => Kw::Alter,
        b"truncate" => Kw::Truncate,
        b"insert" => Kw::Insert,
        b"update" => Kw::Update,
        b"delete" => Kw::Delete,
        b"replace" => Kw::Replace,
        b"exec" | b"execute" => Kw::Exec,
        b"declare" => Kw::Declare,
        b"set" => Kw::Set,
        b"prepare" => Kw::Prepare,
        b"deallocate" => Kw::Deallocate,
        b"show" => Kw::Show,
        b"shutdown" => Kw::Shutdown,
        b"waitfor" => Kw::Waitfor,
        b"grant" | b"revoke" => Kw::Grant,
        b"call" => Kw::Call,
        b"load" => Kw::Load,
        b"use" => Kw::Use,
        b"handler" => Kw::Handler,
        b"rename" => Kw::Rename,
        b"lock" => Kw::Lock,
        b"kill" => Kw::Kill,
        b"backup" | b"restore" => Kw::Backup,
        b"dbcc" => Kw::Dbcc,
        b"bulk" => Kw::Bulk,
        b"copy" => Kw::Copy,
        b"pragma" => Kw::Pragma,
        b"attach" => Kw::Attach,
        b"merge" => Kw::Merge,
        b"begin" => Kw::Begin,
        b"commit" | b"rollback" => Kw::Commit,
        b"table" | b"tables" | b"database" | b"schema" | b"view" | b"index" | b"trigger"
        | b"function" | b"user" | b"login" | b"column" | b"temporary" | b"sequence"
        | b"tablespace" | b"role" | b"event" => Kw::Object,
        b"warnings" | b"errors" | b"databases" | b"schemas" | b"grants" | b"variables"
        | b"processlist" | b"columns" | b"status" | b"privileges" | b"triggers" | b"plugins"
        | b"engines" | b"full" | b"global" | b"session" => Kw::ShowWhat,
        b"delay" | b"time" => Kw::Delay,
        b"if" => Kw::If,
        b"immediate" => Kw::Immediate,
        b"analyse" | b"analyze" => Kw::Analyse,
        _ => return None,
    })
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

/// The function class of a lowercase word written with `(`.
pub(super) fn function(w: &[u8]) -> Option<Fk> {
    Some(match w {
        b"sleep" | b"benchmark" | b"pg_sleep" | b"pg_sleep_for" | b"pg_sleep_until"
        | b"randomblob" | b"receive_message" | b"sys_sleep" => Fk::Delay,
        b"extractvalue"
        | b"updatexml"
        | b"xmltype"
        | b"name_const"
        | b"exp_extract"
        | b"geometrycollection"
        | b"multipoint"
        | b"polygon"
        | b"multipolygon"
        | b"linestring"
        | b"multilinestring"
        | b"gtid_subset"
        | b"gtid_subtract"
        | b"json_keys"
        | b"get_host_name"
        | b"get_host_address"
        | b"drithsx"
        | b"ctxsys"
        | b"xmlagg"
        | b"dbms_xmlgen"
        | b"getxml"
        | b"st_latfromgeohash"
        | b"st_longfromgeohash"
        | b"st_pointfromgeohash"
        | b"utl_inaddr"
        | b"httpuritype"
        | b"sqlite_compileoption_used"
        | b"sqlite_compileoption_get"
        | b"sqlite_version"
        | b"load_extension" => Fk::Error,
        b"load_file"
        | b"pg_read_file"
        | b"pg_read_binary_file"
        | b"pg_ls_dir"
        | b"lo_import"
        | b"lo_export"
        | b"lo_get"
        | b"lo_from_bytea"
        | b"sys_eval"
        | b"sys_exec"
        | b"xp_cmdshell"
        | b"openrowset"
        | b"opendatasource"
        | b"openquery"
        | b"utl_http"
        | b"utl_file"
        | b"dbms_java"
        | b"dblink"
        | b"dblink_connect"
        | b"pg_stat_file"
        | b"readfile"
        | b"writefile"
        | b"edit"
        | b"fopen" => Fk::File,
        b"version" | b"database" | b"user" | b"current_user" | b"session_user" | b"system_user"
        | b"schema" | b"current_database" | b"current_schema" | b"db_name" | b"user_name"
        | b"suser_name" | b"suser_sname" | b"host_name" | b"connection_id" | b"last_insert_id"
        | b"found_rows" | b"row_count" | b"current_setting" | b"inet_server_addr"
        | b"pg_backend_pid" | b"sys_context" | b"is_srvrolemember" | b"has_dbaccess"
        | b"object_id" | b"object_name" | b"col_name" | b"schema_name" | b"table_name"
        | b"type_name" | b"uuid" | b"uuid_short" | b"current_user_id" | b"serverproperty" => {
            Fk::Info
        }
        b"char" | b"chr" | b"nchar" | b"concat" | b"concat_ws" | b"group_concat"
        | b"string_agg" | b"listagg" | b"unhex" | b"hex" | b"ascii" | b"ord" | b"substr"
        | b"substring" | b"substring_index" | b"mid" | b"left" | b"right" | b"length"
        | b"char_length" | b"character_length" | b"datalength" | b"cast" | b"convert"
        | b"lower" | b"upper" | b"lcase" | b"ucase" | b"reverse" | b"replace" | b"md5" | b"sha"
        | b"sha1" | b"sha2" | b"if" | b"ifnull" | b"iif" | b"nullif" | b"coalesce" | b"nvl"
        | b"isnull" | b"rand" | b"strcmp" | b"trim" | b"ltrim" | b"rtrim" | b"lpad" | b"rpad"
        | b"instr" | b"locate" | b"position" | b"elt" | b"field" | b"make_set" | b"find_in_set"
        | b"bin" | b"conv" | b"oct" | b"compress" | b"uncompress" | b"encode" | b"decode"
        | b"aes_encrypt" | b"aes_decrypt" | b"des_encrypt" | b"encrypt" | b"password"
        | b"old_password" | b"to_base64" | b"from_base64" | b"sysdate" | b"curdate" | b"unistr"
        | b"starts_with" | b"jsonb_pretty" | b"json_build_object" | b"json_extract"
        | b"json_object" | b"json_arrayagg" | b"json_agg" | b"jsonb_agg" | b"array_agg"
        | b"to_char" | b"to_number" | b"quote" | b"quote_ident" | b"quote_literal" | b"soundex"
        | b"difference" | b"bit_length" | b"octet_length" | b"unicode" | b"typeof"
        | b"export_set" | b"weight_string" | b"inet_aton" | b"inet_ntoa" | b"crc32" | b"octet"
        | b"stuff" | b"patindex" | b"charindex" | b"replicate" | b"nvl2" | b"decode_bin"
        | b"zeroblob" | b"hextoraw" | b"rawtohex" | b"utl_raw" | b"pg_typeof" | b"lo_creat"
        | b"div" | b"current_timestamp" | b"date_format" | b"datediff" | b"dateadd"
        | b"make_time" => Fk::Build,
        b"round" | b"floor" | b"ceil" | b"ceiling" | b"abs" | b"cos" | b"sin" | b"tan" | b"cot"
        | b"acos" | b"asin" | b"atan" | b"atan2" | b"pow" | b"power" | b"sqrt" | b"exp" | b"ln"
        | b"log" | b"log2" | b"log10" | b"min" | b"max" | b"sign" | b"pi" | b"mod" | b"degrees"
        | b"radians" | b"truncate" | b"greatest" | b"least" | b"date" | b"year" | b"month"
        | b"day" | b"hour" | b"minute" | b"second" | b"week" | b"time" | b"insert" | b"format"
        | b"translate" | b"row" | b"count" | b"sum" | b"avg" | b"now" | b"len" | b"random"
        | b"space" | b"repeat" | b"extract" | b"timestamp" => Fk::Common,
        _ => return None,
    })
}

/// System catalogues and objects only an intruder names.
pub(super) fn system_object(w: &[u8]) -> bool {
    matches!(
        w,
        b"information_schema"
            | b"pg_catalog"
            | b"pg_shadow"
            | b"pg_user"
            | b"pg_tables"
            | b"pg_database"
            | b"pg_namespace"
            | b"performance_schema"
            | b"sysobjects"
            | b"syscolumns"
            | b"sysdatabases"
            | b"sysusers"
            | b"sqlite_master"
            | b"sqlite_schema"
            | b"sqlite_temp_master"
            | b"msysobjects"
            | b"msysaccessobjects"
            | b"all_tables"
            | b"all_tab_columns"
            | b"user_tables"
            | b"dba_users"
            | b"mysql"
            | b"master"
            | b"tempdb"
            | b"msdb"
            | b"dbo"
            | b"sys"
            | b"dual"
            | b"xp_cmdshell"
            | b"sp_executesql"
            | b"sp_oacreate"
            | b"sp_configure"
            | b"xp_dirtree"
            | b"xp_regread"
            | b"dbms_lock"
            | b"dbms_pipe"
            | b"dbms_session"
            | b"dbms_xmlgen"
            | b"utl_inaddr"
            | b"utl_http"
            | b"ctxsys"
            | b"pg_sleep"
            | b"sleep"
            | b"benchmark"
    )
}

/// SQL type names (after `::`, in CAST(.. AS type)).
pub(super) fn type_name(w: &[u8]) -> bool {
    matches!(
        w,
        b"int"
            | b"int2"
            | b"int4"
            | b"int8"
            | b"integer"
            | b"bigint"
            | b"smallint"
            | b"text"
            | b"varchar"
            | b"char"
            | b"bool"
            | b"boolean"
            | b"json"
            | b"jsonb"
            | b"numeric"
            | b"decimal"
            | b"float"
            | b"float4"
            | b"float8"
            | b"real"
            | b"double"
            | b"regclass"
            | b"regproc"
            | b"bytea"
            | b"oid"
            | b"xml"
            | b"inet"
            | b"signed"
            | b"unsigned"
            | b"nvarchar"
            | b"money"
            | b"tsvector"
    )
}
