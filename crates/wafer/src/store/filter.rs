//! Event filters, sort orders and cursors: parsed from query parameters (every
//! value from the network is checked, and a bad one is a 400 naming it), and
//! turned into one SQL `WHERE` clause that both stores run.

use std::fmt::Write as _;
use std::net::IpAddr;
use wafer_engine::{Action, Class};

/// Which events a query, an export or a live stream wants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// Unix ms, inclusive.
    pub from_ms: Option<u64>,
    /// Unix ms, exclusive.
    pub to_ms: Option<u64>,
    pub ip: Option<IpAddr>,
    pub action: Option<Action>,
    pub class: Option<Class>,
    pub rule: Option<u32>,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub host: Option<String>,
    /// The site's name (`[[sites]]`).
    pub site: Option<String>,
    pub status: Option<u16>,
    pub min_score: Option<u32>,
    /// Case-insensitive substring of the path, query, user agent, IP, id or any finding.
    pub text: Option<String>,
}

impl Filter {
    /// The same test as the SQL, for live streams.
    pub fn matches(&self, e: &crate::events::Event) -> bool {
        self.from_ms.is_none_or(|t| e.ts_ms >= t)
            && self.to_ms.is_none_or(|t| e.ts_ms < t)
            && self.ip.is_none_or(|ip| e.client_ip == ip)
            && self.action.is_none_or(|a| e.action == a)
            && self
                .class
                .is_none_or(|c| e.findings.iter().any(|f| f.class == c))
            && self
                .rule
                .is_none_or(|r| e.findings.iter().any(|f| f.rule_id == r))
            && self.method.as_ref().is_none_or(|m| e.method == *m)
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|p| e.path.starts_with(p.as_str()))
            && self.host.as_ref().is_none_or(|h| e.host == *h)
            && self.site.as_ref().is_none_or(|s| e.site == *s)
            && self.status.is_none_or(|s| e.status == Some(s))
            && self.min_score.is_none_or(|s| e.score >= s)
            && self.text.as_ref().is_none_or(|t| {
                let doc = serde_json::to_string(e).unwrap_or_default().to_lowercase();
                let needle = serde_json::to_string(t).unwrap_or_default().to_lowercase();
                doc.contains(needle.trim_matches('"'))
            })
    }
}

/// A parameter that could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad parameter {name:?}: {message}")]
pub struct FilterError {
    pub name: String,
    pub message: String,
}

fn bad(name: &str, message: impl Into<String>) -> FilterError {
    FilterError {
        name: name.to_owned(),
        message: message.into(),
    }
}

/// Longest text a filter value may have: enough for any path prefix or search.
const VALUE_MAX: usize = 1024;

/// Sort orders; ties are broken by id so that cursors are exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    NewestFirst,
    OldestFirst,
    HighestScore,
}

impl Sort {
    fn parse(s: &str) -> Result<Sort, FilterError> {
        match s {
            "-ts" | "newest" => Ok(Sort::NewestFirst),
            "ts" | "oldest" => Ok(Sort::OldestFirst),
            "-score" | "score" => Ok(Sort::HighestScore),
            _ => Err(bad("sort", "expected -ts, ts or -score")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Sort::NewestFirst => "-ts",
            Sort::OldestFirst => "ts",
            Sort::HighestScore => "-score",
        }
    }
}

/// Where the previous page ended: the sort key of its last event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    pub score: u32,
    pub ts_ms: u64,
    pub id: String,
}

impl Cursor {
    /// `sort.score.ts.id`, opaque to clients.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.sort.as_str(),
            self.score,
            self.ts_ms,
            self.id
        )
    }

    pub fn decode(s: &str) -> Result<Cursor, FilterError> {
        let err = || bad("cursor", "not a cursor this server gave out");
        let mut it = s.splitn(4, '.');
        let sort = Sort::parse(it.next().ok_or_else(err)?).map_err(|_| err())?;
        let score = it.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
        let ts_ms = it.next().and_then(|v| v.parse().ok()).ok_or_else(err)?;
        let id = it.next().filter(|id| valid_id(id)).ok_or_else(err)?;
        Ok(Cursor {
            sort,
            score,
            ts_ms,
            id: id.to_owned(),
        })
    }
}

/// Request ids are ours (hex) or a client's `X-Request-Id` we kept: printable, short.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    pub sort: Sort,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

pub const PAGE_DEFAULT: usize = 50;
pub const PAGE_MAX: usize = 1000;

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            sort: Sort::NewestFirst,
            limit: PAGE_DEFAULT,
            cursor: None,
        }
    }
}

