//! The PostgreSQL store, for a cluster of Wafer nodes writing to one place.
//! One connection for writes (batches in a transaction) and one for reads,
//! each re-established on the next call after the server went away.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

use super::filter::{Dialect, SqlValue, sql_int};
use super::sql::{self, Top};
use super::{
    Count, Filter, Page, PageRequest, Retention, Stats, StatsQuery, Store, StoreFuture,
    StoreResult, TrafficMinute, schema,
};
use crate::events::Event;

pub struct PgStore {
    url: String,
    writer: Mutex<Option<Client>>,
    reader: Mutex<Option<Client>>,
    boot: String,
}

async fn connect(url: &str) -> StoreResult<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

fn boxed(params: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                SqlValue::Int(i) => Box::new(*i),
                SqlValue::Text(s) => Box::new(s.clone()),
            }
        })
        .collect()
}

fn refs(b: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    b.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect()
}

/// Events and the bytes they count for the size bound. PostgreSQL's files
/// keep the space of deleted rows for reuse (after autovacuum), so they are
/// not the measure: the documents plus a per-row allowance are.
fn size_sql() -> String {
    format!(
        "SELECT COUNT(*)::BIGINT, (COALESCE(SUM(octet_length(doc)), 0) + COUNT(*) * {})::BIGINT FROM events",
        super::PG_ROW_OVERHEAD
    )
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let client = connect(url).await?;
        // Nodes of a cluster start together: `CREATE ... IF NOT EXISTS` is
        // not safe against a concurrent twin in PostgreSQL (a duplicate key
        // in its catalog), so the set-up and upgrade run one node at a time.
        client
            .batch_execute("SELECT pg_advisory_lock(7305894621)")
            .await?;
        let prepared = Self::prepare(&client).await;
        client
            .batch_execute("SELECT pg_advisory_unlock(7305894621)")
            .await?;
        prepared?;
        Ok(PgStore {
            url: url.to_owned(),
            writer: Mutex::new(Some(client)),
            reader: Mutex::new(None),
            boot: super::boot_id().to_owned(),
        })
    }

    /// The tables, at this schema version.
    async fn prepare(client: &Client) -> StoreResult<()> {
        client
            .batch_execute(&schema::ddl(Dialect::Postgres))
            .await?;
        let row = client
            .query_opt("SELECT value FROM wafer_meta WHERE key = 'schema'", &[])
            .await?;
        match row.and_then(|r| r.get::<_, String>(0).parse::<i64>().ok()) {
            Some(v) if v > schema::VERSION => {
                return Err(super::StoreError::Other(format!(
                    "the database has schema version {v}; this Wafer knows up to {}",
                    schema::VERSION
                )));
            }
            Some(v) if v < schema::VERSION => {
                for step in schema::upgrades(Dialect::Postgres, v) {
                    client.batch_execute(step).await?;
                }
                // Never lowers it: a newer node may have upgraded further meanwhile.
                client
                    .execute(
                        "UPDATE wafer_meta SET value = $1 WHERE key = 'schema' AND value::BIGINT < $2",
                        &[&schema::VERSION.to_string(), &schema::VERSION],
                    )
                    .await?;
            }
            Some(_) => {}
            None => {
                client
                    .execute(
                        "INSERT INTO wafer_meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO NOTHING",
                        &[&schema::VERSION.to_string()],
                    )
                    .await?;
            }
        }
        client.batch_execute(schema::INDEXES).await?;
        Ok(())
    }

    /// The connection in `slot`, reconnecting if there is none or it closed.
    async fn client<'a>(
        &self,
        slot: &'a Mutex<Option<Client>>,
    ) -> StoreResult<tokio::sync::MutexGuard<'a, Option<Client>>> {
        let mut g = slot.lock().await;
        if g.as_ref().is_none_or(Client::is_closed) {
            *g = Some(connect(&self.url).await?);
        }
        Ok(g)
    }

    async fn docs(&self, sql: &str, params: &[SqlValue]) -> StoreResult<Vec<Event>> {
        let g = self.client(&self.reader).await?;
        let c = g.as_ref().expect("connected above");
        let b = boxed(params);
        let rows = c.query(sql, &refs(&b)).await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<_, &str>(0))?))
            .collect()
    }

    async fn counts(&self, (sql, params): (String, Vec<SqlValue>)) -> StoreResult<Vec<Count>> {
        let g = self.client(&self.reader).await?;
        let c = g.as_ref().expect("connected above");
        let b = boxed(&params);
        let rows = c.query(&sql, &refs(&b)).await?;
        Ok(rows
            .iter()
            .map(|r| Count {
                key: r.get::<_, String>(0),
                count: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            })
            .collect())
    }
}

