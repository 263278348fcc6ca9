//! "Say it once a minute": limited and banned clients keep knocking, and one
//! event per client per window is what the store and an operator want, not
//! one per request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Keys seen in the last `window_ms`, bounded.
pub struct OncePer<K> {
    window_ms: u64,
    seen: Mutex<HashMap<K, u64>>,
}

const MAX_KEYS: usize = 100_000;

impl<K: Hash + Eq> OncePer<K> {
    pub fn new(window_ms: u64) -> OncePer<K> {
        OncePer {
            window_ms,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// True the first time `key` comes in a window.
    pub fn first(&self, key: K, now_ms: u64) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > MAX_KEYS {
            m.retain(|_, at| now_ms.saturating_sub(*at) < self.window_ms);
        }
        match m.get(&key) {
            Some(at) if now_ms.saturating_sub(*at) < self.window_ms => false,
            _ => {
                m.insert(key, now_ms);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_window_per_key_and_bounded() {
        let o = OncePer::new(60_000);
        assert!(o.first("a".to_owned(), 1_000));
        assert!(!o.first("a".to_owned(), 30_000));
        assert!(o.first("b".to_owned(), 30_000));
        assert!(o.first("a".to_owned(), 61_000));
        for i in 0..(MAX_KEYS + 10) {
            o.first(format!("k{i}"), 100_000);
        }
        o.first("late".to_owned(), 200_000);
        assert!(o.seen.lock().unwrap().len() <= MAX_KEYS + 1);
    }
}
