//! Fuzz targets: one function per parser, lexer or decoder that sees network
//! input, and one for a whole transaction.
//!
//! They live here, behind the `fuzzing` feature, so that the AFL binaries in
//! `fuzz/` and the regression test (`tests/fuzz_regressions.rs`, which
//! replays every committed seed and crash) run the very same code. Each
//! target takes arbitrary bytes, must never panic, and asserts the
//! invariants its module promises (limits hold, output stays bounded); a
//! broken invariant panics, which AFL records as a crash.

use std::sync::OnceLock;

use crate::body::coding::{self, Coding, CodingError, DecodeLimits, Decoder};
use crate::body::stream::{BodyStream, OVERLAP, Pieces, WINDOW};
use crate::body::{self, BodyKind, BodyLimits, ParsedBody};
use crate::decode::{self, Transform};
use crate::detect::{self, Hit, Input};
use crate::request::{Location, Part, Request};
use crate::{Action, BodyPlan, Engine, EngineConfig, Flow, Limits, Verdict};

/// A target: a name (its seed and regression directory) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("raw_request", raw_request),
    ("urlencoded", urlencoded),
    ("json", json),
    ("graphql", graphql),
    ("multipart", multipart),
    ("xml", xml),
    ("decode", decode),
    ("coding", coding),
    ("stream", stream),
    ("sqli", sqli),
    ("xss", xss),
    ("cmdi", cmdi),
    ("detect", detect),
    ("transaction", transaction),
];

/// Looks a target up by name.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// Small limits, so that fuzz inputs of a few hundred bytes reach them.
const LIMITS: BodyLimits = BodyLimits {
    max_depth: 8,
    max_args: 64,
};

/// The first byte, as a selector, and the rest.
fn split_first(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (b, rest),
        None => (0, data),
    }
}

/// `per_arg`: arguments one counted item gives (a form pair is a value and a name).
fn check_parsed(p: &ParsedBody, limits: &BodyLimits, per_arg: usize) {
    assert!(
        p.args.len() <= limits.max_args * per_arg,
        "{} args over the limit of {} (x{per_arg})",
        p.args.len(),
        limits.max_args
    );
}

/// `wafer check`'s raw HTTP/1.x parser (head, then a body by length or chunks).
pub fn raw_request(data: &[u8]) {
    if let Ok(req) = Request::parse_raw(data) {
        assert!(req.body.len() <= data.len(), "body longer than the input");
        let _ = (req.raw_path(), req.raw_query(), req.header_value("host"));
    }
}

/// `application/x-www-form-urlencoded` bodies and query strings.
pub fn urlencoded(data: &[u8]) {
    check_parsed(&body::urlencoded::parse(data, &LIMITS), &LIMITS, 2);
    let text = String::from_utf8_lossy(data);
    assert!(body::urlencoded::pairs(&text, 8).len() <= 8);
}

/// JSON bodies; the first byte's low bit says whether the body is a prefix.
pub fn json(data: &[u8]) {
    let (sel, rest) = split_first(data);
    check_parsed(&body::json::parse(rest, sel & 1 == 1, &LIMITS), &LIMITS, 1);
}

/// GraphQL documents: the first byte's low bit picks `application/graphql`
/// (the document itself) or JSON (the data is wrapped as a request's
/// `query`, so the JSON hand-over is exercised too).
pub fn graphql(data: &[u8]) {
    let (sel, rest) = split_first(data);
    let doc = String::from_utf8_lossy(rest);
    let (ct, body) = if sel & 1 == 1 {
        ("application/graphql", doc.to_string())
    } else {
        let quoted = serde_json::to_string(&doc).unwrap_or_default();
        ("application/json", format!("{{\"query\":{quoted}}}"))
    };
    let p = body::parse_as(BodyKind::Json, Some(ct), body.as_bytes(), false, &LIMITS);
    check_parsed(&p, &LIMITS, 1);
    let _ = body::graphql::values(&doc);
}