/// Parses `name=value` pairs into a filter and a page. Unknown names are
/// refused too: a misspelt filter silently ignored shows the wrong events.
/// `extra` names parameters the caller handles itself (`format`, `token`).
pub fn parse_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    extra: &[&str],
) -> Result<(Filter, PageRequest), FilterError> {
    let mut f = Filter::default();
    let mut page = PageRequest::default();
    for (name, value) in pairs {
        if value.len() > VALUE_MAX {
            return Err(bad(name, format!("longer than {VALUE_MAX} bytes")));
        }
        if value.is_empty() {
            continue;
        }
        let text = || Some(value.to_owned());
        match name {
            "from" => f.from_ms = Some(parse_time(name, value)?),
            "to" => f.to_ms = Some(parse_time(name, value)?),
            "ip" => f.ip = Some(value.parse().map_err(|_| bad(name, "not an IP address"))?),
            "action" => f.action = Some(parse_action(value)?),
            "class" => f.class = Some(parse_class(value)?),
            "rule" => f.rule = Some(parse_num(name, value)?),
            "method" => {
                if !value.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(bad(name, "not an HTTP method"));
                }
                f.method = Some(value.to_ascii_uppercase());
            }
            "path" | "path_prefix" => f.path_prefix = text(),
            "host" => f.host = text(),
            "site" => f.site = text(),
            "status" => f.status = Some(parse_num(name, value)?),
            "min_score" => f.min_score = Some(parse_num(name, value)?),
            "q" | "text" => f.text = text(),
            "sort" => page.sort = Sort::parse(value)?,
            "limit" => {
                let n: usize = parse_num(name, value)?;
                if !(1..=PAGE_MAX).contains(&n) {
                    return Err(bad(name, format!("must be 1..={PAGE_MAX}")));
                }
                page.limit = n;
            }
            "cursor" => page.cursor = Some(Cursor::decode(value)?),
            _ if extra.contains(&name) => {}
            _ => return Err(bad(name, "unknown parameter")),
        }
    }
    if let (Some(a), Some(b)) = (f.from_ms, f.to_ms)
        && a > b
    {
        return Err(bad("from", "is after `to`"));
    }
    if let Some(c) = &page.cursor
        && c.sort != page.sort
    {
        return Err(bad("cursor", "was given for another sort order"));
    }
    Ok((f, page))
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, FilterError> {
    v.parse().map_err(|_| bad(name, "not a number in range"))
}

/// Unix milliseconds, or RFC 3339-ish `2026-12-01T10:00:00Z`, or relative `-15m`, `-24h`, `-7d`
/// (relative times are resolved by the caller's clock, see [`resolve_relative`]).
pub fn parse_time(name: &str, v: &str) -> Result<u64, FilterError> {
    if let Ok(ms) = v.parse::<u64>() {
        return Ok(ms);
    }
    if let Some(rel) = v.strip_prefix('-') {
        return resolve_relative(rel, crate::clock::now_ms())
            .ok_or_else(|| bad(name, "bad relative time (use -15m, -1h, -7d)"));
    }
    parse_rfc3339(v).ok_or_else(|| bad(name, "expected unix ms, -1h, or 2026-12-01T10:00:00Z"))
}

/// `15m` before `now_ms`.
pub fn resolve_relative(rel: &str, now_ms: u64) -> Option<u64> {
    Some(now_ms.saturating_sub(span_ms(rel)?))
}

/// `30s`, `15m`, `1h`, `7d` in milliseconds (`None` past u64).
pub fn span_ms(rel: &str) -> Option<u64> {
    let (num, unit) = rel.split_at(rel.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC only) to unix ms.
fn parse_rfc3339(v: &str) -> Option<u64> {
    let v = v.strip_suffix('Z').or_else(|| v.strip_suffix("+00:00"))?;
    let (date, time) = v.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&mi)
        || !(0..=60).contains(&s)
    {
        return None;
    }
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let total = ((days * 24 + h) * 60 + mi) * 60 + s;
    u64::try_from(total * 1000 + ms).ok()
}

fn parse_action(v: &str) -> Result<Action, FilterError> {
    match v {
        "allow" => Ok(Action::Allow),
        "flag" => Ok(Action::Flag),
        "block" => Ok(Action::Block),
        _ => Err(bad("action", "expected allow, flag or block")),
    }
}

