//! The tables both stores keep. One events row per decision, with the columns
//! filters and indexes need and the whole event as JSON (`doc`); one row per
//! (event, rule) in `event_findings` so that rule and class filters and top-N
//! lists use an index; per-minute traffic rows, one per node and process.

use super::filter::Dialect;

/// Bumped when the tables change; a store refuses a newer schema than it
/// knows and upgrades an older one ([`upgrades`]).
/// 2: `events.site`.
pub(crate) const VERSION: i64 = 2;

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
    site TEXT NOT NULL DEFAULT '',
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

/// What takes a store at schema `from` to [`VERSION`], one statement a
/// step; then [`indexes`]. Each step also runs on a store made at `from`
/// after a newer node upgraded it (a cluster's nodes start at once): the
/// Postgres statement is idempotent, and SQLite has one writer.
pub(crate) fn upgrades(d: Dialect, from: i64) -> Vec<&'static str> {
    let mut steps = Vec::new();
    if from < 2 {
        steps.push(match d {
            Dialect::Sqlite => "ALTER TABLE events ADD COLUMN site TEXT NOT NULL DEFAULT ''",
            Dialect::Postgres => {
                "ALTER TABLE events ADD COLUMN IF NOT EXISTS site TEXT NOT NULL DEFAULT ''"
            }
        });
    }
    steps
}

/// Indexes on columns later versions added: made once the columns are there.
pub(crate) const INDEXES: &str = "CREATE INDEX IF NOT EXISTS events_site ON events (site, ts_ms);";

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
