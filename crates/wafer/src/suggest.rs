//! Suggested exclusions: from the recorded events, the narrow exclusions a
//! site owner would write by hand for rules that keep firing on real use of
//! the application (rules R on path P in argument A), each with its evidence
//! and a preview of what it would have let through.
//!
//! Findings are grouped by rule and place: the path template (numeric, UUID
//! and hex segments folded to `*`) and the location (part and name, array
//! indexes folded to `*`). A request supports a group only when nothing else
//! was found in it: every finding is at that same place (several rules
//! firing on one value is what real content does: an `<iframe>` in a CMS
//! field trips two XSS rules at once), none was left out of the event, and
//! the anomaly model added none. A request with a finding elsewhere is
//! evidence against, counted and shown. A rule is proposed for a place when
//! at least `min_clients` distinct clients, not banned, sent such requests
//! within the window; one suggestion per place carries every such rule the
//! policy does not already cover. The work is bounded: at most `max_events`
//! of the newest events are read, and the answer says when that cut the window.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wafer_engine::policy::ANOMALY_RULE;
use wafer_engine::request::{Location, Part};
use wafer_engine::{Action, ArgPattern, Exclusion, PathPattern, Policy, RuleRange};

use crate::config::policy::ExclusionDoc;
use crate::events::Event;
use crate::store::{Filter, PageRequest, Sort, Store, StoreResult};

pub(crate) mod fold;

pub(crate) const DEFAULT_MIN_CLIENTS: usize = 5;
pub(crate) const DEFAULT_WINDOW_MS: u64 = 7 * 86_400_000;
pub(crate) const DEFAULT_MAX_EVENTS: usize = 20_000;
/// Highest `max_events` a caller may ask for: the scan holds them in memory.
pub(crate) const MAX_EVENTS_LIMIT: usize = 200_000;
/// Most suggestions in one answer (the strongest first).
pub(crate) const MAX_SUGGESTIONS: usize = 100;
const EXAMPLES: usize = 3;
const EXAMPLE_CHARS: usize = 60;
const PAGE: usize = 1000;

/// What to look at.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    /// The site whose events are read (`None`: every site's).
    pub site: Option<String>,
    pub min_clients: usize,
    pub window_ms: u64,
    pub max_events: usize,
    pub now_ms: u64,
}

impl Params {
    pub(crate) fn new(now_ms: u64) -> Params {
        Params {
            site: None,
            min_clients: DEFAULT_MIN_CLIENTS,
            window_ms: DEFAULT_WINDOW_MS,
            max_events: DEFAULT_MAX_EVENTS,
            now_ms,
        }
    }
}

/// Why a group is proposed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Evidence {
    /// Distinct clients (not banned) whose requests had only this finding.
    pub clients: usize,
    /// Those clients' requests.
    pub requests: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// A few of the texts the rule matched, cut short.
    pub examples: Vec<String>,
    /// Requests with this finding and another one elsewhere: evidence against.
    pub counter_evidence: u64,
    /// Distinct clients left out because they are banned or on the block list.
    pub banned_clients: usize,
}

/// What the exclusion would have changed, had it been in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Preview {
    /// Blocked events (among those scanned) with a finding it excludes.
    pub blocked: u64,
    /// Of those, the ones whose score would have stayed under the threshold.
    pub would_pass: u64,
    pub examples: Vec<PreviewExample>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct PreviewExample {
    pub id: String,
    pub path: String,
    pub score: u32,
    pub score_after: u32,
    pub threshold: u32,
}

