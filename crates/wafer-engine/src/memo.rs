//! Header and cookie values already inspected and found clean, so that the
//! next request carrying the same value skips its decoding, scans and detectors.
//!
//! Browsers send the same `User-Agent`, `Accept`, `Accept-Language` and cookies
//! on every request of a visit, and those are most of a benign GET's
//! inspection time. Only these parts are remembered: paths, queries and bodies
//! change from request to request, so remembering them would mostly churn.
//!
//! A value is remembered only when inspecting it found nothing at all: no
//! detector hit and no rule match, before exclusions or disabled rules are
//! applied (those differ by path), and no base64 to look into. It is keyed by
//! part, name, paranoia level and the whole text (compared in full on a hit,
//! never by hash alone), so a remembered value is one whose inspection would
//! find nothing again: rules and detectors are pure functions of these.
//!
//! The table is direct-mapped with one lock per slot, taken with `try_lock`:
//! a busy slot is a miss, never a wait. A hash seeded at random per process
//! picks the slot (foldhash's quality variant; SipHash cost 7 % of a browser
//! GET's inspection), so a client cannot aim at another's entries; flooding
//! it with distinct values only evicts, which costs time, not verdicts; and a
//! hit compares the whole entry, so a collision is only a miss. Bounded:
//! `SLOTS` entries of at most `MAX_TEXT` bytes.
//!
//! Written here rather than taken from a cache crate: the whole job is this
//! one lookup, and what must never happen (a hash-only hit, a blocking lock)
//! is easier to see in sixty lines than to check in a general cache.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

use crate::request::Part;

/// Slots in the table (a power of two).
const SLOTS: usize = 4096;
/// Longer values are not remembered: rare, and they would make the table large.
pub(crate) const MAX_TEXT: usize = 512;

struct Entry {
    hash: u64,
    part: Part,
    paranoia: u8,
    name: Box<str>,
    text: Box<str>,
}

pub(crate) struct CleanMemo {
    slots: Box<[Mutex<Option<Entry>>]>,
    hasher: foldhash::quality::RandomState,
}

impl CleanMemo {
    pub(crate) fn new() -> Self {
        CleanMemo {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }

    /// Whether values of this part and length are remembered at all.
    pub(crate) fn eligible(part: Part, text: &str) -> bool {
        matches!(part, Part::Header | Part::Cookie | Part::CookieName) && text.len() <= MAX_TEXT
    }

    fn hash(&self, part: Part, name: &str, text: &str, paranoia: u8) -> u64 {
        let mut h = self.hasher.build_hasher();
        part.hash(&mut h);
        name.hash(&mut h);
        paranoia.hash(&mut h);
        text.hash(&mut h);
        h.finish()
    }

    fn slot(&self, hash: u64) -> &Mutex<Option<Entry>> {
        &self.slots[(hash as usize) & (SLOTS - 1)]
    }

    /// Whether the value (`name` is empty for an unnamed one) is known clean.
    pub(crate) fn is_clean(&self, part: Part, name: &str, text: &str, paranoia: u8) -> bool {
        if !Self::eligible(part, text) {
            return false;
        }
        let hash = self.hash(part, name, text, paranoia);
        let Ok(slot) = self.slot(hash).try_lock() else {
            return false;
        };
        slot.as_ref().is_some_and(|e| {
            e.hash == hash
                && e.part == part
                && e.paranoia == paranoia
                && *e.name == *name
                && *e.text == *text
        })
    }

    /// Remembers a value whose inspection found nothing.
    pub(crate) fn remember(&self, part: Part, name: &str, text: &str, paranoia: u8) {
        if !Self::eligible(part, text) {
            return;
        }
        let hash = self.hash(part, name, text, paranoia);
        if let Ok(mut slot) = self.slot(hash).try_lock() {
            *slot = Some(Entry {
                hash,
                part,
                paranoia,
                name: name.into(),
                text: text.into(),
            });
        }
    }
}

impl std::fmt::Debug for CleanMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanMemo")
            .field("slots", &self.slots.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_part_name_paranoia_and_whole_text() {
        let m = CleanMemo::new();
        let ua = (Part::Header, "user-agent");
        assert!(!m.is_clean(ua.0, ua.1, "Mozilla/5.0", 1));
        m.remember(ua.0, ua.1, "Mozilla/5.0", 1);
        assert!(m.is_clean(ua.0, ua.1, "Mozilla/5.0", 1));
        assert!(!m.is_clean(ua.0, ua.1, "Mozilla/5.1", 1));
        assert!(
            !m.is_clean(ua.0, ua.1, "Mozilla/5.0", 2),
            "paranoia is part of the key"
        );
        assert!(!m.is_clean(Part::Header, "referer", "Mozilla/5.0", 1));
        assert!(!m.is_clean(Part::Cookie, "user-agent", "Mozilla/5.0", 1));
    }

    #[test]
    fn a_colliding_slot_is_overwritten_not_confused() {
        let m = CleanMemo::new();
        // More values than slots: every lookup must still compare the whole key.
        for i in 0..(SLOTS * 2) {
            m.remember(Part::Header, "x", &format!("v{i}"), 1);
        }
        let remembered = (0..(SLOTS * 2))
            .filter(|i| m.is_clean(Part::Header, "x", &format!("v{i}"), 1))
            .count();
        assert!(remembered <= SLOTS && remembered > 0, "{remembered}");
        assert!(!m.is_clean(Part::Header, "x", "never inserted", 1));
    }

    #[test]
    fn only_headers_and_cookies_up_to_the_limit_are_kept() {
        let m = CleanMemo::new();
        let long = "a".repeat(MAX_TEXT + 1);
        for (part, text) in [
            (Part::QueryArg, "1"),
            (Part::Path, "/a"),
            (Part::Header, &long),
        ] {
            m.remember(part, "n", text, 1);
            assert!(!m.is_clean(part, "n", text, 1), "{part:?}");
        }
        m.remember(Part::Cookie, "sid", "abc", 1);
        assert!(m.is_clean(Part::Cookie, "sid", "abc", 1));
    }
}
