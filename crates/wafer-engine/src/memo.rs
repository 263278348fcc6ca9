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
//! a busy slot is a miss, never a wait. A keyed hash picks the slot, so a
//! client cannot aim at another's entries; flooding it with distinct values
//! only evicts, which costs time, not verdicts. Bounded: `SLOTS` entries of
//! at most `MAX_TEXT` bytes.
//!
//! Written here rather than taken from a cache crate: the whole job is this
//! one lookup, and what must never happen (a hash-only hit, a blocking lock)
//! is easier to see in sixty lines than to check in a general cache.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Mutex;

use crate::request::{Location, Part};

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
    hasher: RandomState,
}

/// A looked-up key: where it would go if it is clean and not there yet.
pub(crate) struct Probe {
    hash: u64,
}

impl CleanMemo {
    pub(crate) fn new() -> Self {
        CleanMemo {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
            hasher: RandomState::new(),
        }
    }

    /// Whether values at this location and of this length are remembered at all.
    pub(crate) fn eligible(location: &Location, text: &str) -> bool {
        matches!(
            location.part,
            Part::Header | Part::Cookie | Part::CookieName
        ) && text.len() <= MAX_TEXT
    }

    fn hash(&self, location: &Location, text: &str, paranoia: u8) -> u64 {
        let mut h = self.hasher.build_hasher();
        location.part.hash(&mut h);
        location.name.hash(&mut h);
        paranoia.hash(&mut h);
        text.hash(&mut h);
        h.finish()
    }

    fn slot(&self, hash: u64) -> &Mutex<Option<Entry>> {
        &self.slots[(hash as usize) & (SLOTS - 1)]
    }

    /// `Ok(())` when the value is known clean; otherwise the probe to remember it with.
    pub(crate) fn check(&self, location: &Location, text: &str, paranoia: u8) -> Result<(), Probe> {
        let hash = self.hash(location, text, paranoia);
        let Ok(slot) = self.slot(hash).try_lock() else {
            return Err(Probe { hash });
        };
        match slot.as_ref() {
            Some(e)
                if e.hash == hash
                    && e.part == location.part
                    && e.paranoia == paranoia
                    && *e.name == *location.name.as_deref().unwrap_or("")
                    && *e.text == *text =>
            {
                Ok(())
            }
            _ => Err(Probe { hash }),
        }
    }

    /// Remembers a value whose inspection found nothing.
    pub(crate) fn remember(&self, probe: Probe, location: &Location, text: &str, paranoia: u8) {
        if let Ok(mut slot) = self.slot(probe.hash).try_lock() {
            *slot = Some(Entry {
                hash: probe.hash,
                part: location.part,
                paranoia,
                name: location.name.as_deref().unwrap_or("").into(),
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

    fn loc(part: Part, name: &str) -> Location {
        Location::new(part, Some(name))
    }

    #[test]
    fn remembers_by_part_name_paranoia_and_whole_text() {
        let m = CleanMemo::new();
        let ua = loc(Part::Header, "user-agent");
        let probe = m.check(&ua, "Mozilla/5.0", 1).unwrap_err();
        m.remember(probe, &ua, "Mozilla/5.0", 1);
        assert!(m.check(&ua, "Mozilla/5.0", 1).is_ok());
        assert!(m.check(&ua, "Mozilla/5.1", 1).is_err());
        assert!(
            m.check(&ua, "Mozilla/5.0", 2).is_err(),
            "paranoia is part of the key"
        );
        assert!(
            m.check(&loc(Part::Header, "referer"), "Mozilla/5.0", 1)
                .is_err()
        );
        assert!(
            m.check(&loc(Part::Cookie, "user-agent"), "Mozilla/5.0", 1)
                .is_err()
        );
    }

    #[test]
    fn a_colliding_slot_is_overwritten_not_confused() {
        let m = CleanMemo::new();
        let h = loc(Part::Header, "x");
        // More values than slots: every lookup must still compare the whole key.
        for i in 0..(SLOTS * 2) {
            let text = format!("v{i}");
            if let Err(p) = m.check(&h, &text, 1) {
                m.remember(p, &h, &text, 1);
            }
        }
        let remembered = (0..(SLOTS * 2))
            .filter(|i| m.check(&h, &format!("v{i}"), 1).is_ok())
            .count();
        assert!(remembered <= SLOTS && remembered > 0, "{remembered}");
        assert!(m.check(&h, "never inserted", 1).is_err());
    }

    #[test]
    fn only_headers_and_cookies_up_to_the_limit_are_eligible() {
        assert!(CleanMemo::eligible(
            &loc(Part::Header, "accept"),
            "text/html"
        ));
        assert!(CleanMemo::eligible(&loc(Part::Cookie, "sid"), "abc"));
        assert!(!CleanMemo::eligible(&loc(Part::QueryArg, "id"), "1"));
        assert!(!CleanMemo::eligible(
            &loc(Part::Header, "accept"),
            &"a".repeat(MAX_TEXT + 1)
        ));
    }
}