/// One rule of a suggestion and its own support.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RuleEvidence {
    pub rule_id: u32,
    pub class: String,
    pub message: String,
    pub clients: usize,
    pub requests: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Suggestion {
    /// Stable: the same path template and location give the same id.
    pub id: String,
    /// The rules to exclude there, each seen from enough clients.
    pub rules: Vec<RuleEvidence>,
    /// The path template the findings were seen on.
    pub path: String,
    /// Where in the request (part and folded name).
    pub location: Location,
    /// The exclusion accepting this adds to the policy.
    pub exclusion: ExclusionDoc,
    pub evidence: Evidence,
    pub preview: Preview,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Report {
    pub suggestions: Vec<Suggestion>,
    /// Events read from the store.
    pub scanned: usize,
    pub max_events: usize,
    /// The store had more events in the window than were read (the oldest were not).
    pub truncated: bool,
    pub from_ms: u64,
    /// Oldest event read: the window actually covered starts here when truncated.
    pub oldest_scanned_ms: Option<u64>,
    pub min_clients: usize,
    pub window_ms: u64,
}

/// Reads the window's newest events (at most `p.max_events`) and proposes.
/// The grouping runs on the blocking pool: tens of thousands of events take
/// a moment of CPU, which the admin runtime (shared with the Redis link) must not wait on.
pub(crate) async fn suggest(
    store: &dyn Store,
    policy: Policy,
    banned: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
    p: &Params,
) -> StoreResult<Report> {
    let from_ms = p.now_ms.saturating_sub(p.window_ms);
    let filter = Filter {
        from_ms: Some(from_ms),
        site: p.site.clone(),
        ..Filter::default()
    };
    let mut page = PageRequest {
        sort: Sort::NewestFirst,
        limit: PAGE.min(p.max_events.max(1)),
        cursor: None,
    };
    let mut events = Vec::new();
    let mut truncated = false;
    loop {
        let got = store.query(filter.clone(), page.clone()).await?;
        events.extend(got.events);
        let Some(next) = got.next_cursor else { break };
        if events.len() >= p.max_events {
            truncated = true;
            break;
        }
        page.cursor = Some(
            crate::store::Cursor::decode(&next)
                .map_err(|e| crate::store::StoreError::Other(e.to_string()))?,
        );
        page.limit = PAGE.min(p.max_events - events.len());
    }
    events.truncate(p.max_events);
    let min_clients = p.min_clients;
    let mut report =
        tokio::task::spawn_blocking(move || analyse(&events, &policy, &*banned, min_clients))
            .await
            .map_err(|e| crate::store::StoreError::Other(format!("suggestions: {e}")))?;
    report.truncated = truncated;
    report.max_events = p.max_events;
    report.from_ms = from_ms;
    report.window_ms = p.window_ms;
    Ok(report)
}

/// A place: a path template and a location in the request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Place {
    path: String,
    part: Part,
    name: Option<String>,
}

impl Place {
    fn of(ev: &Event, loc: &Location) -> Place {
        Place {
            path: fold::path_template(&ev.path),
            part: loc.part,
            name: loc.name.as_deref().map(fold::name_template),
        }
    }

    fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(&self.path);
        h.update([0]);
        h.update(self.part.as_str());
        h.update([0]);
        h.update(self.name.as_deref().unwrap_or(""));
        let d = h.finalize();
        let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("sg-{hex}")
    }

    /// The argument pattern naming this place, `None` for a place no pattern
    /// can name (then no suggestion), `Some(None)` for an unnamed part (the
    /// exclusion covers the whole request on that path).
    fn arg(&self) -> Option<Option<String>> {
        let named = matches!(
            self.part,
            Part::QueryArg
                | Part::QueryArgName
                | Part::BodyArg
                | Part::BodyArgName
                | Part::Filename
                | Part::Header
                | Part::Cookie
                | Part::CookieName
        );
        let text = match (self.part, self.name.as_deref()) {
            (_, None) if named => return None,
            (_, None) => return Some(None),
            (Part::Header, Some(n)) => format!("header:{n}"),
            (Part::Cookie | Part::CookieName, Some(n)) => format!("cookie:{n}"),
            // A name that reads as a cookie or header pattern would name another place.
            (_, Some(n)) if n.starts_with("cookie:") || n.starts_with("header:") => return None,
            (_, Some(n)) if named => n.to_owned(),
            (_, Some(_)) => return Some(None),
        };
        text.parse::<ArgPattern>().ok().map(|_| Some(text))
    }
}

