//! Vectorscan databases for the rule groups (cargo feature `vectorscan`).
//!
//! The regex sets build their automata lazily, state by state, per thread: a
//! first sight of novel bytes costs milliseconds, and the caches grow with the
//! variety of traffic up to their limit. Vectorscan compiles a group's
//! patterns whole, ahead of any request, into a database that does not grow
//! and that threads share (each scan needs only a scratch space). Compiling
//! takes seconds, so it is done after start-up (the proxy runs it in the
//! background; until then, and for any group Vectorscan cannot take, the
//! regex sets answer). Databases are kept process-wide by their patterns, so
//! rules compiled again (a reload, a test's second engine) reuse them.
//!
//! The patterns are written out from the regex crate's parse (`hs_syntax`), so
//! a database matches exactly what its regex set matches; a hit is still
//! located by the rule's own regex, as with the sets.

use super::hs_syntax;
use hyperscan::prelude::*;
use hyperscan::{BlockMode, HsError, SerializedDatabase};
use regex::bytes::RegexSet;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// One group's database: Vectorscan's pattern id is the member's index.
/// Members it refuses (a pattern it cannot spell or compile) keep a regex set
/// of their own.
pub(super) struct GroupDb {
    db: BlockDatabase,
    rest: Option<(RegexSet, Vec<usize>)>,
    /// Each refused member, and why.
    pub(super) refused: Vec<(usize, String)>,
}

impl std::fmt::Debug for GroupDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupDb")
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

/// A group's patterns, as its regex set holds them: the key under which its
/// database is shared.
type Key = Vec<String>;

/// Databases alive anywhere in the process, by their patterns. Weak, so a
/// database goes with the last rule set that uses it.
fn shared() -> &'static Mutex<HashMap<Key, Weak<GroupDb>>> {
    static SHARED: OnceLock<Mutex<HashMap<Key, Weak<GroupDb>>>> = OnceLock::new();
    SHARED.get_or_init(Default::default)
}

/// A rule set's databases (one per group, `None` where a group stays on its
/// regex set) and the scratch spaces its scans use.
pub(super) struct Accelerated {
    pub(super) groups: Vec<Option<Arc<GroupDb>>>,
    /// Big enough for every database above; cloned for each concurrent scan.
    /// (In a mutex because a scratch space is not `Sync`.)
    prototype: Option<Mutex<Scratch>>,
    /// Scratch spaces not in use (one per thread that has scanned, at most).
    idle: Mutex<Vec<Scratch>>,
}

/// A group's database (if any), and how it came.
type Compiled = (Option<Arc<GroupDb>>, Outcome);

/// How a group fared.
pub(super) enum Outcome {
    Compiled,
    Shared,
    /// Read from an image (see [`image`]).
    Loaded,
    /// Left whole on its regex set.
    Refused(String),
}

/// Compiles (or finds) a database for each group's `patterns`, on up to
/// `threads` threads, largest group first.
pub(super) fn accelerate(groups: &[Vec<&str>], threads: usize) -> (Accelerated, Vec<Outcome>) {
    let n = groups.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&g| std::cmp::Reverse(groups[g].iter().map(|p| p.len()).sum::<usize>()));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Compiled>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&g) = order.get(i) else { break };
                    let r = group_db(&groups[g]);
                    results.lock().unwrap_or_else(|e| e.into_inner())[g] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    assemble(
        results
            .into_iter()
            .map(|r| r.expect("every group was taken by a thread"))
            .collect(),
    )
}

/// The scratch space for the groups' databases, and the rule set's share of them.
fn assemble(compiled: Vec<Compiled>) -> (Accelerated, Vec<Outcome>) {
    let n = compiled.len();
    let (dbs, outcomes): (Vec<_>, Vec<_>) = compiled.into_iter().unzip();
    let mut prototype: Option<Scratch> = None;
    for db in dbs.iter().flatten().map(|d| &d.db) {
        let grown = match prototype.as_mut() {
            Some(s) => db.realloc_scratch(s).map(|_| ()),
            None => db.alloc_scratch().map(|s| prototype = Some(s)),
        };
        if let Err(e) = grown {
            // Without scratch no database can scan: stay on the regex sets.
            let why = format!("scratch space: {e}");
            return (
                Accelerated {
                    groups: (0..n).map(|_| None).collect(),
                    prototype: None,
                    idle: Mutex::new(Vec::new()),
                },
                (0..n).map(|_| Outcome::Refused(why.clone())).collect(),
            );
        }
    }
    let mut shared = shared().lock().unwrap_or_else(|e| e.into_inner());
    shared.retain(|_, db| db.strong_count() > 0);
    (
        Accelerated {
            groups: dbs,
            prototype: prototype.map(Mutex::new),
            idle: Mutex::new(Vec::new()),
        },
        outcomes,
    )
}