fn parse_class(v: &str) -> Result<Class, FilterError> {
    Class::ALL
        .into_iter()
        .find(|c| c.as_str() == v)
        .ok_or_else(|| {
            let names: Vec<_> = Class::ALL.iter().map(|c| c.as_str()).collect();
            bad("class", format!("expected one of {}", names.join(", ")))
        })
}

/// A bound SQL parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// Unsigned times and counts as the stores' signed 64-bit integers, saturating.
pub fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqlValue {
    pub fn int(v: u64) -> SqlValue {
        SqlValue::Int(sql_int(v))
    }
}

/// The placeholder and search syntax of a store's SQL dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Builds a `WHERE` clause with numbered parameters (`?1` / `$1`).
pub struct Where {
    dialect: Dialect,
    pub sql: String,
    pub params: Vec<SqlValue>,
}

impl Where {
    pub fn new(dialect: Dialect) -> Where {
        Where {
            dialect,
            sql: String::new(),
            params: Vec::new(),
        }
    }

    /// Adds `param` and returns its placeholder.
    pub fn bind(&mut self, v: SqlValue) -> String {
        self.params.push(v);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }

    pub fn and(&mut self, cond: &str) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(cond);
    }

    /// The events table is `e`; findings are in `event_findings`.
    pub fn filter(&mut self, f: &Filter) {
        if let Some(v) = f.from_ms {
            let p = self.bind(SqlValue::int(v));
            self.and(&format!("e.ts_ms >= {p}"));
        }
        if let Some(v) = f.to_ms {
            let p = self.bind(SqlValue::int(v));
            self.and(&format!("e.ts_ms < {p}"));
        }
        if let Some(ip) = f.ip {
            let p = self.bind(SqlValue::Text(ip.to_string()));
            self.and(&format!("e.client_ip = {p}"));
        }
        if let Some(a) = f.action {
            let p = self.bind(SqlValue::Text(a.as_str().into()));
            self.and(&format!("e.action = {p}"));
        }
        if let Some(c) = f.class {
            let p = self.bind(SqlValue::Text(c.as_str().into()));
            self.and(&format!(
                "EXISTS (SELECT 1 FROM event_findings f WHERE f.event_id = e.id AND f.class = {p})"
            ));
        }
        if let Some(r) = f.rule {
            let p = self.bind(SqlValue::Int(r.into()));
            self.and(&format!(
                "EXISTS (SELECT 1 FROM event_findings f WHERE f.event_id = e.id AND f.rule_id = {p})"
            ));
        }
        if let Some(m) = &f.method {
            let p = self.bind(SqlValue::Text(m.clone()));
            self.and(&format!("e.method = {p}"));
        }
        if let Some(prefix) = &f.path_prefix {
            // A range, not LIKE: the path index serves it and `%` in paths stays literal.
            let lo = self.bind(SqlValue::Text(prefix.clone()));
            let hi = self.bind(SqlValue::Text(format!("{prefix}\u{10ffff}")));
            self.and(&format!("e.path >= {lo} AND e.path < {hi}"));
        }
        if let Some(h) = &f.host {
            let p = self.bind(SqlValue::Text(h.clone()));
            self.and(&format!("e.host = {p}"));
        }
        if let Some(s) = &f.site {
            let p = self.bind(SqlValue::Text(s.clone()));
            self.and(&format!("e.site = {p}"));
        }
        if let Some(s) = f.status {
            let p = self.bind(SqlValue::Int(s.into()));
            self.and(&format!("e.status = {p}"));
        }
        if let Some(s) = f.min_score {
            let p = self.bind(SqlValue::Int(s.into()));
            self.and(&format!("e.score >= {p}"));
        }
        if let Some(t) = &f.text {
            let p = self.bind(SqlValue::Text(like_pattern(t)));
            let op = match self.dialect {
                Dialect::Sqlite => "LIKE",
                Dialect::Postgres => "ILIKE",
            };
            self.and(&format!("e.doc {op} {p} ESCAPE '\\'"));
        }
    }

    /// Keyset pagination: events strictly after the cursor in `sort` order.
    pub fn after(&mut self, c: &Cursor) {
        let ts = self.bind(SqlValue::int(c.ts_ms));
        let id = self.bind(SqlValue::Text(c.id.clone()));
        let cond = match c.sort {
            Sort::NewestFirst => format!("(e.ts_ms < {ts} OR (e.ts_ms = {ts} AND e.id < {id}))"),
            Sort::OldestFirst => format!("(e.ts_ms > {ts} OR (e.ts_ms = {ts} AND e.id > {id}))"),
            Sort::HighestScore => {
                let sc = self.bind(SqlValue::Int(c.score.into()));
                format!(
                    "(e.score < {sc} OR (e.score = {sc} AND (e.ts_ms < {ts} OR (e.ts_ms = {ts} AND e.id < {id}))))"
                )
            }
        };
        self.and(&cond);
    }
}

