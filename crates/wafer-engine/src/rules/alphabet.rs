//! Skipping rule groups that cannot match a value, decided from the value's bytes.
//!
//! Most values in real traffic are plain tokens: ids, numbers, words, version
//! strings, JWTs. A rule that needs a quote, a bracket or a `<` can never match
//! such a value, whatever the value says, so its group need not be transformed
//! or scanned at all. At compile time each group learns, from its patterns'
//! syntax trees, for which of a few fixed [`ALPHABETS`] it could possibly match
//! text made only of that alphabet's bytes; at match time one table lookup per
//! byte tells which alphabets a value lies in.
//!
//! This is sound only because every transform maps text within an alphabet to
//! text within the same alphabet: the alphabets leave out `%`, `&` and `\` (the
//! decoders' markers), control bytes and non-ASCII, and wherever a transform
//! may turn a byte into a space (comments, `,` and `;` in `cmd_line`) the
//! alphabet holds a space. `alphabets_survive_every_transform` checks it.
//! Path canonicalization is the exception (`..` becomes `../`): groups whose
//! chain has it are never skipped.

use crate::decode::Transform;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The alphabets: the digits, the letters and `_` where `words` says so,
/// and the listed bytes.
pub(super) struct Alphabet {
    words: bool,
    extra: &'static [u8],
}

pub(super) const ALPHABETS: [Alphabet; 7] = [
    // identifiers, numbers
    Alphabet {
        words: true,
        extra: b"",
    },
    // ids, UUIDs, versions, hostnames, JWTs, base64url (the space because
    // `replace_comments` turns `--` into one)
    Alphabet {
        words: true,
        extra: b" -.",
    },
    // plain words and sentences without quotes or brackets
    Alphabet {
        words: true,
        extra: b" -.,:!?",
    },
    // base64 and other tokens with `+/=`
    Alphabet {
        words: true,
        extra: b" -.+/=",
    },
    // paths
    Alphabet {
        words: true,
        extra: b" -./~",
    },
    // Accept-style lists and dates: `text/html,*/*;q=0.8`, `Mon, 01 Jan 2024 10:00:00 GMT`
    Alphabet {
        words: true,
        extra: b" -.,;:=/*+",
    },
    // numbers, amounts, dates, times and phone numbers without a letter:
    // `-12.5`, `1,299.00`, `2024-05-01 10:30`, `+1 555 0100`, `05/01/2024`.
    // Most JSON values are these, and next to no signature can match them.
    Alphabet {
        words: false,
        extra: b" -.+,:/",
    },
];

/// One bit per alphabet.
pub(super) type Mask = u8;

/// Every alphabet.
const ALL: Mask = (1 << ALPHABETS.len()) - 1;

/// Which alphabets hold each byte.
#[derive(Debug)]
pub(super) struct ByteTable([Mask; 256]);

impl ByteTable {
    pub(super) fn new() -> ByteTable {
        let mut t = [0; 256];
        for i in 0..ALPHABETS.len() {
            for b in 0..=255u8 {
                if in_alphabet(i, b) {
                    t[b as usize] |= 1 << i;
                }
            }
        }
        ByteTable(t)
    }

    /// The alphabets `text` lies in (0 when none, as for most attacks).
    pub(super) fn of(&self, text: &str) -> Mask {
        let mut m = ALL;
        for &b in text.as_bytes() {
            m &= self.0[b as usize];
            if m == 0 {
                break;
            }
        }
        m
    }
}

/// Whether every step of `chain` keeps text within each alphabet.
pub(super) fn preserved_by(chain: &[Transform]) -> bool {
    !chain.contains(&Transform::NormalizePath)
}

/// The mask for a group: its members' alphabets, or all of them where the
/// chain may take text out of its alphabet.
pub(super) fn for_group(chain: &[Transform], members: impl Iterator<Item = Mask>) -> Mask {
    if preserved_by(chain) {
        members.fold(0, |m, p| m | p)
    } else {
        ALL
    }
}

/// The alphabets within which `hir` could match some text.
pub(super) fn possible(hir: &Hir) -> Mask {
    (0..ALPHABETS.len())
        .filter(|&i| can_match_within(hir, &|b| in_alphabet(i, b)))
        .fold(0, |m, i| m | 1 << i)
}