/// What one place gathered.
#[derive(Default)]
struct Group {
    clients: HashSet<IpAddr>,
    banned: HashSet<IpAddr>,
    requests: u64,
    first: u64,
    last: u64,
    examples: BTreeSet<String>,
    counter: u64,
    /// Per rule: the clients and requests that support it.
    rules: BTreeMap<u32, RuleGroup>,
    /// A real path and location of the place, to ask the policy what it covers.
    sample: Option<(String, Location)>,
}

#[derive(Default)]
struct RuleGroup {
    clients: HashSet<IpAddr>,
    requests: u64,
    class: String,
    message: String,
}

fn short(s: &str) -> String {
    wafer_engine::finding::excerpt(s, 0, EXAMPLE_CHARS)
}

/// The proposals among `events` (any order), without the store.
pub(crate) fn analyse(
    events: &[Event],
    policy: &Policy,
    banned: &(dyn Fn(IpAddr) -> bool + Send + Sync),
    min_clients: usize,
) -> Report {
    let groups = group(events, banned);
    let mut out: Vec<Suggestion> = groups
        .iter()
        .filter_map(|(place, g)| propose(place, g, events, policy, min_clients))
        .collect();
    // Strongest first; ties in a fixed order so that the list does not shuffle.
    out.sort_by(|a, b| {
        b.evidence
            .clients
            .cmp(&a.evidence.clients)
            .then(b.evidence.requests.cmp(&a.evidence.requests))
            .then(a.id.cmp(&b.id))
    });
    out.truncate(MAX_SUGGESTIONS);
    Report {
        suggestions: out,
        scanned: events.len(),
        max_events: events.len(),
        truncated: false,
        from_ms: 0,
        oldest_scanned_ms: events.iter().map(|e| e.ts_ms).min(),
        min_clients,
        window_ms: 0,
    }
}

/// The findings of `events` grouped by place, each request counted for a
/// place only when nothing was found elsewhere in it.
fn group(
    events: &[Event],
    banned: &(dyn Fn(IpAddr) -> bool + Send + Sync),
) -> HashMap<Place, Group> {
    let mut groups: HashMap<Place, Group> = HashMap::new();
    let mut banned_cache: HashMap<IpAddr, bool> = HashMap::new();
    for ev in events {
        if ev.reason.is_some() || ev.findings.is_empty() {
            continue;
        }
        // Each place once per request, with its findings.
        let mut here: Vec<(Place, Vec<&wafer_engine::Finding>)> = Vec::new();
        let mut other = ev.findings_omitted > 0;
        for f in &ev.findings {
            if f.rule_id == ANOMALY_RULE {
                other = true;
                continue;
            }
            let place = Place::of(ev, &f.location);
            match here.iter_mut().find(|(p, _)| *p == place) {
                Some((_, fs)) => fs.push(f),
                None => here.push((place, vec![f])),
            }
        }
        // Findings left out of the event, the anomaly model's, or another
        // place's are something else found: this request supports no group.
        let clean = here.len() == 1 && !other;
        let is_banned = *banned_cache
            .entry(ev.client_ip)
            .or_insert_with(|| banned(ev.client_ip));
        for (place, fs) in here {
            let g = groups.entry(place).or_default();
            if g.sample.is_none() {
                g.sample = Some((ev.path.clone(), fs[0].location.clone()));
            }
            if !clean {
                g.counter += 1;
            } else if is_banned {
                g.banned.insert(ev.client_ip);
            } else {
                g.support(ev, &fs);
            }
        }
    }
    groups
}

impl Group {
    /// A clean request from an unbanned client, finding `fs` at this place.
    fn support(&mut self, ev: &Event, fs: &[&wafer_engine::Finding]) {
        self.clients.insert(ev.client_ip);
        self.requests += 1;
        self.first = if self.requests == 1 {
            ev.ts_ms
        } else {
            self.first.min(ev.ts_ms)
        };
        self.last = self.last.max(ev.ts_ms);
        if self.examples.len() < EXAMPLES {
            self.examples.insert(short(&fs[0].matched));
        }
        let mut seen: Vec<u32> = Vec::new();
        for f in fs {
            if seen.contains(&f.rule_id) {
                continue;
            }
            seen.push(f.rule_id);
            let r = self.rules.entry(f.rule_id).or_default();
            if r.requests == 0 {
                r.class = f.class.to_string();
                r.message = f.message.clone();
            }
            r.clients.insert(ev.client_ip);
            r.requests += 1;
        }
    }
}

