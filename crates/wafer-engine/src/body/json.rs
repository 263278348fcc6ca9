//! json bodies.
use super::{BodyLimits, ParsedBody};

pub fn parse(body: &[u8], truncated: bool, limits: &BodyLimits) -> ParsedBody {
    let _ = (body, truncated, limits);
    ParsedBody::default()
}
