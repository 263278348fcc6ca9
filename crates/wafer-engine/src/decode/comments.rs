//! SQL, C and HTML comments.
use std::borrow::Cow;

pub fn replace_comments(input: &str) -> Cow<'_, str> {
    Cow::Borrowed(input)
}