pub fn order_by(sort: Sort) -> &'static str {
    match sort {
        Sort::NewestFirst => " ORDER BY e.ts_ms DESC, e.id DESC",
        Sort::OldestFirst => " ORDER BY e.ts_ms ASC, e.id ASC",
        Sort::HighestScore => " ORDER BY e.score DESC, e.ts_ms DESC, e.id DESC",
    }
}

/// `%text%` with `%`, `_` and `\` escaped. JSON escapes quotes and
/// backslashes in the stored document, so the needle is escaped the same way.
fn like_pattern(t: &str) -> String {
    let json = serde_json::to_string(t).unwrap_or_default();
    let inner = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default();
    let mut out = String::with_capacity(inner.len() + 2);
    out.push('%');
    for c in inner.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        let _ = write!(out, "{c}");
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &[(&str, &str)]) -> Result<(Filter, PageRequest), FilterError> {
        parse_query(q.iter().copied(), &[])
    }

    #[test]
    fn parses_every_filter() {
        let (f, p) = parse(&[
            ("from", "1000"),
            ("to", "2026-12-01T10:00:00Z"),
            ("ip", "203.0.113.9"),
            ("action", "block"),
            ("class", "sqli"),
            ("rule", "200001"),
            ("method", "post"),
            ("path", "/api/"),
            ("status", "403"),
            ("min_score", "5"),
            ("q", "union"),
            ("sort", "-score"),
            ("limit", "10"),
        ])
        .unwrap();
        assert_eq!(f.to_ms, Some(1_796_119_200_000));
        assert_eq!(f.class, Some(Class::Sqli));
        assert_eq!(f.method.as_deref(), Some("POST"));
        assert_eq!(p.sort, Sort::HighestScore);
        assert_eq!(p.limit, 10);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (q, name) in [
            (("ip", "nope"), "ip"),
            (("action", "drop"), "action"),
            (("class", "evil"), "class"),
            (("limit", "0"), "limit"),
            (("limit", "5000"), "limit"),
            (("from", "yesterday"), "from"),
            (("min_score", "-1"), "min_score"),
            (("cursor", "garbage"), "cursor"),
            (("colour", "red"), "colour"),
            (("method", "GET /"), "method"),
        ] {
            let e = parse(&[q]).unwrap_err();
            assert_eq!(e.name, name, "{q:?}: {e}");
        }
        let e = parse(&[("from", "2000"), ("to", "1000")]).unwrap_err();
        assert_eq!(e.name, "from");
    }

    #[test]
    fn cursors_round_trip_and_must_match_the_sort() {
        let c = Cursor {
            sort: Sort::NewestFirst,
            score: 7,
            ts_ms: 1234,
            id: "ab.cd".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let e = parse(&[("cursor", &c.encode()), ("sort", "ts")]).unwrap_err();
        assert_eq!(e.name, "cursor");
    }

    #[test]
    fn relative_times_and_dates() {
        assert_eq!(resolve_relative("15m", 1_000_000), Some(100_000));
        assert_eq!(resolve_relative("2x", 1_000_000), None);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        // Hostile numbers are refused, not overflowed.
        assert_eq!(parse_rfc3339("999999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T-1:00:00Z"), None);
        assert_eq!(resolve_relative("99999999999999999999d", 1), None);
        assert_eq!(resolve_relative("9999999999999999d", 1), None);
    }

    #[test]
    fn search_text_is_escaped_for_like() {
        assert_eq!(like_pattern("50%_a"), "%50\\%\\_a%");
        assert_eq!(like_pattern("a\"b"), "%a\\\\\"b%");
    }

    #[test]
    fn where_clause_binds_in_order() {
        let mut w = Where::new(Dialect::Postgres);
        w.filter(&Filter {
            action: Some(Action::Block),
            min_score: Some(5),
            ..Filter::default()
        });
        assert_eq!(w.sql, " WHERE e.action = $1 AND e.score >= $2");
        assert_eq!(
            w.params,
            vec![SqlValue::Text("block".into()), SqlValue::Int(5)]
        );
    }
}