fn group_db(patterns: &[&str]) -> Compiled {
    let key: Key = patterns.iter().map(|p| (*p).to_owned()).collect();
    if let Some(db) = shared()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .and_then(Weak::upgrade)
    {
        return (Some(db), Outcome::Shared);
    }
    let mut refused: Vec<(usize, String)> = Vec::new();
    let mut taken = Vec::new();
    for (member, p) in patterns.iter().enumerate() {
        match hs_syntax::translate(p) {
            Ok(expression) => taken.push(Pattern {
                expression,
                flags: CompileFlags::SINGLEMATCH,
                id: Some(member),
                ext: Default::default(),
                som: None,
            }),
            Err(why) => refused.push((member, why)),
        }
    }
    // A compile error names the pattern at fault: set it aside and go again.
    let db = loop {
        if taken.is_empty() {
            break None;
        }
        match Patterns(taken.clone()).build::<BlockMode>() {
            Ok(db) => break Some(db),
            Err(hyperscan::Error::Hyperscan(HsError::CompileError(e))) => match e.expression() {
                Some(at) if at < taken.len() => {
                    let p = taken.remove(at);
                    refused.push((p.id.unwrap_or_default(), e.message().to_owned()));
                }
                _ => return (None, Outcome::Refused(e.message().to_owned())),
            },
            Err(e) => return (None, Outcome::Refused(e.to_string())),
        }
    };
    let Some(db) = db else {
        return (None, Outcome::Refused("no pattern compiled".into()));
    };
    share(key, db, refused, Outcome::Compiled)
}

/// A group's database with a regex set for the members it refused, entered
/// in the process-wide table (or the one another thread entered first).
fn share(key: Key, db: BlockDatabase, mut refused: Vec<(usize, String)>, how: Outcome) -> Compiled {
    refused.sort_unstable_by_key(|(m, _)| *m);
    let rest = if refused.is_empty() {
        None
    } else {
        let members: Vec<usize> = refused.iter().map(|(m, _)| *m).collect();
        match super::build_set(members.iter().map(|&m| key[m].as_str())) {
            Ok(set) => Some((set, members)),
            Err(e) => return (None, Outcome::Refused(e.to_string())),
        }
    };
    let db = Arc::new(GroupDb { db, rest, refused });
    let mut shared = shared().lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have compiled the same group meanwhile: keep one.
    match shared.get(&key).and_then(Weak::upgrade) {
        Some(theirs) => (Some(theirs), Outcome::Shared),
        None => {
            shared.insert(key, Arc::downgrade(&db));
            (Some(db), how)
        }
    }
}

impl GroupDb {
    /// Each member (by index) whose pattern matches somewhere in `text`, or
    /// `None` if the scan failed (the caller falls back to the regex set).
    pub(super) fn matching(
        &self,
        text: &[u8],
        scratch: &Scratch,
    ) -> Option<smallvec::SmallVec<[usize; 4]>> {
        let mut hits = smallvec::SmallVec::new();
        self.db
            .scan(text, scratch, |id, _, _, _| {
                // `SINGLEMATCH`: each pattern reports once.
                hits.push(id as usize);
                Matching::Continue
            })
            .ok()?;
        if let Some((set, members)) = &self.rest
            && set.is_match(text)
        {
            hits.extend(set.matches(text).iter().map(|i| members[i]));
        }
        hits.sort_unstable();
        Some(hits)
    }
}

impl std::fmt::Debug for Accelerated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accelerated")
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl Accelerated {
    /// A scratch space for one caller, given back when dropped.
    pub(super) fn scratch(&self) -> Option<ScratchLease<'_>> {
        let prototype = self.prototype.as_ref()?;
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let scratch =
            taken.unwrap_or_else(|| prototype.lock().unwrap_or_else(|e| e.into_inner()).clone());
        Some(ScratchLease {
            owner: self,
            scratch: Some(scratch),
        })
    }
}

