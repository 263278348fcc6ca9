//! The answers to an ACME CA's HTTP-01 checks (RFC 8555 §8.3) in progress,
//! for the proxy to serve before any other step.
//!
//! In a cluster the CA's check may reach any node behind the site's address,
//! not the one that ordered: with Redis, a node's answers are also written
//! there (`wafer:acme:token:<token>`, for as long as an order may take), and
//! a node asked for a token it does not have looks it up there. Only a
//! well-formed token (base64url, at most 128 characters) is looked up, so a
//! flood of odd paths under the prefix costs no Redis call.

use std::collections::HashMap;
use std::sync::Arc;

use crate::guard::redis::RedisLink;

/// Where the CA's checks are asked for.
const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";
/// How long a shared answer is kept: longer than an order waits for the CA.
const SHARED_TTL_MS: u64 = 15 * 60 * 1000;

/// The answers to the CA's HTTP-01 checks in progress: token → key authorization.
#[derive(Default)]
pub struct Challenges {
    local: std::sync::RwLock<HashMap<String, String>>,
    /// The cluster's Redis: answers shared with the other nodes.
    redis: Option<Arc<RedisLink>>,
}

fn shared_key(token: &str) -> String {
    format!("wafer:acme:token:{token}")
}

/// A token as ACME makes them (RFC 8555 §8.1: base64url, 128 bits or more).
fn well_formed(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Challenges {
    /// Answers shared through `redis` with the other nodes.
    pub fn shared(redis: Option<Arc<RedisLink>>) -> Challenges {
        Challenges {
            local: Default::default(),
            redis,
        }
    }

    /// The body for a request of `path`, when it asks for a check in
    /// progress here or, with Redis, on another node.
    pub async fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(CHALLENGE_PREFIX)?;
        let local = {
            let map = self.local.read().unwrap_or_else(|e| e.into_inner());
            map.get(token).cloned()
        };
        if local.is_some() {
            return local;
        }
        let r = self.redis.as_ref().filter(|_| well_formed(token))?;
        let key = shared_key(token);
        r.run("acme challenge", |mut conn| async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<String>>(&mut conn)
                .await
        })
        .await
        .flatten()
    }

    pub async fn put(&self, token: &str, key_authorization: &str) {
        {
            let mut map = self.local.write().unwrap_or_else(|e| e.into_inner());
            map.insert(token.to_owned(), key_authorization.to_owned());
        }
        let Some(r) = &self.redis else { return };
        let (key, value) = (shared_key(token), key_authorization.to_owned());
        let written = r
            .run("acme challenge", |mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(SHARED_TTL_MS)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if written.is_none() {
            tracing::warn!("an ACME check is answered by this node only: redis is unreachable");
        }
    }

    pub async fn remove(&self, token: &str) {
        {
            let mut map = self.local.write().unwrap_or_else(|e| e.into_inner());
            map.remove(token);
        }
        let Some(r) = &self.redis else { return };
        let key = shared_key(token);
        r.run("acme challenge", |mut conn| async move {
            redis::cmd("DEL")
                .arg(key)
                .query_async::<()>(&mut conn)
                .await
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_check_in_progress_is_answered() {
        let c = Challenges::default();
        c.put("tok-123", "tok-123.thumb").await;
        assert_eq!(
            c.answer("/.well-known/acme-challenge/tok-123")
                .await
                .as_deref(),
            Some("tok-123.thumb")
        );
        assert_eq!(c.answer("/.well-known/acme-challenge/tok-12").await, None);
        assert_eq!(c.answer("/.well-known/acme-challenge/").await, None);
        assert_eq!(
            c.answer("/x/.well-known/acme-challenge/tok-123").await,
            None
        );
        c.remove("tok-123").await;
        assert_eq!(c.answer("/.well-known/acme-challenge/tok-123").await, None);
    }

    #[test]
    fn only_tokens_shaped_like_acme_ones_are_looked_up() {
        assert!(well_formed("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed("LoqXcYV8q5ONbJQx/../../etc"));
        assert!(!well_formed("LoqXcYV8q5ONbJQx%2e%2e"));
    }
}
