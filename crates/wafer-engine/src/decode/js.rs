//! JavaScript, CSS and JSON escapes.
use std::borrow::Cow;

pub fn decode_escapes(input: &str) -> Cow<'_, str> {
    Cow::Borrowed(input)
}
