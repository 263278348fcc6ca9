//! The policy over HTTP: the whole document (GET, and PUT guarded by its
//! ETag so that two editors cannot overwrite each other unseen), and the two
//! one-click changes the dashboard makes from an event: exclude a rule on a
//! path, and put an address on the allow or block list.
//!
//! Every change goes the same way: under one lock, take the current document,
//! change it, validate it whole, save it, then swap it in.

use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminState;
use super::api::{ApiError, ApiResult};
use super::policy::{ExclusionDoc, PolicyDoc};

/// A tag that changes whenever the document does.
fn etag(doc: &PolicyDoc) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(doc).unwrap_or_default().hash(&mut h);
    format!("\"p-{:016x}\"", h.finish())
}

fn current(s: &AdminState) -> PolicyDoc {
    let p = s.keeper.live.snapshot();
    PolicyDoc::of(&p.engine, &p.ip_lists)
}

fn answer(doc: &PolicyDoc) -> Response {
    let mut r = Json(doc).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(doc)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn get(State(s): State<Arc<AdminState>>) -> Response {
    answer(&current(&s))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| bad(format!("{what}: {e}")))
}

pub async fn put(
    State(s): State<Arc<AdminState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let doc: PolicyDoc = json("policy document", &body)?;
    let if_match = match headers.get(header::IF_MATCH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| bad("If-Match: not a valid tag"))?
                .to_owned(),
        ),
    };
    change(&s, if_match.as_deref(), |d| {
        *d = doc;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionAdd {
    path: String,
    rule: String,
}

/// Adds `rule` to the exclusion for exactly `path`, creating it if needed.
pub async fn add_exclusion(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let add: ExclusionAdd = json("exclusion", &body)?;
    let rule = add.rule.trim().to_owned();
    change(&s, None, move |d| {
        // Only an exclusion that covers the whole request takes the rule: one
        // narrowed to some arguments would narrow this rule too.
        match d
            .exclusions
            .iter_mut()
            .find(|e| e.path == add.path && e.args.is_empty())
        {
            Some(e) if e.rules.contains(&rule) => {}
            Some(e) => e.rules.push(rule),
            None => d.exclusions.push(ExclusionDoc {
                path: add.path,
                rules: vec![rule],
                args: Vec::new(),
            }),
        }
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpAdd {
    list: String,
    cidr: String,
}

/// Puts an address or network on the allow or the block list.
pub async fn add_ip(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let add: IpAdd = json("ip list entry", &body)?;
    let net = crate::config::parse_net(add.cidr.trim())
        .map_err(|e| bad(format!("cidr: {e}")))?
        .to_string();
    change(&s, None, move |d| {
        let list = match add.list.as_str() {
            "allow" => &mut d.ip.allow,
            "block" => &mut d.ip.block,
            other => return Err(bad(format!("list: allow or block, not {other:?}"))),
        };
        if !list.contains(&net) {
            list.push(net);
        }
        Ok(())
    })
    .await
}

/// Applies `edit` to the current document: validated whole, saved, swapped in,
/// and shared with the cluster when there is one.
/// With `if_match`, refuses (412) when the document is no longer that one.
async fn change(
    s: &Arc<AdminState>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc) -> ApiResult<()>,
) -> ApiResult<Response> {
    Ok(answer(&commit(s, if_match, edit).await?))
}

/// What [`change`] does, returning the document now in force (for handlers
/// that answer with more than the policy, such as accepting a suggestion).
pub(super) async fn commit(
    s: &Arc<AdminState>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc) -> ApiResult<()>,
) -> ApiResult<PolicyDoc> {
    let saved = apply(&s.keeper, if_match, edit).await?;
    tracing::info!("policy changed through the admin API");
    super::policy_sync::publish(&s.keeper, &saved).await;
    Ok(saved)
}

/// The one way a policy changes, from the API or from the cluster: under the
/// lock, validated whole, saved to the keeper's file, swapped in at once.
pub(crate) async fn apply(
    keeper: &super::keeper::PolicyKeeper,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc) -> ApiResult<()>,
) -> ApiResult<PolicyDoc> {
    // One change at a time, so that two writers cannot interleave their swaps.
    let _guard = keeper.lock.lock().await;
    let protection = keeper.live.snapshot();
    let mut doc = PolicyDoc::of(&protection.engine, &protection.ip_lists);
    if let Some(tag) = if_match
        && tag != "*"
        && tag != etag(&doc)
    {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "the policy changed since it was read: reload it and apply the change again",
        ));
    }
    edit(&mut doc)?;
    let (policy, ip) = doc
        .build(protection.engine.policy())
        .map_err(|errs| ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("policy has {} problem(s)", errs.len()),
            details: errs,
        })?;
    let engine = protection.engine.with_policy(policy);
    let saved = PolicyDoc::of(&engine, &ip);
    if let Some(path) = &keeper.path {
        let path = path.clone();
        let doc = saved.clone();
        tokio::task::spawn_blocking(move || super::policy::save(&path, &doc))
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("saving the policy: {e}"),
                )
            })?;
    }
    keeper.live.replace(crate::protection::Protection {
        engine,
        ip_lists: ip,
    });
    Ok(saved)
}
