//! SQL both stores run, built once with the dialect's placeholders.

use super::filter::{Cursor, Dialect, Filter, PageRequest, Sort, SqlValue, Where, order_by};

/// `SELECT doc` for a page: one more row than asked, to know whether there is a next page.
pub(crate) fn page(d: Dialect, f: &Filter, p: &PageRequest) -> (String, Vec<SqlValue>) {
    let mut w = Where::new(d);
    w.filter(f);
    if let Some(c) = &p.cursor {
        w.after(c);
    }
    let sql = format!(
        "SELECT e.doc FROM events e{}{} LIMIT {}",
        w.sql,
        order_by(p.sort),
        p.limit + 1
    );
    (sql, w.params)
}

/// Events from the millisecond `ts_ms` on, oldest first, `limit + 1` rows at
/// most. The whole millisecond comes again, not just what sorts after the last
/// id seen: ids are random, so within one millisecond their order says nothing
/// about which was published first, and keying on it would lose the events
/// that came later with a smaller id. The caller drops the event it resumes
/// after; live clients drop ids they already have (at least once, never lost).
pub(crate) fn since(d: Dialect, f: &Filter, ts_ms: u64, limit: usize) -> (String, Vec<SqlValue>) {
    page(
        d,
        f,
        &PageRequest {
            sort: Sort::OldestFirst,
            limit,
            cursor: Some(Cursor {
                sort: Sort::OldestFirst,
                score: 0,
                ts_ms,
                // Sorts before every id.
                id: String::new(),
            }),
        },
    )
}

/// What `since` returns, without the event resumed after.
pub(crate) fn after_seen(
    events: Vec<crate::events::Event>,
    seen: &str,
    limit: usize,
) -> Vec<crate::events::Event> {
    events
        .into_iter()
        .filter(|e| e.id != seen)
        .take(limit)
        .collect()
}

/// What a top-N list counts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Top {
    Ips,
    Paths,
    Rules,
    Classes,
    ScoreBands,
}

/// `SELECT key, count` over events in [from, to) that were blocked or flagged.
pub(crate) fn top(d: Dialect, what: Top, from: u64, to: u64, n: usize) -> (String, Vec<SqlValue>) {
    let mut w = Where::new(d);
    // Keys come back as text in both dialects.
    let text_key = |col: &str| format!("CAST({col} AS TEXT)");
    let (key, table, count, order) = match what {
        Top::Ips => (
            "e.client_ip".to_owned(),
            "events e",
            "COUNT(*)",
            "2 DESC, 1",
        ),
        Top::Paths => ("e.path".to_owned(), "events e", "COUNT(*)", "2 DESC, 1"),
        Top::Rules => (
            text_key("f.rule_id"),
            "event_findings f",
            "COUNT(*)",
            "2 DESC, 1",
        ),
        Top::Classes => (
            "f.class".to_owned(),
            "event_findings f",
            "COUNT(DISTINCT f.event_id)",
            "2 DESC, 1",
        ),
        Top::ScoreBands => (
            text_key("(e.score / 5) * 5"),
            "events e",
            "COUNT(*)",
            "MIN(e.score)",
        ),
    };
    let alias = if table.ends_with(" f") { "f" } else { "e" };
    let lo = w.bind(SqlValue::int(from));
    let hi = w.bind(SqlValue::int(to));
    w.and(&format!("{alias}.ts_ms >= {lo} AND {alias}.ts_ms < {hi}"));
    if alias == "e" {
        w.and("e.action <> 'allow'");
    }
    let limit = if matches!(what, Top::ScoreBands) {
        1000
    } else {
        n
    };
    let sql = format!(
        "SELECT {key}, {count} FROM {table}{} GROUP BY {key} ORDER BY {order} LIMIT {limit}",
        w.sql
    );
    (sql, w.params)
}
