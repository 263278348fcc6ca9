//! `application/x-www-form-urlencoded` (and query strings).
use super::{BodyLimits, ParsedBody};

/// Splits `a=1&b=2` into (name, value) pairs, each percent-decoded once with `+` as space.
pub fn pairs(input: &str, max: usize) -> Vec<(String, String)> {
    let _ = max;
    input
        .split('&')
        .filter(|p| !p.is_empty())
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

pub fn parse(body: &[u8], limits: &BodyLimits) -> ParsedBody {
    let text = String::from_utf8_lossy(body);
    let args = pairs(&text, limits.max_args)
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
    ParsedBody {
        args,
        problems: Vec::new(),
    }
}
