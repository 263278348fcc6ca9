//! Each site's policy over HTTP: the whole document (GET, and PUT guarded by
//! its ETag so that two editors cannot overwrite each other unseen), and the
//! two one-click changes the dashboard makes from an event: exclude a rule on
//! a path, and put an address on the allow or block list. `?site=NAME` names
//! the site (`GET /api/sites` lists them); without it, the primary site (the
//! default site, else the first) is meant, as before sites existed.
//!
//! Every change goes the same way: under one lock, take the current document,
//! change it, validate it whole, save it, then swap it in.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminState;
use super::api::{ApiError, ApiResult};
use super::policy::{ChangeError, ExclusionDoc, PolicyDoc, etag};

/// `?site=NAME`: the site whose policy is meant.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SiteQuery {
    site: Option<String>,
}

fn answer(site: &str, doc: &PolicyDoc) -> Response {
    let mut r = Json(doc).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(doc)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Which site this is, when none was named.
    if let Ok(v) = HeaderValue::from_str(site) {
        r.headers_mut().insert("x-wafer-site", v);
    }
    r
}

fn no_site(name: Option<&str>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no site is named {:?} (GET /api/sites lists them)",
            name.unwrap_or_default()
        ),
    )
}

pub(crate) async fn get(
    State(s): State<Arc<AdminState>>,
    Query(q): Query<SiteQuery>,
) -> ApiResult<Response> {
    let (name, live) = s
        .keeper
        .site(q.site.as_deref())
        .ok_or_else(|| no_site(q.site.as_deref()))?;
    Ok(answer(&name, &PolicyDoc::of_site(&live.snapshot())))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| bad(format!("{what}: {e}")))
}

pub(crate) async fn put(
    State(s): State<Arc<AdminState>>,
    Query(q): Query<SiteQuery>,
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
    change(&s, q.site.as_deref(), if_match.as_deref(), |d| *d = doc).await
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
    Query(q): Query<SiteQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let add: ExclusionAdd = json("exclusion", &body)?;
    let rule = add.rule.trim().to_owned();
    change(&s, q.site.as_deref(), None, move |d| {
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
    Query(q): Query<SiteQuery>,
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
    change(&s, q.site.as_deref(), None, move |d| {
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
    site: Option<&str>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc),
) -> ApiResult<Response> {
    let (name, doc) = commit(s, site, if_match, edit).await?;
    Ok(answer(&name, &doc))
}

/// What [`change`] does, returning the document now in force (for handlers
/// that answer with more than the policy, such as accepting a suggestion).
pub(super) async fn commit(
    s: &Arc<AdminState>,
    site: Option<&str>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc),
) -> ApiResult<(String, PolicyDoc)> {
    let (name, saved) = super::policy::apply(&s.keeper, site, if_match, edit)
        .await
        .map_err(|e| match e {
            ChangeError::NoSite => no_site(site),
            other => other.into(),
        })?;
    tracing::info!(site = %name, "policy changed through the admin API");
    super::policy_sync::publish(&s.keeper, &name, &saved).await;
    Ok((name, saved))
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
            ChangeError::NoSite => ApiError::new(StatusCode::NOT_FOUND, "no such site"),
        }
    }
}