/// The suggestion for one place, when enough clients support rules the
/// policy does not already exclude there.
fn propose(
    place: &Place,
    g: &Group,
    events: &[Event],
    policy: &Policy,
    min_clients: usize,
) -> Option<Suggestion> {
    let (sample_path, sample_loc) = g.sample.as_ref()?;
    let arg = place.arg()?;
    let pattern = PathPattern::parse(&place.path).ok()?;
    let eff = policy.for_path(sample_path);
    // Enough clients, and not already excluded there (or off).
    let rules: Vec<RuleEvidence> = g
        .rules
        .iter()
        .filter(|(id, r)| {
            r.clients.len() >= min_clients.max(1) && eff.rule_active_at(**id, 0, sample_loc)
        })
        .map(|(id, r)| RuleEvidence {
            rule_id: *id,
            class: r.class.clone(),
            message: r.message.clone(),
            clients: r.clients.len(),
            requests: r.requests,
        })
        .collect();
    if rules.is_empty() {
        return None;
    }
    let ranges = rules
        .iter()
        .map(|r| RuleRange::ids(r.rule_id, r.rule_id))
        .collect();
    let mut exclusion = Exclusion::new(pattern, ranges);
    exclusion.args = arg.iter().filter_map(|a| a.parse().ok()).collect();
    Some(Suggestion {
        id: place.id(),
        exclusion: ExclusionDoc {
            path: place.path.clone(),
            rules: rules.iter().map(|r| r.rule_id.to_string()).collect(),
            args: arg.into_iter().collect(),
        },
        rules,
        path: place.path.clone(),
        location: Location {
            part: place.part,
            name: place.name.clone(),
        },
        evidence: Evidence {
            clients: g.clients.len(),
            requests: g.requests,
            first_seen_ms: g.first,
            last_seen_ms: g.last,
            examples: g.examples.iter().cloned().collect(),
            counter_evidence: g.counter,
            banned_clients: g.banned.len(),
        },
        preview: preview(events, &exclusion, policy.threshold),
    })
}

/// Blocked events the exclusion touches, and those whose score minus the
/// excluded findings' points stays under the threshold they were blocked at
/// (the current one for events that did not record it). Conservative: an
/// event with findings left out of it, or an anomaly finding, is not counted
/// as passing, since what was not recorded may have blocked it anyway.
fn preview(events: &[Event], ex: &Exclusion, current_threshold: u32) -> Preview {
    let mut p = Preview::default();
    for ev in events {
        if ev.action != Action::Block || ev.reason.is_some() || !ex.path.matches(&ev.path) {
            continue;
        }
        let excluded = |f: &wafer_engine::Finding| {
            ex.rules.iter().any(|r| r.contains(f.rule_id))
                && (ex.args.is_empty() || ex.args.iter().any(|a| a.matches(&f.location)))
        };
        let points: u32 = ev
            .findings
            .iter()
            .filter(|f| excluded(f))
            .map(|f| f.score)
            .sum();
        if points == 0 {
            continue;
        }
        p.blocked += 1;
        let threshold = if ev.threshold > 0 {
            ev.threshold
        } else {
            current_threshold
        };
        let after = ev.score.saturating_sub(points);
        let unknown = ev.findings_omitted > 0
            || ev
                .findings
                .iter()
                .any(|f| f.rule_id == ANOMALY_RULE && !excluded(f));
        if after < threshold && !unknown {
            p.would_pass += 1;
            if p.examples.len() < EXAMPLES {
                p.examples.push(PreviewExample {
                    id: ev.id.clone(),
                    path: ev.path.clone(),
                    score: ev.score,
                    score_after: after,
                    threshold,
                });
            }
        }
    }
    p
}

#[cfg(test)]
mod tests;