impl Store for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn insert(&self, events: Vec<Arc<Event>>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut g = self.client(&self.writer).await?;
            let c = g.as_mut().expect("connected above");
            let tx = c.transaction().await?;
            let ev_st = tx
                .prepare(
                    "INSERT INTO events (id, ts_ms, client_ip, method, host, path, action, status, score, doc, site)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                )
                .await?;
            let f_st = tx
                .prepare("INSERT INTO event_findings (event_id, rule_id, class, ts_ms) VALUES ($1, $2, $3, $4)")
                .await?;
            for ev in &events {
                let doc = serde_json::to_string(&**ev)?;
                let status = ev.status.map(i64::from);
                let added = tx
                    .execute(
                        &ev_st,
                        &[
                            &ev.id,
                            &sql_int(ev.ts_ms),
                            &ev.client_ip.to_string(),
                            &ev.method,
                            &ev.host,
                            &ev.path,
                            &ev.action.as_str(),
                            &status,
                            &i64::from(ev.score),
                            &doc,
                            &ev.site,
                        ],
                    )
                    .await?;
                if added == 1 {
                    for (rule, class) in schema::finding_keys(ev) {
                        tx.execute(
                            &f_st,
                            &[&ev.id, &i64::from(rule), &class, &sql_int(ev.ts_ms)],
                        )
                        .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn query(&self, filter: Filter, page: PageRequest) -> StoreFuture<'_, Page> {
        Box::pin(async move {
            let (sql, params) = sql::page(Dialect::Postgres, &filter, &page);
            let mut events = self.docs(&sql, &params).await?;
            Ok(super::paginate(&mut events, &page))
        })
    }

    fn get(&self, id: String) -> StoreFuture<'_, Option<Event>> {
        Box::pin(async move {
            let g = self.client(&self.reader).await?;
            let c = g.as_ref().expect("connected above");
            let row = c
                .query_opt("SELECT doc FROM events WHERE id = $1", &[&id])
                .await?;
            Ok(row
                .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
                .transpose()?)
        })
    }

    fn since(&self, after: String, filter: Filter, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(async move {
            let ts: Option<i64> = {
                let g = self.client(&self.reader).await?;
                let c = g.as_ref().expect("connected above");
                c.query_opt("SELECT ts_ms FROM events WHERE id = $1", &[&after])
                    .await?
                    .map(|r| r.get(0))
            };
            let Some(ts) = ts else { return Ok(Vec::new()) };
            let (sql, params) = sql::since(Dialect::Postgres, &filter, ts.max(0) as u64, limit);
            Ok(sql::after_seen(
                self.docs(&sql, &params).await?,
                &after,
                limit,
            ))
        })
    }

    fn stats(&self, q: StatsQuery) -> StoreFuture<'_, Stats> {
        Box::pin(async move {
            let minutes: Vec<TrafficMinute> = {
                let g = self.client(&self.reader).await?;
                let c = g.as_ref().expect("connected above");
                let rows = c
                    .query(
                        "SELECT doc FROM traffic WHERE minute_ms >= $1 AND minute_ms < $2",
                        &[&sql_int(q.from_ms), &sql_int(q.to_ms)],
                    )
                    .await?;
                rows.iter()
                    .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
                    .collect::<Result<_, _>>()?
            };
            let d = Dialect::Postgres;
            Ok(Stats {
                from_ms: q.from_ms,
                to_ms: q.to_ms,
                bucket_ms: q.bucket_ms,
                series: super::series(&minutes, &q),
                top_ips: self
                    .counts(sql::top(d, Top::Ips, q.from_ms, q.to_ms, q.top))
                    .await?,
                top_paths: self
                    .counts(sql::top(d, Top::Paths, q.from_ms, q.to_ms, q.top))
                    .await?,
                top_rules: self
                    .counts(sql::top(d, Top::Rules, q.from_ms, q.to_ms, q.top))
                    .await?,
                top_classes: self
                    .counts(sql::top(d, Top::Classes, q.from_ms, q.to_ms, q.top))
                    .await?,
                score_histogram: self
                    .counts(sql::top(d, Top::ScoreBands, q.from_ms, q.to_ms, q.top))
                    .await?,
            })
        })
    }

    fn record_traffic(&self, minutes: Vec<TrafficMinute>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let g = self.client(&self.writer).await?;
            let c = g.as_ref().expect("connected above");
            for m in &minutes {
                c.execute(
                    "INSERT INTO traffic (minute_ms, node, boot, doc) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (minute_ms, node, boot) DO UPDATE SET doc = excluded.doc",
                    &[
                        &sql_int(m.minute_ms),
                        &m.node,
                        &self.boot,
                        &serde_json::to_string(m)?,
                    ],
                )
                .await?;
            }
            Ok(())
        })
    }

    fn prune(&self, r: Retention, now_ms: u64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut g = self.client(&self.writer).await?;
            let c = g.as_mut().expect("connected above");
            let tx = c.transaction().await?;
            let mut removed = 0;
            if r.max_age_ms > 0 {
                let cutoff = sql_int(now_ms.saturating_sub(r.max_age_ms));
                removed += tx
                    .execute("DELETE FROM events WHERE ts_ms < $1", &[&cutoff])
                    .await?;
                tx.execute("DELETE FROM event_findings WHERE ts_ms < $1", &[&cutoff])
                    .await?;
                tx.execute("DELETE FROM traffic WHERE minute_ms < $1", &[&cutoff])
                    .await?;
            }
            if r.max_events > 0 {
                let cutoff: Option<i64> = tx
                    .query_opt(
                        "SELECT ts_ms FROM events ORDER BY ts_ms DESC LIMIT 1 OFFSET $1",
                        &[&sql_int(r.max_events)],
                    )
                    .await?
                    .map(|row| row.get(0));
                if let Some(cutoff) = cutoff {
                    removed += tx
                        .execute("DELETE FROM events WHERE ts_ms <= $1", &[&cutoff])
                        .await?;
                    tx.execute("DELETE FROM event_findings WHERE ts_ms <= $1", &[&cutoff])
                        .await?;
                }
            }
            for _ in 0..8 {
                if r.max_bytes == 0 {
                    break;
                }
                let row = tx.query_one(&size_sql(), &[]).await?;
                let (n, used) = (
                    row.get::<_, i64>(0).max(0) as u64,
                    row.get::<_, i64>(1).max(0) as u64,
                );
                let remove = super::to_remove(used, r.max_bytes, n);
                if remove == 0 {
                    break;
                }
                let cutoff: i64 = tx
                    .query_one(
                        "SELECT ts_ms FROM events ORDER BY ts_ms LIMIT 1 OFFSET $1",
                        &[&sql_int(remove - 1)],
                    )
                    .await?
                    .get(0);
                removed += tx
                    .execute("DELETE FROM events WHERE ts_ms <= $1", &[&cutoff])
                    .await?;
                tx.execute("DELETE FROM event_findings WHERE ts_ms <= $1", &[&cutoff])
                    .await?;
            }
            tx.commit().await?;
            Ok(removed)
        })
    }

    fn size_bytes(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let g = self.client(&self.reader).await?;
            let c = g.as_ref().expect("connected above");
            let row = c.query_one(&size_sql(), &[]).await?;
            Ok(row.get::<_, i64>(1).max(0) as u64)
        })
    }

    fn count(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let g = self.client(&self.reader).await?;
            let c = g.as_ref().expect("connected above");
            let n: i64 = c
                .query_one("SELECT COUNT(*) FROM events", &[])
                .await?
                .get(0);
            Ok(n.max(0) as u64)
        })
    }
}
