//! Folding what varies per request out of paths and argument names, so that
//! `/notes/42/save` and `/notes/43/save` are one place (`/notes/*/save`), and
//! `cells.0.source` and `cells.7.source` one argument (`cells.*.source`).

/// Whether a path segment or name part is an identifier rather than a name:
/// a number, a UUID, or a long hex string with a digit in it (object ids,
/// hashes). Words made only of the letters a-f stay ("facade", "added").
pub(crate) fn is_id(seg: &str) -> bool {
    if seg.is_empty() {
        return false;
    }
    if seg.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if is_uuid(seg) {
        return true;
    }
    seg.len() >= 8
        && seg.bytes().all(|b| b.is_ascii_hexdigit())
        && seg.bytes().any(|b| b.is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The path with identifier segments as `*` (`/notes/42/save` → `/notes/*/save`).
pub(crate) fn path_template(path: &str) -> String {
    path.split('/')
        .map(|seg| if is_id(seg) { "*" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// An argument name with array indexes and identifier parts as `*`:
/// `cells.0.source` → `cells.*.source`, `items[3][name]` → `items[*][name]`.
pub(crate) fn name_template(name: &str) -> String {
    name.split('.')
        .map(|part| {
            if is_id(part) {
                "*".to_owned()
            } else {
                fold_brackets(part)
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `[3]` → `[*]` (form names in the PHP and Rails styles).
fn fold_brackets(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        match rest.find(']') {
            Some(close) if is_id(&rest[..close]) => {
                out.push('*');
                rest = &rest[close..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_fold_and_words_stay() {
        assert_eq!(path_template("/notes/42/save"), "/notes/*/save");
        assert_eq!(
            path_template("/u/3f2b8c1e-9d4a-4c1b-8e2f-0a1b2c3d4e5f/avatar"),
            "/u/*/avatar"
        );
        assert_eq!(path_template("/obj/65a1f0c2b3d4e5f6a7b8c9d0"), "/obj/*");
        assert_eq!(path_template("/facade/added/"), "/facade/added/");
        assert_eq!(path_template("/"), "/");
        assert_eq!(name_template("cells.0.source"), "cells.*.source");
        assert_eq!(name_template("items[3][name]"), "items[*][name]");
        assert_eq!(name_template("a[b][12"), "a[b][12");
        assert_eq!(name_template("content"), "content");
        assert_eq!(name_template(""), "");
    }
}
