//! Route templates and what each route usually receives.
//!
//! A template is the path with its identifiers collapsed (`/users/123` →
//! `/users/{id}`), so that one profile learns what `/users/{id}` is sent
//! instead of one per user. A profile records, per argument name, how long
//! its values are and what they look like (digits, hex, words...), so a
//! request can be judged against its own route rather than against all
//! traffic: `id=1 UNION SELECT` is long free text where the route sees digits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Segments kept in a template; deeper paths end in `/{more}`, so an
/// attacker's path cannot make an unbounded key.
const MAX_SEGMENTS: usize = 16;
/// A segment longer than this is an identifier or a payload, not a word.
const MAX_WORD: usize = 64;
/// The longest template [`route_template`] makes: the part before the first
/// `/`, the segments kept, then `/{more}`.
pub(crate) const MAX_TEMPLATE: usize = MAX_WORD + MAX_SEGMENTS * (1 + MAX_WORD) + "/{more}".len();
/// Mixed letters-and-digits segments at least this long are tokens (`{id}`).
const TOKEN_MIN: usize = 16;

/// Collapses identifiers in a raw path (no query): all-digit segments, UUIDs,
/// long hex, long mixed tokens and over-long segments become `{id}` (UUIDs
/// `{uuid}`), e-mail addresses `{email}`; words, versions (`v2`) and file
/// names stay.
///
/// ```
/// use wafer_engine::anomaly::route_template;
/// assert_eq!(route_template("/users/123/orders/9f86d081884c7d65"), "/users/{id}/orders/{id}");
/// assert_eq!(route_template("/api/v2/docs"), "/api/v2/docs");
/// ```
pub fn route_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(256));
    for (i, seg) in path.split('/').enumerate() {
        if i == 0 {
            // Before the first `/`: empty for origin-form paths.
            out.push_str(seg.get(..seg.len().min(MAX_WORD)).unwrap_or("{id}"));
            continue;
        }
        out.push('/');
        if i > MAX_SEGMENTS {
            out.push_str("{more}");
            break;
        }
        out.push_str(collapse(seg).unwrap_or(seg));
    }
    out
}

/// The placeholder for an identifier segment, or `None` to keep the segment.
fn collapse(seg: &str) -> Option<&'static str> {
    let b = seg.as_bytes();
    if b.is_empty() {
        return None;
    }
    if b.len() > MAX_WORD {
        return Some("{id}");
    }
    if b.iter().all(u8::is_ascii_digit) {
        return Some("{id}");
    }
    if is_uuid(b) {
        return Some("{uuid}");
    }
    if let Some(at) = seg.find('@')
        && at > 0
        && seg[at + 1..].contains('.')
    {
        return Some("{email}");
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    // Hex needs a digit: `deadbeef` or `facade` are words as often as ids.
    if b.len() >= 8 && digits > 0 && b.iter().all(u8::is_ascii_hexdigit) {
        return Some("{id}");
    }
    // Tokens (base64url, hashes, slugs with ids): long, mixed, digit-heavy
    // or mixed-case.
    // `getting-started-2` stays a word: one digit in seventeen.
    if b.len() >= TOKEN_MIN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        && digits > 0
        && (digits * 5 >= b.len()
            // base64-ish: mixed case with a digit and no word separators.
            || (b.iter().any(u8::is_ascii_uppercase)
                && b.iter().any(u8::is_ascii_lowercase)
                && !b.contains(&b'-')))
    {
        return Some("{id}");
    }
    None
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What a value looks like, coarsely. A value of one shape fits a wider one
/// (`Digits` fits `Hex`, `Alnum` and `Text`), see [`Shape::fits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Empty,
    Digits,
    Alpha,
    Hex,
    /// Letters, digits and `-_.`.
    Alnum,
    /// Anything else.
    Text,
}

impl Shape {
    pub const ALL: [Shape; 6] = [
        Shape::Empty,
        Shape::Digits,
        Shape::Alpha,
        Shape::Hex,
        Shape::Alnum,
        Shape::Text,
    ];

    pub fn of(v: &str) -> Shape {
        let b = v.as_bytes();
        if b.is_empty() {
            Shape::Empty
        } else if b.iter().all(u8::is_ascii_digit) {
            Shape::Digits
        } else if b.iter().all(u8::is_ascii_alphabetic) {
            Shape::Alpha
        } else if b.iter().all(u8::is_ascii_hexdigit) {
            Shape::Hex
        } else if b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            Shape::Alnum
        } else {
            Shape::Text
        }
    }

    /// Whether a value of this shape is also of shape `wider`.
    pub fn fits(self, wider: Shape) -> bool {
        use Shape::*;
        self == wider
            || matches!(
                (self, wider),
                (Digits | Alpha | Hex, Alnum) | (_, Text) | (Digits, Hex)
            )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// An argument as route profiles see it: its name, how long its value is
/// and what the value looks like. A parsed `(name, value)` pair is one; so is
/// a [`Sample`](super::Sample)'s argument, which keeps no value.
pub(crate) trait ArgView {
    fn name(&self) -> &str;
    fn value_len(&self) -> usize;
    fn shape(&self) -> Shape;
}

impl ArgView for (String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value_len(&self) -> usize {
        self.1.len()
    }
    fn shape(&self) -> Shape {
        Shape::of(&self.1)
    }
}

impl ArgView for (&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value_len(&self) -> usize {
        self.1.len()
    }
    fn shape(&self) -> Shape {
        Shape::of(self.1)
    }
}

impl<T: ArgView> ArgView for &T {
    fn name(&self) -> &str {
        (*self).name()
    }
    fn value_len(&self) -> usize {
        (*self).value_len()
    }
    fn shape(&self) -> Shape {
        (*self).shape()
    }
}

/// Bounds on learning (defaults: a route needs 20 requests, at most 2,000
/// routes and 64 names per route are kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteParams {
    pub min_count: u32,
    pub max_routes: usize,
    pub max_names: usize,
}

