//! Body parsers: turn a buffered body into named arguments.
//!
//! Every parser is lenient and bounded: it never fails the request, it reports
//! what it could not parse as [`BodyProblem`]s, which become protocol findings.

use crate::request::Part;

/// Limits passed in from the engine configuration.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// Deepest JSON/XML nesting parsed; deeper structure is a problem, not a crash.
    pub max_depth: usize,
    /// Most arguments taken from the query string, and from one body (names
    /// count too): more is refused (413), since inspecting them all has no bound.
    pub max_args: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_depth: 32,
            max_args: 50_000,
        }
    }
}

/// The kind of body, from `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    UrlEncoded,
    Json,
    /// Multipart with its boundary (kept by the caller, see [`multipart_boundary`]).
    Multipart,
    Xml,
    /// Text we inspect as one raw value (text/plain and unknown textual types).
    Text,
    /// Binary we do not inspect (images, octet-stream, archives...).
    Opaque,
}

/// One argument found in a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyArg {
    /// `BodyArg`, `BodyArgName` or `Filename`.
    pub part: Part,
    /// The argument's name: form field, dotted JSON path (`user.tags.0`), multipart field, XML element path.
    pub name: String,
    pub value: String,
}

/// Something wrong with the body, reported as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyProblem {
    /// JSON that does not parse (truncated bodies excepted).
    MalformedJson(String),
    /// Multipart without a boundary, without parts, or with unterminated parts.
    MalformedMultipart(String),
    /// XML that does not parse.
    MalformedXml(String),
    /// Nesting deeper than the limit.
    TooDeep,
    /// More arguments than the limit; the rest were not inspected.
    TooManyArgs,
    /// XML with a DOCTYPE or ENTITY declaration.
    XmlDoctype,
}

/// What a body parser produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedBody {
    pub args: Vec<BodyArg>,
    pub problems: Vec<BodyProblem>,
}

impl ParsedBody {
    /// Adds an argument unless `max` are taken already; the first refusal is
    /// recorded as [`BodyProblem::TooManyArgs`]. Returns `false` once full, so
    /// parsers can stop.
    pub(crate) fn push_arg(&mut self, arg: BodyArg, max: usize) -> bool {
        if self.args.len() >= max {
            if !self.problems.contains(&BodyProblem::TooManyArgs) {
                self.problems.push(BodyProblem::TooManyArgs);
            }
            return false;
        }
        self.args.push(arg);
        true
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for anything odd).
pub(crate) fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// A `Content-Type` value's media type, lowercased, without its parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Classifies a `Content-Type` value.
pub fn kind_of(content_type: Option<&str>) -> BodyKind {
    let Some(ct) = content_type else {
        return BodyKind::Text;
    };
    let ct = media_type(ct);
    match ct.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::UrlEncoded,
        "multipart/form-data" | "multipart/mixed" | "multipart/related" => BodyKind::Multipart,
        // A GraphQL document is parsed like JSON's `query` member (graphql.rs).
        _ if ct.ends_with("/json") || ct.ends_with("+json") || ct == "application/graphql" => {
            BodyKind::Json
        }
        _ if ct.ends_with("/xml") || ct.ends_with("+xml") => BodyKind::Xml,
        _ if ct.starts_with("image/")
            || ct.starts_with("video/")
            || ct.starts_with("audio/")
            || ct.starts_with("font/")
            || ct == "application/octet-stream"
            || ct == "application/zip"
            || ct == "application/gzip"
            || ct == "application/pdf"
            || ct == "application/x-protobuf"
            || ct == "application/protobuf"
            || ct == "application/grpc" =>
        {
            BodyKind::Opaque
        }
        _ => BodyKind::Text,
    }
}

/// The `boundary` parameter of a multipart `Content-Type`.
pub fn multipart_boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// Parses `body` according to `content_type`. `truncated` tells parsers the
/// body is a prefix, so an abrupt end is not itself a problem.
pub fn parse(
    content_type: Option<&str>,
    body: &[u8],
    truncated: bool,
    limits: &BodyLimits,
) -> ParsedBody {
    parse_as(kind_of(content_type), content_type, body, truncated, limits)
}

/// [`parse`] as `kind`, whatever `content_type` says (it still gives a
/// multipart body its boundary).
pub fn parse_as(
    kind: BodyKind,
    content_type: Option<&str>,
    body: &[u8],
    truncated: bool,
    limits: &BodyLimits,
) -> ParsedBody {
    match kind {
        BodyKind::UrlEncoded => urlencoded::parse(body, limits),
        BodyKind::Json
            if content_type.is_some_and(|ct| media_type(ct) == "application/graphql") =>
        {
            graphql::parse_body(body, limits)
        }
        BodyKind::Json => {
            let mut parsed = json::parse(body, truncated, limits);
            graphql::expand_json(&mut parsed, limits);
            parsed
        }
        BodyKind::Multipart => match content_type.and_then(multipart_boundary) {
            Some(b) => multipart::parse(body, b, truncated, limits),
            None => ParsedBody {
                args: Vec::new(),
                problems: vec![BodyProblem::MalformedMultipart(
                    "no boundary in Content-Type".into(),
                )],
            },
        },
        BodyKind::Xml => xml::parse(body, truncated, limits),
        BodyKind::Text | BodyKind::Opaque => ParsedBody::default(),
    }
}

pub mod coding;
pub mod graphql;
pub mod json;
pub mod multipart;
pub mod sniff;
pub mod stream;
pub mod urlencoded;
pub mod xml;

#[cfg(test)]
mod tests;
