//! `application/x-www-form-urlencoded` (and query strings).
use super::{BodyLimits, ParsedBody};

/// Splits `a=1&b=2` into (name, value) pairs, each percent-decoded once with
/// `+` as space; at most `max` pairs (empty ones between `&&` do not count).
pub fn pairs(input: &str, max: usize) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .take(max)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// Percent-decodes once, `+` as space.
pub fn form_decode(s: &str) -> String {
    crate::decode::url::percent_decode(&s.replace('+', " ")).into_owned()
}

/// Each pair gives a `BodyArg` and a `BodyArgName`. More than `max_args`
/// pairs is a `TooManyArgs` problem; the rest are not inspected.
pub fn parse(body: &[u8], limits: &BodyLimits) -> ParsedBody {
    let text = String::from_utf8_lossy(body);
    // One more than allowed tells us whether there were too many.
    let mut pairs = pairs(&text, limits.max_args.saturating_add(1));
    let mut problems = Vec::new();
    if pairs.len() > limits.max_args {
        pairs.truncate(limits.max_args);
        problems.push(super::BodyProblem::TooManyArgs);
    }
    let args = pairs
        .into_iter()
        .flat_map(|(k, v)| {
            [
                super::BodyArg {
                    part: crate::request::Part::BodyArg,
                    name: k.clone(),
                    value: v,
                },
                super::BodyArg {
                    part: crate::request::Part::BodyArgName,
                    name: k.clone(),
                    value: k,
                },
            ]
        })
        .collect();
    ParsedBody { args, problems }
}
