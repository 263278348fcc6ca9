use super::*;
use crate::body::{BodyLimits, multipart, urlencoded};

/// Feeds `body` in chunks of the given sizes (cycled), then ends it.
fn stream(kind: BodyKind, ct: &str, body: &[u8], chunks: &[usize]) -> Pieces {
    let mut s = BodyStream::new(kind, Some(ct), &body[..body.len().min(4096)]);
    let mut out = Pieces::default();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].clamp(1, rest.len());
        s.push(&rest[..n], &mut out);
        rest = &rest[n..];
        i += 1;
    }
    s.finish(&mut out);
    out
}

fn triples(p: &Pieces) -> Vec<(Part, String, String)> {
    let mut v: Vec<_> = p
        .values
        .iter()
        .map(|v| {
            (
                v.location.part,
                v.location.name.clone().unwrap_or_default(),
                v.text.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn parsed_triples(args: Vec<crate::body::BodyArg>) -> Vec<(Part, String, String)> {
    let mut v: Vec<_> = args
        .into_iter()
        .map(|a| (a.part, a.name, a.value))
        .collect();
    v.sort();
    v
}

const CHUNKINGS: &[&[usize]] = &[&[1], &[2, 3], &[7], &[64], &[1000], &[100_000], &[5, 1, 13]];

const MP: &str = "multipart/form-data; boundary=XyZ";

fn multipart_bodies() -> Vec<Vec<u8>> {
    vec![
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--XyZ--\r\n".to_vec(),
        // Preamble, LF line ends, a folded header, padding after the delimiter, epilogue.
        b"preamble --XyZ not one\n--XyZ  \nContent-Disposition: form-data;\n name=\"q\"\n\nx--XyZ inside\n--XyZ--\nepilogue".to_vec(),
        // A file that is text, and a `--XyZX` that is content.
        b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"s.php\"\r\nContent-Type: image/png\r\n\r\n<?php system($_GET['c']); ?>\r\n--XyZX\r\n--XyZ--".to_vec(),
        // No close delimiter; a part without Content-Disposition.
        b"--XyZ\r\nX-A: 1\r\n\r\nv\r\n--XyZ\r\nContent-Disposition: form-data; name=\"z\"\r\n\r\nlast".to_vec(),
        // Heads of several lines, one ended by `\n\r\n`, one by a bare `\r` line then `\n`.
        b"--XyZ\r\nX-A: 1\nX-B: \r2\nContent-Disposition: form-data; name=\"m\"\n\r\nv1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\nX-C: 3\r\n\r\nv2\r\n--XyZ--".to_vec(),
    ]
}

#[test]
fn multipart_stream_agrees_with_the_buffered_parser_however_it_is_cut() {
    for body in multipart_bodies() {
        let parsed = multipart::parse(&body, "XyZ", false, &BodyLimits::default());
        let want = parsed_triples(parsed.args);
        for chunks in CHUNKINGS {
            let got = stream(BodyKind::Multipart, MP, &body, chunks);
            assert_eq!(
                triples(&got),
                want,
                "{:?} in chunks {chunks:?}",
                String::from_utf8_lossy(&body)
            );
            assert_eq!(
                got.problems.is_empty(),
                parsed.problems.is_empty(),
                "{:?}: {:?} vs {:?}",
                String::from_utf8_lossy(&body),
                got.problems,
                parsed.problems
            );
        }
    }
}

#[test]
fn a_line_that_is_not_a_delimiter_never_splits_a_part() {
    // `x--XyZ` does not start a line: the attack after it is content of `a`,
    // wherever the chunks are cut.
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx--XyZ\r\n' UNION SELECT password FROM users--\r\n\r\nmore\r\n--XyZ--\r\n";
    for n in 1..body.len() {
        let got = stream(BodyKind::Multipart, MP, body, &[n]);
        assert!(
            got.values
                .iter()
                .any(|v| v.location.name.as_deref() == Some("a")
                    && v.text.contains("' UNION SELECT password FROM users--")),
            "cut at {n}: {:?}",
            got.values
        );
    }
}

#[test]
fn form_stream_agrees_with_the_buffered_parser() {
    let body = b"a=1&b=%27+or+1%3D1&&c&d=x%26y&e=";
    let want = parsed_triples(urlencoded::parse(body, &BodyLimits::default()).args);
    for chunks in CHUNKINGS {
        let got = stream(
            BodyKind::UrlEncoded,
            "application/x-www-form-urlencoded",
            body,
            chunks,
        );
        assert_eq!(triples(&got), want, "chunks {chunks:?}");
    }
}

const ATTACK: &str = "' UNION SELECT password FROM users--";

#[test]
fn an_argument_after_padding_is_inspected_whole() {
    let mut body = format!("pad={}&q=", "a".repeat(131_172)).into_bytes();
    body.extend_from_slice(ATTACK.as_bytes());
    for chunks in CHUNKINGS {
        let got = stream(BodyKind::UrlEncoded, "x", &body, chunks);
        assert!(
            got.values
                .iter()
                .any(|v| v.location.name.as_deref() == Some("q") && v.text == ATTACK),
            "chunks {chunks:?}"
        );
        // The long value is seen in windows, never held whole.
        assert!(got.values.iter().all(|v| v.text.len() <= WINDOW));
    }
}

#[test]
fn a_token_anywhere_in_a_long_value_is_whole_in_some_window() {
    let token = "UNION SELECT";
    for at in [
        0,
        WINDOW - 5,
        WINDOW - OVERLAP - 3,
        3 * (WINDOW - OVERLAP) - 6,
        70_000,
    ] {
        let mut body = "a".repeat(80_000).into_bytes();
        body[at..at + token.len()].copy_from_slice(token.as_bytes());
        for (kind, ct) in [
            (BodyKind::Json, "application/json"),
            (BodyKind::UrlEncoded, "application/x-www-form-urlencoded"),
            (BodyKind::Opaque, "application/octet-stream"),
        ] {
            for chunks in CHUNKINGS {
                let got = stream(kind, ct, &body, chunks);
                assert!(
                    got.values.iter().any(|v| v.text.contains(token)),
                    "{kind:?} at {at}, chunks {chunks:?}"
                );
            }
        }
    }
}

#[test]
fn binary_content_gives_its_strings_and_script_windows() {
    let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
    body.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
    body.extend_from_slice(b"\x00\x01q=");
    body.extend_from_slice(ATTACK.as_bytes());
    body.extend_from_slice(b"\x00\x02");
    let got = stream(BodyKind::Opaque, "application/grpc", &body, &[1000]);
    assert!(got.values.iter().any(|v| v.text.contains(ATTACK)));
    assert!(!got.binary.is_empty());
    // An image's runs are noise: it is searched for scripts only.
    let got = stream(BodyKind::Opaque, "image/png", &body, &[1000]);
    assert!(got.values.is_empty(), "{:?}", got.values);
    assert!(!got.binary.is_empty());
    assert!(got.binary.iter().all(|w| w.len() <= WINDOW));
}

#[test]
fn a_binary_file_part_is_only_searched_for_scripts() {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: text/plain\r\n\r\n\x89PNG\r\n\x1a\n".to_vec();
    body.extend((0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
    body.extend_from_slice(b"<?php system($_GET[1]);\r\n--XyZ--\r\n");
    let got = stream(BodyKind::Multipart, MP, &body, &[333]);
    assert!(got.values.iter().all(|v| v.location.part != Part::BodyArg));
    assert!(
        got.values
            .iter()
            .any(|v| v.location.part == Part::Filename && v.text == "a.png")
    );
    assert!(
        got.binary
            .iter()
            .any(|w| memmem::find(w, b"<?php system").is_some())
    );
}

#[test]
fn a_huge_text_file_part_is_inspected_in_windows() {
    let mut body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"notes.txt\"\r\n\r\n"
            .to_vec();
    body.extend("lorem ipsum ".repeat(20_000).as_bytes());
    body.extend_from_slice(ATTACK.as_bytes());
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let got = stream(BodyKind::Multipart, MP, &body, &[4096]);
    assert!(
        got.values
            .iter()
            .any(|v| v.location.name.as_deref() == Some("f") && v.text.contains(ATTACK))
    );
    assert!(got.problems.is_empty(), "{:?}", got.problems);
}

#[test]
fn headers_that_never_end_are_a_problem_and_still_inspected() {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n".to_vec();
    body.extend("X-Pad: aaaa\r\n".repeat(2000).as_bytes());
    body.extend_from_slice(ATTACK.as_bytes());
    let got = stream(BodyKind::Multipart, MP, &body, &[1500]);
    assert!(!got.problems.is_empty());
    assert!(got.values.iter().any(|v| v.text.contains(ATTACK)));
}

#[test]
fn a_head_fed_byte_by_byte_is_read_once_it_ends() {
    // The head is only read whole once its empty line arrives (it was read
    // again on every push, which made a 16 KiB head sent a byte at a time
    // cost seconds); what it says must not change with the cutting.
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n".to_vec();
    body.extend("X-Pad: aaaa\r\n".repeat(1000).as_bytes());
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(ATTACK.as_bytes());
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    for chunks in CHUNKINGS {
        let got = stream(BodyKind::Multipart, MP, &body, chunks);
        assert!(got.problems.is_empty(), "{chunks:?}: {:?}", got.problems);
        assert!(
            got.values
                .iter()
                .any(|v| v.location.name.as_deref() == Some("a") && v.text.contains(ATTACK)),
            "{chunks:?}: {:?}",
            got.values
        );
    }
}

#[test]
fn windows_end_between_words_not_inside_one() {
    // A window cut inside `shirt` after a line break read as `\nsh`, a shell
    // command at the start of a line, and blocked benign uploads.
    let mut body = Vec::new();
    let mut i = 0usize;
    while body.len() < 200_000 {
        // Words of varying length so cuts fall everywhere.
        body.extend_from_slice(b"shirt");
        body.extend(std::iter::repeat_n(b'x', i % 7));
        body.extend_from_slice(if i.is_multiple_of(3) { b"\n" } else { b" " });
        i += 1;
    }
    let words = |text: &str| {
        text.split(['\n', ' '])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut form = b"q=".to_vec();
    form.extend_from_slice(&body);
    for (kind, ct, body) in [
        (BodyKind::Json, "application/json", &body),
        (BodyKind::Opaque, "text/plain", &body),
        (
            BodyKind::UrlEncoded,
            "application/x-www-form-urlencoded",
            &form,
        ),
    ] {
        for chunks in CHUNKINGS {
            let got = stream(kind, ct, body, chunks);
            let windows: Vec<_> = got.values.iter().filter(|v| v.text.len() > 1000).collect();
            assert!(windows.len() > 10, "{kind:?} {chunks:?}");
            for v in windows {
                for w in words(&v.text.replace('+', " ")) {
                    assert!(
                        w.starts_with("shirt") && w[5..].bytes().all(|b| b == b'x'),
                        "{kind:?} {chunks:?}: a window holds the cut word {w:?}"
                    );
                }
            }
        }
    }
}