/// XML bodies; the first byte's low bit says whether the body is a prefix.
pub fn xml(data: &[u8]) {
    let (sel, rest) = split_first(data);
    check_parsed(&body::xml::parse(rest, sel & 1 == 1, &LIMITS), &LIMITS, 1);
}

/// Multipart bodies: the first line is the `Content-Type` value (with the
/// boundary), the rest the body.
pub fn multipart(data: &[u8]) {
    let (ct, body) = match memchr::memchr(b'\n', data) {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => (String::from_utf8_lossy(data), &[][..]),
    };
    for truncated in [false, true] {
        let p = body::parse_as(BodyKind::Multipart, Some(&ct), body, truncated, &LIMITS);
        check_parsed(&p, &LIMITS, 1);
    }
    let mut hits = Vec::new();
    detect::upload::check_multipart(Some(&ct), body, &mut hits);
    detect::protocol::check_multipart_charsets(Some(&ct), body, &mut hits);
    check_hits(&hits);
}

/// Every decoder and normalization step. None may grow its input past a
/// small constant factor: decoding must not become an amplifier.
pub fn decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let n = text.len();
    for t in Transform::ALL {
        let out = t.apply(&text);
        // Lowercasing may turn a 2-byte letter into 3 bytes; a path may gain its leading `/`.
        let bound = if matches!(t, Transform::Lowercase | Transform::CmdLine) {
            n * 3 / 2 + 1
        } else {
            n + 1
        };
        assert!(out.len() <= bound, "{t:?}: {n} bytes became {}", out.len());
    }
    let all: Vec<Transform> = vec![
        Transform::Decode,
        Transform::ReplaceComments,
        Transform::CompressWhitespace,
        Transform::Lowercase,
    ];
    let _ = Transform::apply_chain(&all, &text);
    let layers = decode::decode_layers(&text);
    assert!(
        layers.len() <= n + 1,
        "decode_layers grew {n} to {}",
        layers.len()
    );
    if let Some(b) = decode::base64::plausible_text(&text) {
        assert!(b.len() <= n, "base64 decoded longer than its text");
    }
    let s = decode::utf8::bytes_to_string(data.to_vec());
    assert!(s.len() <= data.len() * 3, "utf-8 repair grew past 3x");
}

/// The `Content-Encoding` decoder. The first byte picks up to four codings
/// (two bits each) and the chunk size; the rest is the compressed body.
pub fn coding(data: &[u8]) {
    let (sel, rest) = split_first(data);
    let (sel2, body) = split_first(rest);
    let all = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd];
    let layers = usize::from(sel2 >> 6);
    let codings: Vec<Coding> = (0..=layers)
        .map(|i| all[usize::from(sel >> (2 * i)) & 3])
        .collect();
    let limits = DecodeLimits {
        max_output: 256 * 1024,
        max_ratio: 10,
    };
    let mut d = Decoder::new(&codings, limits).expect("at most four codings");
    let chunk = usize::from(sel2 & 0x3f) + 1;
    let mut out = Vec::new();
    let mut failed: Option<CodingError> = None;
    for piece in body.chunks(chunk) {
        if let Err(e) = d.push(piece, &mut out) {
            failed = Some(e);
            break;
        }
    }
    if failed.is_none()
        && let Err(e) = d.finish(&mut out)
    {
        failed = Some(e);
    }
    assert!(out.len() <= limits.max_output, "decoded past max_output");
    assert_eq!(d.total_out(), out.len() as u64, "total_out miscounts");
    if let Some(e) = failed {
        // A failed decoder stays failed, with the same error.
        assert_eq!(d.push(b"x", &mut out), Err(e.clone()));
        assert_eq!(d.finish(&mut out), Err(e));
    }
    let header = String::from_utf8_lossy(body);
    if let Ok(c) = coding::parse_content_encoding(header.split('\n')) {
        assert!(c.len() <= coding::MAX_LAYERS);
    }
}

