//! A lenient HTML tag tokenizer, reading markup the way a browser's tokenizer
//! does (the WHATWG tokenizer states, simplified and written from the spec's
//! description): `<` opens a tag only before an ASCII letter (start tag), `/`
//! and a letter (end tag), `?` (processing instruction, which IE honoured as
//! `<?import>`) or `!` (comment or declaration, not a tag). A tag name runs
//! to whitespace, `/` or `>` (so `<script"` is the element `script"`, not a
//! script, and `<ada@example.com>` is a harmless unknown element); `/` between
//! attributes separates like whitespace; attribute values may be
//! double-quoted, single-quoted or unquoted; a tag left open at the end of
//! the value is still a tag (whatever the page puts after the reflection
//! closes it).
//!
//! Nothing is allocated: tags and attributes are slices of the input.

/// What kind of markup a `<` opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Start,
    End,
    /// `<?name ...>`.
    Pi,
}

/// One tag.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tag<'a> {
    pub(super) kind: Kind,
    /// As written (case kept).
    pub(super) name: &'a str,
    /// The attribute region: after the name, up to (not including) the `>`.
    attrs: &'a str,
    /// Byte offset of its `<`.
    pub(super) start: usize,
    /// Byte offset just past the tag (past `>`, or the end of the input).
    pub(super) end: usize,
    /// Whether a `>` closed it.
    pub(super) closed: bool,
}

/// One attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Attr<'a> {
    pub(super) name: &'a str,
    /// `None` when the attribute has no `=`; `Some("")` for `x=` at the end.
    pub(super) value: Option<&'a str>,
}

/// Longest tag name we read; longer ones are not tags we care about.
const MAX_NAME: usize = 64;
/// Most attributes read per tag (bounds the work on crafted input).
pub(super) const MAX_ATTRS: usize = 48;

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

impl<'a> Tag<'a> {
    /// The tag opened by the `<` at `lt`, if that `<` opens one.
    pub(super) fn at(s: &'a str, lt: usize) -> Option<Tag<'a>> {
        let b = s.as_bytes();
        debug_assert_eq!(b.get(lt), Some(&b'<'));
        let (kind, name_at) = match *b.get(lt + 1)? {
            c if c.is_ascii_alphabetic() => (Kind::Start, lt + 1),
            b'/' if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => (Kind::End, lt + 2),
            b'?' if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => (Kind::Pi, lt + 2),
            _ => return None,
        };
        let mut i = name_at;
        while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
            i += 1;
            if i - name_at > MAX_NAME {
                return None;
            }
        }
        // Names end on a char boundary: the stop bytes are ASCII.
        let name = &s[name_at..i];
        let mut it = Attrs { s, pos: i, n: 0 };
        while it.next().is_some() {}
        let closed = it.pos < b.len() && b[it.pos] == b'>';
        let attrs = &s[i..it.pos];
        Some(Tag {
            kind,
            name,
            attrs,
            start: lt,
            end: if closed { it.pos + 1 } else { it.pos },
            closed,
        })
    }

    /// The name without a namespace prefix (`x:script` → `script`).
    pub(super) fn local(&self) -> &'a str {
        local_name(self.name)
    }

    pub(super) fn is(&self, lower: &str) -> bool {
        self.local().eq_ignore_ascii_case(lower)
    }

    pub(super) fn attrs(&self) -> Attrs<'a> {
        Attrs {
            s: self.attrs,
            pos: 0,
            n: 0,
        }
    }

    pub(super) fn attr(&self, lower: &str) -> Option<Attr<'a>> {
        self.attrs().find(|a| a.name.eq_ignore_ascii_case(lower))
    }

    pub(super) fn has_attrs(&self) -> bool {
        self.attrs().next().is_some()
    }
}

pub(super) fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Attribute iterator over an attribute region (also used on a value that
/// breaks out of an attribute: after the closing quote, the rest is read as
/// more attributes). Stops at a `>` outside quotes.
#[derive(Clone, Debug)]
pub(super) struct Attrs<'a> {
    s: &'a str,
    pub(super) pos: usize,
    n: usize,
}

