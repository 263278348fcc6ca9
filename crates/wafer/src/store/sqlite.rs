//! The SQLite store: one file, WAL mode (readers never wait for the writer),
//! batched inserts in one transaction each. Calls run on tokio's blocking pool;
//! the writer and the readers have a connection each.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::filter::{Dialect, SqlValue, sql_int};
use super::sql::{self, Top};
use super::{
    Count, Filter, Page, PageRequest, Retention, Stats, StatsQuery, Store, StoreError, StoreFuture,
    StoreResult, TrafficMinute, schema,
};
use crate::events::Event;

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    boot: String,
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // WAL with NORMAL is durable across process crashes (not power loss), at a
    // fraction of FULL's fsyncs.
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", "OFF")?;
    // Fewer, larger checkpoints (each one syncs) and a page cache that holds the
    // indexes' hot pages: the writer's cost per event is mostly B-tree pages.
    c.pragma_update(None, "wal_autocheckpoint", 8000)?;
    c.pragma_update(None, "cache_size", -32_000)?;
    Ok(c)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Other(format!("creating {}: {e}", dir.display())))?;
        }
        let mut writer = connect(path)?;
        writer.execute_batch(&schema::ddl(Dialect::Sqlite))?;
        let version: Option<String> = writer
            .query_row(
                "SELECT value FROM wafer_meta WHERE key = 'schema'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > schema::VERSION => {
                return Err(StoreError::Other(format!(
                    "{} has schema version {v}; this Wafer knows up to {}",
                    path.display(),
                    schema::VERSION
                )));
            }
            Some(v) if v < schema::VERSION => {
                let tx = writer.transaction()?;
                for step in schema::upgrades(Dialect::Sqlite, v) {
                    tx.execute_batch(step)?;
                }
                tx.execute(
                    "UPDATE wafer_meta SET value = ?1 WHERE key = 'schema'",
                    [schema::VERSION.to_string()],
                )?;
                tx.commit()?;
            }
            Some(_) => {}
            None => {
                writer.execute(
                    "INSERT INTO wafer_meta (key, value) VALUES ('schema', ?1)",
                    [schema::VERSION.to_string()],
                )?;
            }
        }
        writer.execute_batch(schema::INDEXES)?;
        let reader = connect(path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
                boot: super::boot_id().to_owned(),
            }),
        })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&inner))
                .await
                .map_err(|e| StoreError::Other(format!("store task: {e}")))?
        })
    }
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves a usable connection (SQLite rolls
    // back an unfinished transaction), so poisoning is not fatal.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn to_sql(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

/// Bytes in use: the database's pages minus the free ones (deleted rows'
/// pages are reused, so the file itself stays near its high-water mark).
fn used_bytes(c: &Connection) -> StoreResult<u64> {
    let pragma = |name: &str| -> StoreResult<i64> {
        Ok(c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?)
    };
    let used = (pragma("page_count")? - pragma("freelist_count")?).max(0) * pragma("page_size")?;
    Ok(used.max(0) as u64)
}

fn docs(c: &Connection, sql: &str, params: &[SqlValue]) -> StoreResult<Vec<Event>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(params_from_iter(params.iter().map(to_sql)), |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for doc in rows {
        out.push(serde_json::from_str(&doc?)?);
    }
    Ok(out)
}

fn counts(c: &Connection, (sql, params): (String, Vec<SqlValue>)) -> StoreResult<Vec<Count>> {
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(params.iter().map(to_sql)), |r| {
        Ok(Count {
            key: r.get::<_, String>(0)?,
            count: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn insert(&self, events: Vec<Arc<Event>>) -> StoreFuture<'_, ()> {
        self.run(move |inner| {
            let mut c = lock(&inner.writer);
            let tx = c.transaction()?;
            {
                let mut ev_st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO events (id, ts_ms, client_ip, method, host, path, action, status, score, doc, site)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                let mut f_st = tx.prepare_cached(
                    "INSERT INTO event_findings (event_id, rule_id, class, ts_ms) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for ev in &events {
                    let doc = serde_json::to_string(&**ev)?;
                    let added = ev_st.execute(params![
                        ev.id,
                        sql_int(ev.ts_ms),
                        ev.client_ip.to_string(),
                        ev.method,
                        ev.host,
                        ev.path,
                        ev.action.as_str(),
                        ev.status,
                        ev.score,
                        doc,
                        ev.site
                    ])?;
                    if added == 1 {
                        for (rule, class) in schema::finding_keys(ev) {
                            f_st.execute(params![ev.id, rule, class, sql_int(ev.ts_ms)])?;
                        }
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn query(&self, filter: Filter, page: PageRequest) -> StoreFuture<'_, Page> {
        self.run(move |inner| {
            let (sql, params) = sql::page(Dialect::Sqlite, &filter, &page);
            let mut events = docs(&lock(&inner.reader), &sql, &params)?;
            Ok(super::paginate(&mut events, &page))
        })
    }

    fn get(&self, id: String) -> StoreFuture<'_, Option<Event>> {
        self.run(move |inner| {
            let doc: Option<String> = lock(&inner.reader)
                .query_row("SELECT doc FROM events WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?;
            Ok(doc.map(|d| serde_json::from_str(&d)).transpose()?)
        })
    }

    fn since(&self, after: String, filter: Filter, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        self.run(move |inner| {
            let c = lock(&inner.reader);
            let ts: Option<i64> = c
                .query_row("SELECT ts_ms FROM events WHERE id = ?1", [&after], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(ts) = ts else { return Ok(Vec::new()) };
            let (sql, params) = sql::since(Dialect::Sqlite, &filter, ts.max(0) as u64, limit);
            Ok(sql::after_seen(docs(&c, &sql, &params)?, &after, limit))
        })
    }

    fn stats(&self, q: StatsQuery) -> StoreFuture<'_, Stats> {
        self.run(move |inner| {
            let c = lock(&inner.reader);
            let mut st = c.prepare_cached(
                "SELECT doc FROM traffic WHERE minute_ms >= ?1 AND minute_ms < ?2",
            )?;
            let rows = st.query_map(params![sql_int(q.from_ms), sql_int(q.to_ms)], |r| {
                r.get::<_, String>(0)
            })?;
            let mut minutes: Vec<TrafficMinute> = Vec::new();
            for doc in rows {
                minutes.push(serde_json::from_str(&doc?)?);
            }
            drop(st);
            let d = Dialect::Sqlite;
            let top = |what| counts(&c, sql::top(d, what, q.from_ms, q.to_ms, q.top));
            Ok(Stats {
                from_ms: q.from_ms,
                to_ms: q.to_ms,
                bucket_ms: q.bucket_ms,
                series: super::series(&minutes, &q),
                top_ips: top(Top::Ips)?,
                top_paths: top(Top::Paths)?,
                top_rules: top(Top::Rules)?,
                top_classes: top(Top::Classes)?,
                score_histogram: top(Top::ScoreBands)?,
            })
        })
    }

    fn record_traffic(&self, minutes: Vec<TrafficMinute>) -> StoreFuture<'_, ()> {
        self.run(move |inner| {
            let mut c = lock(&inner.writer);
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO traffic (minute_ms, node, boot, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (minute_ms, node, boot) DO UPDATE SET doc = excluded.doc",
                )?;
                for m in &minutes {
                    st.execute(params![
                        sql_int(m.minute_ms),
                        m.node,
                        inner.boot,
                        serde_json::to_string(m)?
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn prune(&self, r: Retention, now_ms: u64) -> StoreFuture<'_, u64> {
        self.run(move |inner| {
            let mut c = lock(&inner.writer);
            let tx = c.transaction()?;
            let mut removed = 0u64;
            if r.max_age_ms > 0 {
                let cutoff = sql_int(now_ms.saturating_sub(r.max_age_ms));
                removed += tx.execute("DELETE FROM events WHERE ts_ms < ?1", [cutoff])? as u64;
                tx.execute("DELETE FROM event_findings WHERE ts_ms < ?1", [cutoff])?;
                tx.execute("DELETE FROM traffic WHERE minute_ms < ?1", [cutoff])?;
            }
            if r.max_events > 0 {
                let cutoff: Option<i64> = tx
                    .query_row(
                        "SELECT ts_ms FROM events ORDER BY ts_ms DESC LIMIT 1 OFFSET ?1",
                        [sql_int(r.max_events)],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(cutoff) = cutoff {
                    removed += tx.execute("DELETE FROM events WHERE ts_ms <= ?1", [cutoff])? as u64;
                    tx.execute("DELETE FROM event_findings WHERE ts_ms <= ?1", [cutoff])?;
                }
            }
            // A few rounds: each removes the share of rows the excess is of the
            // bytes, which is close when events are of similar sizes.
            for _ in 0..8 {
                if r.max_bytes == 0 {
                    break;
                }
                let used = used_bytes(&tx)?;
                let n: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))?;
                let remove = super::to_remove(used, r.max_bytes, n.max(0) as u64);
                if remove == 0 {
                    break;
                }
                let cutoff: i64 = tx.query_row(
                    "SELECT ts_ms FROM events ORDER BY ts_ms LIMIT 1 OFFSET ?1",
                    [sql_int(remove - 1)],
                    |row| row.get(0),
                )?;
                removed += tx.execute("DELETE FROM events WHERE ts_ms <= ?1", [cutoff])? as u64;
                tx.execute("DELETE FROM event_findings WHERE ts_ms <= ?1", [cutoff])?;
            }
            tx.commit()?;
            Ok(removed)
        })
    }

    fn size_bytes(&self) -> StoreFuture<'_, u64> {
        self.run(|inner| used_bytes(&lock(&inner.reader)))
    }

    fn count(&self) -> StoreFuture<'_, u64> {
        self.run(|inner| {
            let n: i64 =
                lock(&inner.reader).query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }
}