/// Streaming inspection: the first byte picks the body kind and chunk size,
/// the first line after it is the `Content-Type`, the rest the body, fed
/// several times over so that windows fill and overlap.
pub fn stream(data: &[u8]) {
    let (sel, rest) = split_first(data);
    let (ct, body) = match memchr::memchr(b'\n', rest) {
        Some(i) => (String::from_utf8_lossy(&rest[..i]), &rest[i + 1..]),
        None => (String::from_utf8_lossy(rest), &[][..]),
    };
    let kinds = [
        BodyKind::UrlEncoded,
        BodyKind::Json,
        BodyKind::Multipart,
        BodyKind::Xml,
        BodyKind::Text,
        BodyKind::Opaque,
    ];
    let kind = kinds[usize::from(sel & 7) % kinds.len()];
    let chunk = [1, 7, 100, 4096][usize::from(sel >> 3) & 3];
    // Enough repeats to fill a few windows, whatever the input's size.
    let repeats = if body.is_empty() {
        1
    } else {
        (3 * WINDOW / body.len()).clamp(1, 64)
    };
    let mut s = BodyStream::new(kind, Some(&ct), body);
    let mut pieces = Pieces::default();
    for _ in 0..repeats {
        for piece in body.chunks(chunk) {
            s.push(piece, &mut pieces);
            check_pieces(&pieces);
            pieces = Pieces::default();
        }
    }
    s.finish(&mut pieces);
    check_pieces(&pieces);
}

/// Memory stays bounded: no value or window grows with the body.
fn check_pieces(p: &Pieces) {
    // Lossy UTF-8 may triple a window of invalid bytes.
    let bound = 3 * (WINDOW + OVERLAP) + 64;
    for v in &p.values {
        assert!(
            v.text.len() <= bound,
            "a streamed value of {} bytes",
            v.text.len()
        );
    }
    for w in &p.binary {
        assert!(w.len() <= WINDOW, "a binary window of {} bytes", w.len());
    }
}

/// Parts a value may come from, picked by a selector byte.
const PARTS: [Part; 8] = [
    Part::QueryArg,
    Part::BodyArg,
    Part::Header,
    Part::Cookie,
    Part::Path,
    Part::Filename,
    Part::Body,
    Part::QueryString,
];

