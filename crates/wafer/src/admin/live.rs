//! Live views: Server-Sent Events of security events (filtered, resumable
//! with `Last-Event-ID`), and a WebSocket tap with events and per-second
//! traffic telemetry. A slow client skips events and is told how many; it
//! never slows the proxy or other clients.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::AdminState;
use super::api::{ApiError, ApiResult, pairs};
use crate::events::Event;
use crate::store::filter::{self, Filter};

/// Stored events replayed to a resuming client, at most.
const REPLAY_MAX: usize = 10_000;

fn sse_event(ev: &Event) -> SseEvent {
    SseEvent::default()
        .id(ev.id.clone())
        .event("waf")
        .data(serde_json::to_string(ev).unwrap_or_default())
}

pub(crate) async fn sse(
    State(s): State<Arc<AdminState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p = pairs(q.as_deref())?;
    let (f, _) = filter::parse_query(
        p.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["last_event_id"],
    )?;
    // EventSource sends the header on reconnects; a first connection can say it in the query.
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            p.iter()
                .find(|(k, _)| k == "last_event_id")
                .map(|(_, v)| v.clone())
        })
        .filter(|id| filter::valid_id(id));
    // Subscribe before replaying, so nothing published meanwhile is missed;
    // then let the store take what was published before, which would
    // otherwise be in neither the feed nor the store yet.
    let mut rx = s.events.subscribe();
    let replay = match &last {
        Some(id) => {
            s.events.store_caught_up(Duration::from_secs(2)).await;
            s.store
                .since(id.clone(), f.clone(), REPLAY_MAX)
                .await
                .map_err(ApiError::from)?
        }
        None => Vec::new(),
    };
    let (tx, out) = mpsc::channel::<Result<SseEvent, Infallible>>(256);
    tokio::spawn(async move {
        // Something at once, so the headers go out and the client knows the
        // stream is open before the first event (and how soon to retry).
        let hello = SseEvent::default()
            .comment("connected")
            .retry(Duration::from_secs(2));
        if tx.send(Ok(hello)).await.is_err() {
            return;
        }
        let mut replayed: HashSet<String> = HashSet::with_capacity(replay.len());
        for ev in &replay {
            replayed.insert(ev.id.clone());
            if tx.send(Ok(sse_event(ev))).await.is_err() {
                return;
            }
        }
        loop {
            let msg = match rx.recv().await {
                Ok(ev) if f.matches(&ev) && !replayed.contains(&ev.id) => sse_event(&ev),
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => SseEvent::default()
                    .event("lagged")
                    .data(format!("{{\"missed\":{n}}}")),
                Err(RecvError::Closed) => return,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|item| (item, out))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

pub(crate) async fn ws(
    State(s): State<Arc<AdminState>>,
    RawQuery(q): RawQuery,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let p = pairs(q.as_deref())?;
    let (f, _) = filter::parse_query(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[])?;
    Ok(upgrade.on_upgrade(move |socket| tap(socket, s, f)))
}

async fn tap(mut socket: WebSocket, s: Arc<AdminState>, f: Filter) {
    let mut events = s.events.subscribe();
    let mut telemetry = s.telemetry.subscribe();
    loop {
        let text = tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) if f.matches(&ev) => serde_json::json!({"type": "event", "event": &*ev}).to_string(),
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => serde_json::json!({"type": "lagged", "missed": n}).to_string(),
                Err(RecvError::Closed) => break,
            },
            t = telemetry.recv() => match t {
                Ok(t) => serde_json::to_string(&*t).unwrap_or_default(),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                // Clients have nothing to say; pings are answered by axum.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            break;
        }
    }
}