impl<'a> Attrs<'a> {
    /// Reads `s` as the inside of a tag, from its start.
    pub(super) fn new(s: &'a str) -> Attrs<'a> {
        Attrs { s, pos: 0, n: 0 }
    }

    /// Whether only whitespace is left after the last attribute read.
    pub(super) fn rest_is_blank(&self) -> bool {
        self.s.as_bytes()[self.pos..].iter().all(|&c| is_space(c))
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let s = self.s;
        let b = s.as_bytes();
        let mut i = self.pos;
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' || self.n >= MAX_ATTRS {
            self.pos = i;
            return None;
        }
        self.n += 1;
        // A name: the first byte may be anything but space, `/`, `>` (even `=`).
        let start = i;
        i += 1;
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        // Non-ASCII bytes are never stop bytes, so `i` is on a char boundary.
        let name = &s[start..i];
        let mut j = i;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        if j >= b.len() || b[j] != b'=' {
            self.pos = i;
            return Some(Attr { name, value: None });
        }
        j += 1;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        let value;
        match b.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let from = j + 1;
                let to = memchr::memchr(q, &b[from..]).map_or(b.len(), |o| from + o);
                value = &s[from..to];
                j = (to + 1).min(b.len());
            }
            Some(b'>') | None => value = "",
            Some(_) => {
                let from = j;
                while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                    j += 1;
                }
                value = &s[from..j];
            }
        }
        self.pos = j;
        Some(Attr {
            name,
            value: Some(value),
        })
    }
}

/// Every tag in `s`, starting a fresh tag at every `<` (not only after the
/// previous tag's end: `<scr<script>` and markup inside attribute values are
/// seen too, since the value may be reflected anywhere). At most `max` tags.
pub(super) fn tags(s: &str, max: usize) -> impl Iterator<Item = Tag<'_>> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'<', b)
        .filter_map(move |lt| Tag::at(s, lt))
        .take(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<(&str, Kind, bool)> {
        tags(s, 100).map(|t| (t.name, t.kind, t.closed)).collect()
    }

    #[test]
    fn tag_opens_only_before_a_letter() {
        assert!(names("a < b > c").is_empty());
        assert!(names("<3 and 5<10").is_empty());
        assert_eq!(names("x<y"), vec![("y", Kind::Start, false)]);
        assert_eq!(
            names("<ada@example.com>"),
            vec![("ada@example.com", Kind::Start, true)]
        );
        assert_eq!(names("</script>"), vec![("script", Kind::End, true)]);
        assert_eq!(names("<?import x>"), vec![("import", Kind::Pi, true)]);
        assert!(names("<!-- c -->").is_empty());
    }

    #[test]
    fn attributes_are_read_as_a_browser_reads_them() {
        let t = Tag::at("<svg/onload=alert(1)>", 0).unwrap();
        assert_eq!(t.name, "svg");
        assert_eq!(
            t.attrs().collect::<Vec<_>>(),
            vec![Attr {
                name: "onload",
                value: Some("alert(1)")
            }]
        );
        let t = Tag::at("<img\tsrc='x'\nonerror = \"a b\" hidden>rest", 0).unwrap();
        let a: Vec<_> = t.attrs().collect();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].value, Some("x"));
        assert_eq!(a[1].name, "onerror");
        assert_eq!(a[1].value, Some("a b"));
        assert_eq!(a[2].value, None);
        assert!(t.closed);
        assert_eq!(
            &"<img\tsrc='x'\nonerror = \"a b\" hidden>rest"[t.end..],
            "rest"
        );
        // Quoted values may hold `>`.
        let t = Tag::at("<a title='>' onclick=x>", 0).unwrap();
        assert!(t.attr("onclick").is_some());
        // Unclosed at the end of the value.
        let t = Tag::at("<x onend=", 0).unwrap();
        assert!(!t.closed);
        assert_eq!(t.attr("onend").unwrap().value, Some(""));
        assert_eq!(Tag::at("<x:script a>", 0).unwrap().local(), "script");
    }
}
