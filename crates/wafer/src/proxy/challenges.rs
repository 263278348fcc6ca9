//! The answers to an ACME CA's HTTP-01 checks (RFC 8555 §8.3) that this
//! node's ACME client (`crate::acme`) has in progress, for the proxy to
//! serve before any other step.

use std::collections::HashMap;

/// Where the CA's checks are asked for.
const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// The answers to the CA's HTTP-01 checks in progress: token → key authorization.
#[derive(Debug, Default)]
pub struct Challenges(std::sync::RwLock<HashMap<String, String>>);

impl Challenges {
    /// The body for a request of `path`, when it asks for a check in progress.
    pub fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(CHALLENGE_PREFIX)?;
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(token).cloned()
    }

    pub fn put(&self, token: &str, key_authorization: &str) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.insert(token.to_owned(), key_authorization.to_owned());
    }

    pub fn remove(&self, token: &str) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_check_in_progress_is_answered() {
        let c = Challenges::default();
        c.put("tok-123", "tok-123.thumb");
        assert_eq!(
            c.answer("/.well-known/acme-challenge/tok-123").as_deref(),
            Some("tok-123.thumb")
        );
        assert_eq!(c.answer("/.well-known/acme-challenge/tok-12"), None);
        assert_eq!(c.answer("/.well-known/acme-challenge/"), None);
        assert_eq!(c.answer("/x/.well-known/acme-challenge/tok-123"), None);
        c.remove("tok-123");
        assert_eq!(c.answer("/.well-known/acme-challenge/tok-123"), None);
    }
}
