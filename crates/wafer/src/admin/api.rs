//! The JSON API: events (filtered, sorted, paged), one event, statistics,
//! export, and the policy.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AdminState;
use crate::config::ConfigError;
use crate::store::filter::{self, FilterError};
use crate::store::{StatsQuery, StoreError};

/// An error answer: a status and a message saying what to change.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) details: Vec<String>,
    /// A refused document's problems, each naming its key as the config
    /// file's would (`errors`; also written as `details` lines, which the
    /// dashboard shows).
    pub(super) errors: Vec<ConfigError>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            details: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// 400 for a document with these problems.
    pub(crate) fn invalid(message: impl Into<String>, errors: Vec<ConfigError>) -> ApiError {
        ApiError {
            details: errors.iter().map(ToString::to_string).collect(),
            errors,
            ..ApiError::new(StatusCode::BAD_REQUEST, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if !self.details.is_empty() {
            body["details"] = json!(self.details);
        }
        if !self.errors.is_empty() {
            body["errors"] = json!(self.errors);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "event store query failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("event store: {e}"))
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Query pairs, or 400 when the query string is not valid form encoding.
pub(crate) fn pairs(q: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    match q {
        None => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad query string: {e}"))),
    }
}

fn borrowed(p: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

pub(crate) async fn events(
    State(s): State<Arc<AdminState>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p = pairs(q.as_deref())?;
    let (f, page) = filter::parse_query(borrowed(&p), &[])?;
    let page = s.store.query(f, page).await?;
    Ok(Json(page).into_response())
}

pub(crate) async fn event(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if !filter::valid_id(&id) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "not an event id"));
    }
    match s.store.get(id.clone()).await? {
        Some(ev) => Ok(Json(ev).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no event {id}"),
        )),
    }
}

/// `60000`, `60s`, `5m`, `1h`, `1d`.
fn parse_duration_ms(v: &str) -> Option<u64> {
    v.parse().ok().or_else(|| filter::span_ms(v))
}

pub(crate) async fn stats(
    State(s): State<Arc<AdminState>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p = pairs(q.as_deref())?;
    let now = crate::clock::now_ms();
    let mut from = None;
    let mut to = None;
    let mut bucket = None;
    let mut top = 10;
    let bad = |name: &str, msg: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad parameter {name:?}: {msg}"),
        )
    };
    for (k, v) in &p {
        match k.as_str() {
            "from" => from = Some(filter::parse_time(k, v)?),
            "to" => to = Some(filter::parse_time(k, v)?),
            "bucket" => {
                bucket = Some(
                    parse_duration_ms(v)
                        .filter(|b| *b >= 60_000)
                        .ok_or_else(|| bad("bucket", "a duration of at least 1m (60s, 5m, 1h)"))?,
                )
            }
            "top" => {
                top = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| bad("top", "1 to 100"))?
            }
            _ => return Err(bad(k, "unknown parameter (from, to, bucket, top)")),
        }
    }
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to.saturating_sub(3_600_000));
    if from >= to {
        return Err(bad("from", "must be before `to`"));
    }
    // About 60 buckets by default; never more than 2000.
    let span = to - from;
    let bucket = bucket
        .unwrap_or_else(|| (span / 60).max(60_000).div_ceil(60_000) * 60_000)
        .max(span.div_ceil(2000));
    let stats = s
        .store
        .stats(StatsQuery {
            from_ms: from,
            to_ms: to,
            bucket_ms: bucket,
            top,
        })
        .await?;
    Ok(Json(stats).into_response())
}

/// Most events one export returns.
const EXPORT_MAX: usize = 1_000_000;

pub(crate) async fn export(
    State(s): State<Arc<AdminState>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p = pairs(q.as_deref())?;
    let format = p
        .iter()
        .find(|(k, _)| k == "format")
        .map_or("jsonl", |(_, v)| v.as_str())
        .to_owned();
    if format != "jsonl" && format != "csv" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad parameter \"format\": jsonl or csv",
        ));
    }
    let (f, mut page) = filter::parse_query(borrowed(&p), &["format"])?;
    let total_limit = if p.iter().any(|(k, _)| k == "limit") {
        page.limit
    } else {
        EXPORT_MAX
    };
    page.limit = filter::PAGE_MAX.min(total_limit);
    // Check the filter against the store before the 200 goes out.
    let first = s.store.query(f.clone(), page.clone()).await?;
    let csv = format == "csv";
    let store = Arc::clone(&s.store);
    let stream = futures_util::stream::unfold(
        (Next::First(first), page, 0usize),
        move |(next, mut page, sent)| {
            let store = Arc::clone(&store);
            let f = f.clone();
            async move {
                let first_batch = matches!(next, Next::First(_));
                let batch = match next {
                    Next::Done => return None,
                    Next::First(b) => b,
                    Next::Fetch => match store.query(f, page.clone()).await {
                        Ok(b) => b,
                        Err(e) => {
                            // The status is gone already: the body just ends early.
                            tracing::error!(error = %e, "export stopped");
                            return None;
                        }
                    },
                };
                let take = batch.events.len().min(total_limit.saturating_sub(sent));
                let out = export_lines(&batch.events[..take], csv, first_batch);
                let sent = sent + take;
                page.cursor = batch
                    .next_cursor
                    .filter(|_| sent < total_limit)
                    .and_then(|c| filter::Cursor::decode(&c).ok());
                let next = if page.cursor.is_some() {
                    Next::Fetch
                } else {
                    Next::Done
                };
                Some((Ok::<_, std::io::Error>(out), (next, page, sent)))
            }
        },
    );
    let (ctype, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "jsonl")
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"wafer-events.{ext}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// One batch of an export as text: CSV rows (after the header, for the
/// first batch) or JSON lines.
fn export_lines(events: &[crate::events::Event], csv: bool, first_batch: bool) -> String {
    let mut out = String::new();
    if csv && first_batch {
        out.push_str(CSV_HEADER);
    }
    for ev in events {
        if csv {
            csv_row(&mut out, ev);
        } else {
            out.push_str(&serde_json::to_string(ev).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

const CSV_HEADER: &str =
    "id,time_ms,client_ip,method,host,path,query,action,status,score,classes,rules,user_agent\n";

fn csv_field(out: &mut String, v: &str) {
    // Quote everything; a leading = + - @ is defused so spreadsheets do not run it.
    out.push('"');
    if v.starts_with(['=', '+', '-', '@']) {
        out.push('\'');
    }
    out.push_str(&v.replace('"', "\"\""));
    out.push('"');
}

fn csv_row(out: &mut String, ev: &crate::events::Event) {
    let mut classes: Vec<&str> = ev.findings.iter().map(|f| f.class.as_str()).collect();
    classes.sort_unstable();
    classes.dedup();
    let rules: Vec<String> = ev.findings.iter().map(|f| f.rule_id.to_string()).collect();
    let fields = [
        ev.id.clone(),
        ev.ts_ms.to_string(),
        ev.client_ip.to_string(),
        ev.method.clone(),
        ev.host.clone(),
        ev.path.clone(),
        ev.query.clone(),
        ev.action.as_str().to_owned(),
        ev.status.map(|s| s.to_string()).unwrap_or_default(),
        ev.score.to_string(),
        classes.join(" "),
        rules.join(" "),
        ev.user_agent.clone(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push('\n');
}

/// Where an export is between pages.
enum Next {
    First(crate::store::Page),
    Fetch,
    Done,
}