pub(super) struct ScratchLease<'a> {
    owner: &'a Accelerated,
    scratch: Option<Scratch>,
}

impl ScratchLease<'_> {
    pub(super) fn get(&self) -> &Scratch {
        self.scratch.as_ref().expect("held until drop")
    }
}

impl Drop for ScratchLease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.scratch.take() {
            self.owner
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s);
        }
    }
}

/// Marks an image of this format: bump when the layout changes.
const IMAGE_MAGIC: &[u8; 8] = b"WAFERVS1";

/// The rule set's databases as bytes, for [`from_image`] in a later process
/// (Vectorscan's own serialization, per group, with the group's patterns and
/// refusals so that an image is only ever used for the same rules).
pub(super) fn image(groups: &[Vec<&str>], acc: &Accelerated) -> Result<Vec<u8>, String> {
    let mut out = IMAGE_MAGIC.to_vec();
    put_len(&mut out, groups.len());
    for (patterns, db) in groups.iter().zip(&acc.groups) {
        put_len(&mut out, patterns.len());
        for p in patterns {
            put_bytes(&mut out, p.as_bytes());
        }
        let refused = db.as_ref().map_or(&[][..], |d| &d.refused[..]);
        put_len(&mut out, refused.len());
        for (member, why) in refused {
            put_len(&mut out, *member);
            put_bytes(&mut out, why.as_bytes());
        }
        match db {
            Some(d) => put_bytes(&mut out, &d.db.serialize().map_err(|e| e.to_string())?),
            None => put_bytes(&mut out, &[]),
        }
    }
    // A checksum of everything before it: a damaged file is refused here,
    // before Vectorscan reads any of it.
    let sum = crate::fnv::hash64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Databases for `groups` from an [`image`] of the same rules; an error (other
/// rules, another Vectorscan version or CPU, a damaged file) says why, and
/// the caller compiles instead.
pub(super) fn from_image(
    groups: &[Vec<&str>],
    bytes: &[u8],
) -> Result<(Accelerated, Vec<Outcome>), String> {
    let Some((body, sum)) = bytes.split_last_chunk::<8>() else {
        return Err("a truncated image".into());
    };
    let mut r = Reader(body);
    if r.take(IMAGE_MAGIC.len())? != IMAGE_MAGIC {
        return Err("not an image of this format".into());
    }
    if crate::fnv::hash64(body) != u64::from_le_bytes(*sum) {
        return Err("a damaged or truncated image (checksum)".into());
    }
    if r.len()? != groups.len() {
        return Err("an image of other rules".into());
    }
    let mut compiled = Vec::with_capacity(groups.len());
    for patterns in groups {
        let n = r.len()?;
        if n != patterns.len() {
            return Err("an image of other rules".into());
        }
        for p in patterns {
            if r.bytes()? != p.as_bytes() {
                return Err("an image of other rules".into());
            }
        }
        let mut refused = Vec::new();
        for _ in 0..r.len()? {
            let member = r.len()?;
            let why = String::from_utf8_lossy(r.bytes()?).into_owned();
            if member >= patterns.len() {
                return Err("a damaged image".into());
            }
            refused.push((member, why));
        }
        let db = r.bytes()?;
        let key: Key = patterns.iter().map(|p| (*p).to_owned()).collect();
        if db.is_empty() {
            compiled.push((
                None,
                Outcome::Refused("refused when the image was made".into()),
            ));
            continue;
        }
        // Vectorscan checks the version, the CPU features and a checksum.
        let db: BlockDatabase = db.deserialize().map_err(|e| e.to_string())?;
        compiled.push(share(key, db, refused, Outcome::Loaded));
    }
    if !r.0.is_empty() {
        return Err("a damaged image".into());
    }
    Ok(assemble(compiled))
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Bounds-checked reads from an image (a file: anything may be in it).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err("a truncated image".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn len(&mut self) -> Result<usize, String> {
        let raw = self.take(8)?;
        let n = u64::from_le_bytes(raw.try_into().expect("eight bytes"));
        usize::try_from(n).map_err(|_| "a damaged image".to_owned())
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.len()?;
        self.take(n)
    }
}
