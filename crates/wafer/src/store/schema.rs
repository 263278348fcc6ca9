//! The tables both stores keep. One events row per decision, with the columns
//! filters and indexes need and the whole event as JSON (`doc`); one row per
//! (event, rule) in `event_findings` so that rule and class filters and top-N
//! lists use an index; per-minute traffic rows, one per node and process.

use super::filter::Dialect;

/// Bumped when the tables change; a store refuses a newer schema than it knows.
pub(crate) const VERSION: i64 = 1;

pub(crate) fn ddl(d: Dialect) -> String {
    let (int, big) = match d {
        Dialect::Sqlite => ("INTEGER", "INTEGER"),
        // BIGINT throughout: parameters are bound as i64, and Postgres will
        // not take an i64 for an INTEGER column.
        Dialect::Postgres => ("BIGINT", "BIGINT"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS wafer_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    ts_ms {big} NOT NULL,
    client_ip TEXT NOT NULL,
    method TEXT NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    action TEXT NOT NULL,
    status {int},
    score {int} NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
CREATE INDEX IF NOT EXISTS events_ip ON events (client_ip, ts_ms);
CREATE INDEX IF NOT EXISTS events_action ON events (action, ts_ms);
CREATE INDEX IF NOT EXISTS events_path ON events (path);
CREATE TABLE IF NOT EXISTS event_findings (
    event_id TEXT NOT NULL,
    rule_id {int} NOT NULL,
    class TEXT NOT NULL,
    ts_ms {big} NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_event ON event_findings (event_id);
CREATE INDEX IF NOT EXISTS findings_rule ON event_findings (rule_id, ts_ms);
CREATE INDEX IF NOT EXISTS findings_class ON event_findings (class, ts_ms);
CREATE INDEX IF NOT EXISTS findings_ts ON event_findings (ts_ms);
CREATE TABLE IF NOT EXISTS traffic (
    minute_ms {big} NOT NULL,
    node TEXT NOT NULL,
    boot TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (minute_ms, node, boot)
);"
    )
}

/// Distinct (rule, class) pairs of an event, for `event_findings`.
pub(crate) fn finding_keys(ev: &crate::events::Event) -> Vec<(u32, &'static str)> {
    let mut keys: Vec<(u32, &'static str)> = ev
        .findings
        .iter()
        .map(|f| (f.rule_id, f.class.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}
