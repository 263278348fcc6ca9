//! The policy over HTTP: the whole document (GET, and PUT guarded by its
//! ETag so that two editors cannot overwrite each other unseen), and the two
//! one-click changes the dashboard makes from an event: exclude a rule on a
//! path, and put an address on the allow or block list.
//!
//! Every change goes the same way: under one lock, take the current document,
//! change it, validate it whole, save it, then swap it in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminState;
use super::api::{ApiError, ApiResult};
use super::policy::{ChangeError, ExclusionDoc, PolicyDoc, etag};

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

pub(crate) async fn get(State(s): State<Arc<AdminState>>) -> Response {
    answer(&current(&s))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| bad(format!("{what}: {e}")))
}

pub(crate) async fn put(
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
    change(&s, if_match.as_deref(), |d| *d = doc).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExclusionAdd {
    path: String,
    rule: String,
}

/// Adds `rule` to the exclusion for exactly `path`, creating it if needed.
pub(crate) async fn add_exclusion(
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
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IpAdd {
    list: String,
    cidr: String,
}

/// Puts an address or network on the allow or the block list.
pub(crate) async fn add_ip(
    State(s): State<Arc<AdminState>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let add: IpAdd = json("ip list entry", &body)?;
    let net = crate::guard::parse_net(add.cidr.trim())
        .map_err(|e| bad(format!("cidr: {e}")))?
        .to_string();
    let block = match add.list.as_str() {
        "allow" => false,
        "block" => true,
        other => return Err(bad(format!("list: allow or block, not {other:?}"))),
    };
    change(&s, None, move |d| {
        let list = if block {
            &mut d.ip.block
        } else {
            &mut d.ip.allow
        };
        if !list.contains(&net) {
            list.push(net);
        }
    })
    .await
}

/// Applies `edit` to the current document: validated whole, saved, swapped in,
/// and shared with the cluster when there is one.
/// With `if_match`, refuses (412) when the document is no longer that one.
async fn change(
    s: &Arc<AdminState>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc),
) -> ApiResult<Response> {
    Ok(answer(&commit(s, if_match, edit).await?))
}

/// What [`change`] does, returning the document now in force (for handlers
/// that answer with more than the policy, such as accepting a suggestion).
pub(super) async fn commit(
    s: &Arc<AdminState>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc),
) -> ApiResult<PolicyDoc> {
    let saved = super::policy::apply(&s.keeper, if_match, edit).await?;
    tracing::info!("policy changed through the admin API");
    super::policy_sync::publish(&s.keeper, &saved).await;
    Ok(saved)
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> ApiError {
        match e {
            ChangeError::Stale => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "the policy changed since it was read: reload it and apply the change again",
            ),
            ChangeError::Invalid(errors) => {
                ApiError::invalid(format!("policy has {} problem(s)", errors.len()), errors)
            }
            ChangeError::Save(message) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}