/// Runs `check` over the input as one value. The first byte picks the part
/// (low bits), whether the header is a known one, and the paranoia level.
fn value_target(data: &[u8], check: fn(&Input<'_>, &mut Vec<Hit>)) {
    let (sel, rest) = split_first(data);
    let part = PARTS[usize::from(sel & 7)];
    let name = match part {
        Part::Header if sel & 8 != 0 => "user-agent",
        Part::Header => "referer",
        Part::Path | Part::Body | Part::QueryString => "",
        _ => "q",
    };
    let location = Location::new(part, (!name.is_empty()).then_some(name));
    let paranoia = (sel >> 4) % 4 + 1;
    let raw = String::from_utf8_lossy(rest);
    let layers = decode::decode_layers(&raw);
    let decoded = decode::remove_nulls(&layers);
    let input = Input {
        location: &location,
        raw: &raw,
        decoded: &decoded,
        paranoia,
    };
    let mut hits = Vec::new();
    check(&input, &mut hits);
    check_hits(&hits);
    // A value detector places every finding.
    assert!(
        hits.iter().all(|h| h.span.is_some()),
        "a hit without a span"
    );
}

/// Every hit names a declared rule (looking one up panics otherwise), and its
/// span, when it has one, is a char-boundary range of its value.
fn check_hits(hits: &[Hit]) {
    for h in hits {
        let _ = detect::rule(h.rule);
        if let Some(r) = &h.span {
            assert!(detect::is_span(&h.value, r), "rule {}: span {r:?}", h.rule);
        }
    }
}

/// The SQL lexer and grammar.
pub fn sqli(data: &[u8]) {
    value_target(data, detect::sqli::check);
}

/// The HTML, JavaScript, CSS and URL lexers of the XSS detector.
pub fn xss(data: &[u8]) {
    value_target(data, detect::xss::check);
}

/// The shell lexer of the command injection detector.
pub fn cmdi(data: &[u8]) {
    value_target(data, detect::cmdi::check);
}

/// Every value detector together (traversal and SSRF included) and the
/// protocol checks of one value.
pub fn detect(data: &[u8]) {
    value_target(data, detect::check_value);
    let (sel, rest) = split_first(data);
    let raw = String::from_utf8_lossy(rest);
    let layers = decode::decode_layers(&raw);
    let location = Location::new(PARTS[usize::from(sel & 7)], Some("q"));
    let mut hits = Vec::new();
    detect::protocol::check_value(&location, &raw, &layers, &mut hits);
    check_hits(&hits);
}

/// An engine with the built-in rules and default policy whose parse buffer
/// is `buffer` bytes, so that small inputs reach the streaming path too.
fn engine(buffer: usize) -> Engine {
    let limits = Limits {
        body_inspect_bytes: buffer,
        max_body_bytes: 1 << 20,
        max_findings: 16,
        ..Limits::default()
    };
    Engine::build(EngineConfig {
        limits,
        ..EngineConfig::default()
    })
    .expect("built-in rules compile")
}

/// Feeds `req` through a transaction phase by phase, the body in `chunk`-byte pieces.
fn run(engine: &Engine, req: &Request, chunk: usize) -> Verdict {
    let mut tx = engine.transaction();
    let mut head = req.clone();
    let body = std::mem::take(&mut head.body);
    if tx.on_request_head(head) == Flow::Continue
        && let BodyPlan::Inspect { .. } = tx.body_plan()
    {
        for piece in body.chunks(chunk.max(1)) {
            if tx.on_request_chunk(piece) == Flow::Stop {
                break;
            }
        }
        let _ = tx.on_request_body_end();
    }
    let v = tx.finish();
    assert!(v.findings.len() <= engine.limits().max_findings);
    assert_eq!(v.status.is_some(), v.action == Action::Block);
    v
}

/// A whole request through the engine with the built-in rules. The first
/// byte picks the body's chunk size and, when the rest is not an HTTP
/// request, the `Content-Type` of a POST whose body is the rest.
///
/// Besides never panicking: how the body is split into chunks (which a
/// client controls) must not change the decision.
pub fn transaction(data: &[u8]) {
    static SMALL: OnceLock<Engine> = OnceLock::new();
    static SNIFFING: OnceLock<Engine> = OnceLock::new();
    // A 64-byte buffer streams nearly every body; 4 KiB is the least that
    // always holds the bytes the stream sniffs, so chunking cannot change them.
    let small = SMALL.get_or_init(|| engine(64));
    let sniffing = SNIFFING.get_or_init(|| engine(body::sniff::SNIFF_BYTES));
    let (sel, rest) = split_first(data);
    let req = Request::parse_raw(rest).unwrap_or_else(|_| {
        let types = [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=b",
            "text/xml",
            "text/plain",
            "application/octet-stream",
            "application/grpc",
            "image/png",
        ];
        Request::new("POST", "/submit?a=1")
            .header("Host", "shop.example")
            .header("Content-Type", types[usize::from(sel & 7)])
            .header("Content-Length", &rest.len().to_string())
            .body(rest)
    });
    let chunk = usize::from(sel >> 3) + 1;
    let _ = run(small, &req, chunk);
    let whole = run(sniffing, &req, usize::MAX);
    let split = run(sniffing, &req, chunk);
    assert_eq!(
        whole.action, split.action,
        "the body's chunking changed the decision ({chunk}-byte chunks)"
    );
}