impl Default for RouteParams {
    fn default() -> Self {
        RouteParams {
            min_count: 20,
            max_routes: 2000,
            max_names: 64,
        }
    }
}

/// One argument name on one route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameProfile {
    /// Requests on the route that carried this name.
    pub count: u32,
    pub mean_len: f32,
    pub std_len: f32,
    /// How often each [`Shape`] was seen, in `Shape::ALL` order.
    pub shapes: [u32; 6],
}

impl NameProfile {
    /// The most frequent shape.
    pub fn dominant(&self) -> Shape {
        let mut best = 0;
        for i in 1..6 {
            if self.shapes[i] > self.shapes[best] {
                best = i;
            }
        }
        Shape::ALL[best]
    }

    /// True when the route does not usually see values of this shape for the
    /// name: no shape with at least 5 % of the values admits it. Empty
    /// values never count: an empty field is not an attack.
    pub fn unusual(&self, shape: Shape) -> bool {
        if shape == Shape::Empty {
            return false;
        }
        let total: u32 = self.shapes.iter().sum();
        !Shape::ALL
            .iter()
            .zip(self.shapes)
            .any(|(s, n)| n > 0 && u64::from(n) * 20 >= u64::from(total) && shape.fits(*s))
    }

    /// |len - mean| / std, with std at least 1 so fixed-length ids are not
    /// infinitely surprised by one more byte. Capped at 1,000.
    pub fn z(&self, len: usize) -> f32 {
        let d = (len as f32 - self.mean_len).abs() / self.std_len.max(1.0);
        if d.is_finite() { d.min(1000.0) } else { 1000.0 }
    }
}

/// One route template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteProfile {
    pub count: u32,
    pub names: BTreeMap<String, NameProfile>,
}

/// The routes learned at training. Ordered maps, so the serialized model
/// is the same bytes for the same training set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteProfiles {
    pub params: RouteParams,
    pub routes: BTreeMap<String, RouteProfile>,
}

impl RouteProfiles {
    pub fn get(&self, template: &str) -> Option<&RouteProfile> {
        self.routes.get(template)
    }
}

/// Candidates tracked while learning, before the bounds are applied; past
/// these, new routes or names are ignored so training memory stays bounded.
const LEARN_ROUTES: usize = 100_000;
const LEARN_NAMES: usize = 256;

/// Accumulates requests (template and argument list), then keeps what is
/// frequent enough.
#[derive(Default)]
pub(crate) struct Learner {
    routes: BTreeMap<String, (u32, BTreeMap<String, Acc>)>,
}

#[derive(Default)]
struct Acc {
    count: u32,
    // Welford's running mean and sum of squares: stable over many values.
    mean: f64,
    m2: f64,
    shapes: [u32; 6],
}

impl Learner {
    /// One request: its template and its arguments (decoded values).
    /// A name repeated in one request counts once per value.
    pub(crate) fn add<A: ArgView>(&mut self, template: &str, args: impl Iterator<Item = A>) {
        if !self.routes.contains_key(template) {
            if self.routes.len() >= LEARN_ROUTES {
                return;
            }
            self.routes.insert(template.to_owned(), Default::default());
        }
        let Some((count, names)) = self.routes.get_mut(template) else {
            return;
        };
        *count = count.saturating_add(1);
        for arg in args {
            let name = arg.name();
            if !names.contains_key(name) {
                if names.len() >= LEARN_NAMES {
                    continue;
                }
                names.insert(name.to_owned(), Acc::default());
            }
            let Some(a) = names.get_mut(name) else {
                continue;
            };
            a.count = a.count.saturating_add(1);
            let x = arg.value_len() as f64;
            let d = x - a.mean;
            a.mean += d / f64::from(a.count);
            a.m2 += d * (x - a.mean);
            a.shapes[arg.shape().index()] += 1;
        }
    }

    pub(crate) fn finish(self, params: RouteParams) -> RouteProfiles {
        let mut routes: Vec<(String, u32, BTreeMap<String, Acc>)> = self
            .routes
            .into_iter()
            .filter(|(_, (n, _))| *n >= params.min_count)
            .map(|(t, (n, names))| (t, n, names))
            .collect();
        // Most frequent first; ties by template, so the cut is deterministic.
        routes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        routes.truncate(params.max_routes);
        let routes = routes
            .into_iter()
            .map(|(t, n, names)| {
                let mut names: Vec<(String, Acc)> =
                    names.into_iter().filter(|(_, a)| a.count >= 2).collect();
                names.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
                names.truncate(params.max_names);
                let names = names
                    .into_iter()
                    .map(|(k, a)| {
                        let var = if a.count > 1 {
                            a.m2 / f64::from(a.count - 1)
                        } else {
                            0.0
                        };
                        let p = NameProfile {
                            count: a.count,
                            mean_len: a.mean as f32,
                            std_len: var.max(0.0).sqrt() as f32,
                            shapes: a.shapes,
                        };
                        (k, p)
                    })
                    .collect();
                (t, RouteProfile { count: n, names })
            })
            .collect();
        RouteProfiles { params, routes }
    }
}