fn in_alphabet(i: usize, b: u8) -> bool {
    let a = &ALPHABETS[i];
    b.is_ascii_digit()
        || (a.words && (b.is_ascii_alphabetic() || b == b'_'))
        || a.extra.contains(&b)
}

/// Whether `hir` matches some string made only of bytes `allowed` admits.
/// Over-approximates: look-arounds (`\b`, `^`) are taken as satisfiable.
fn can_match_within(hir: &Hir, allowed: &dyn Fn(u8) -> bool) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(lit) => lit.0.iter().all(|&b| allowed(b)),
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().any(|r| {
            let (lo, hi) = (r.start() as u32, (r.end() as u32).min(0x7f));
            (lo..=hi).any(|b| allowed(b as u8))
        }),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| (r.start()..=r.end().min(0x7f)).any(allowed)),
        HirKind::Repetition(r) => r.min == 0 || can_match_within(&r.sub, allowed),
        HirKind::Capture(c) => can_match_within(&c.sub, allowed),
        HirKind::Concat(parts) => parts.iter().all(|h| can_match_within(h, allowed)),
        HirKind::Alternation(alts) => alts.iter().any(|h| can_match_within(h, allowed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hir(p: &str) -> Hir {
        regex_syntax::Parser::new().parse(p).unwrap()
    }

    #[test]
    fn a_pattern_needing_a_quote_cannot_match_plain_tokens() {
        let m = possible(&hir(r"(?i:'\s*or\s+\d)"));
        assert_eq!(m, 0);
        // `sqlmap` is a plain word: every alphabet with letters could hold it.
        assert_eq!(possible(&hir(r"(?i:\bsqlmap\b)")), ALL & !(1 << 6));
        // `../` needs a `/` and a `.`: only the path and list alphabets.
        let m = possible(&hir(r"\.\./"));
        assert_eq!(m, 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6);
        // A keyword needs letters: never within the numbers.
        assert_eq!(possible(&hir(r"(?i:\bselect\b)")), ALL & !(1 << 6));
        // Optional parts do not count; required ones do.
        assert_eq!(possible(&hir(r"a(<b)?")), ALL & !(1 << 6));
        assert_eq!(possible(&hir(r"a(<b)+")), 0);
        assert_eq!(possible(&hir(r"x|<y")), ALL & !(1 << 6));
    }

    #[test]
    fn values_are_placed_in_their_alphabets() {
        let t = ByteTable::new();
        assert_eq!(t.of("1234"), ALL);
        assert_eq!(t.of("GA1.2.1234567890"), 0b0111110);
        assert_eq!(t.of("en-US,en;q=0.9"), 0b0100000);
        assert_eq!(t.of("-1,299.50"), 0b1100100);
        assert_eq!(t.of("+1 555 0100"), 0b1101000);
        assert_eq!(t.of("2024-05-01 10:30"), 0b1100100);
        assert_eq!(t.of("1' or 1=1"), 0);
        assert_eq!(t.of("caf\u{e9}"), 0);
        assert_eq!(t.of("%27"), 0);
    }

    /// The soundness condition: no transform takes text out of an alphabet.
    #[test]
    fn alphabets_survive_every_transform() {
        use crate::testing::XorShift;
        let transforms = Transform::ALL.into_iter().filter(|t| preserved_by(&[*t]));
        let table = ByteTable::new();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for (i, alphabet) in ALPHABETS.iter().enumerate() {
            let mut bytes: Vec<u8> = b"09".to_vec();
            if alphabet.words {
                bytes.extend((b'a'..=b'c').chain(b'X'..=b'Z').chain(*b"_"));
            }
            bytes.extend_from_slice(alphabet.extra);
            for _ in 0..4000 {
                let len = rng.below(12);
                let text: String = (0..len)
                    .map(|_| bytes[rng.below(bytes.len())] as char)
                    .collect();
                assert_ne!(table.of(&text) & 1 << i, 0, "{text:?}");
                for t in transforms.clone() {
                    let out = t.apply(&text);
                    assert_ne!(
                        table.of(&out) & 1 << i,
                        0,
                        "{t:?} takes {text:?} out of alphabet {i}: {out:?}"
                    );
                }
            }
        }
    }
}
