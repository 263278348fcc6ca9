use super::*;
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use std::io::{self, Read, Write};

// Chunk sizes and test bodies repeat from run to run.
use crate::testing::XorShift as Rng;

/// About 200 KiB of text that compresses like a real form body, not like a run of zeros.
fn plain_body() -> Vec<u8> {
    plain_body_of(200 * 1024)
}

fn plain_body_of(len: usize) -> Vec<u8> {
    let words = [
        "user=",
        "admin",
        "&q=",
        "select",
        " from ",
        "<script>",
        "lorem",
        "ipsum",
        "%20",
        "42",
        "\n",
        "{\"a\":",
        "[1,2]",
        "}",
        "café",
        "\u{1F600}",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut body = Vec::new();
    while body.len() < len {
        body.extend_from_slice(words[rng.below(words.len())].as_bytes());
        if rng.below(8) == 0 {
            body.extend_from_slice(&rng.next().to_le_bytes());
        }
    }
    body
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn br(data: &[u8]) -> Vec<u8> {
    let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
    w.write_all(data).unwrap();
    w.into_inner()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
    match coding {
        Coding::Gzip => gzip(data),
        Coding::Deflate => zlib(data),
        Coding::Br => br(data),
        Coding::Zstd => zstd(data),
    }
}

const ALL: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd];

/// Decodes `input` pushed in the chunks `sizes` yields, then finishes.
fn decode_chunked(
    codings: &[Coding],
    limits: DecodeLimits,
    input: &[u8],
    mut sizes: impl FnMut() -> usize,
) -> Result<Vec<u8>, CodingError> {
    let mut d = Decoder::new(codings, limits)?;
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = sizes().clamp(1, rest.len());
        d.push(&rest[..n], &mut out)?;
        rest = &rest[n..];
    }
    d.finish(&mut out)?;
    assert_eq!(d.total_in(), input.len() as u64);
    assert_eq!(d.total_out(), out.len() as u64);
    Ok(out)
}

fn decode(codings: &[Coding], input: &[u8]) -> Result<Vec<u8>, CodingError> {
    decode_chunked(codings, DecodeLimits::default(), input, || usize::MAX)
}

/// Checks one encoded body three ways: whole, a byte at a time, and in random chunks.
fn assert_round_trip(codings: &[Coding], encoded: &[u8], plain: &[u8]) {
    let limits = DecodeLimits::default();
    assert_eq!(
        decode(codings, encoded).unwrap(),
        plain,
        "{codings:?} whole"
    );
    let one = decode_chunked(codings, limits, encoded, || 1).unwrap();
    assert_eq!(one, plain, "{codings:?} byte by byte");
    let mut rng = Rng(7);
    let random = decode_chunked(codings, limits, encoded, || 1 + rng.below(5000)).unwrap();
    assert_eq!(random, plain, "{codings:?} random chunks");
}

#[test]
fn coding_parse_lists_headers_case_and_whitespace() {
    use Coding::*;
    assert_eq!(parse_content_encoding(["gzip"]), Ok(vec![Gzip]));
    assert_eq!(parse_content_encoding(["gzip, br"]), Ok(vec![Gzip, Br]));
    assert_eq!(parse_content_encoding(["GZip ,\tBR"]), Ok(vec![Gzip, Br]));
    assert_eq!(
        parse_content_encoding(["deflate", "zstd,x-gzip"]),
        Ok(vec![Deflate, Zstd, Gzip])
    );
    assert_eq!(parse_content_encoding(["X-GZIP"]), Ok(vec![Gzip]));
    assert_eq!(
        parse_content_encoding(["identity", "Identity, br"]),
        Ok(vec![Br])
    );
    assert_eq!(parse_content_encoding(["", " , ,"]), Ok(vec![]));
    assert_eq!(parse_content_encoding([]), Ok(vec![]));
}

#[test]
fn coding_parse_refuses_unknown_codings() {
    assert_eq!(
        parse_content_encoding(["compress"]),
        Err(CodingError::Unknown("compress".into()))
    );
    assert_eq!(
        parse_content_encoding(["gzip", "foo"]),
        Err(CodingError::Unknown("foo".into()))
    );
    // Content-Encoding takes no parameters: a "gzip" with one is not gzip we know.
    assert_eq!(
        parse_content_encoding(["gzip;q=1"]),
        Err(CodingError::Unknown("gzip;q=1".into()))
    );
    // Nor are other spellings of known names.
    assert!(parse_content_encoding(["g zip"]).is_err());
    let long = "x".repeat(10_000);
    match parse_content_encoding([long.as_str()]) {
        Err(CodingError::Unknown(name)) => assert_eq!(name.len(), MAX_NAME_ECHO),
        other => panic!("{other:?}"),
    }
}

#[test]
fn coding_parse_refuses_more_than_four_layers() {
    assert_eq!(
        parse_content_encoding(["gzip, gzip, br, zstd, deflate"]),
        Err(CodingError::TooManyLayers)
    );
    assert_eq!(
        parse_content_encoding(["gzip, gzip", "br, zstd", "deflate"]),
        Err(CodingError::TooManyLayers)
    );
    // identity is no layer.
    assert_eq!(
        parse_content_encoding(["identity, gzip, identity, gzip, br, zstd, identity"])
            .map(|c| c.len()),
        Ok(4)
    );
    let five = [Coding::Gzip; 5];
    assert_eq!(
        Decoder::new(&five, DecodeLimits::default()).err(),
        Some(CodingError::TooManyLayers)
    );
    assert!(Decoder::new(&five[..4], DecodeLimits::default()).is_ok());
}

#[test]
fn coding_round_trips_each_coding() {
    let plain = plain_body();
    for coding in ALL {
        assert_round_trip(&[coding], &encode(coding, &plain), &plain);
    }
}

#[test]
fn coding_deflate_accepts_zlib_and_raw() {
    let plain = plain_body();
    let wrapped = zlib(&plain);
    let raw = raw_deflate(&plain);
    // The two framings differ, so passing both proves the sniffing, not one lucky path.
    assert_ne!(wrapped[..2], raw[..2]);
    assert_round_trip(&[Coding::Deflate], &wrapped, &plain);
    assert_round_trip(&[Coding::Deflate], &raw, &plain);
    // The smallest raw stream, an empty final block, is two bytes: all of it is "head".
    assert_eq!(raw_deflate(b""), [0x03, 0x00]);
    assert_eq!(decode(&[Coding::Deflate], &[0x03, 0x00]).unwrap(), b"");
    assert_eq!(decode(&[Coding::Deflate], &zlib(b"")).unwrap(), b"");
}

#[test]
fn coding_stacked_gzip_then_br_is_undone_in_reverse() {
    let plain = plain_body();
    let encoded = br(&gzip(&plain));
    let codings = parse_content_encoding(["gzip, br"]).unwrap();
    assert_round_trip(&codings, &encoded, &plain);
    // The order matters: undoing gzip first fails on brotli bytes.
    assert!(matches!(
        decode(&[Coding::Br, Coding::Gzip], &encoded),
        Err(CodingError::Corrupt(_))
    ));
    let four = [Coding::Zstd, Coding::Deflate, Coding::Gzip, Coding::Br];
    let encoded = br(&gzip(&zlib(&zstd(&plain))));
    assert_round_trip(&four, &encoded, &plain);
}

#[test]
fn coding_output_streams_before_finish() {
    // Several zstd blocks (128 KiB each), which zstd decodes whole; no repeats, so the
    // compressed bytes spread evenly over the body.
    let plain = plain_body_of(800 * 1024);
    for coding in ALL {
        let encoded = encode(coding, &plain);
        let mut d = Decoder::new(&[coding], DecodeLimits::default()).unwrap();
        let mut out = Vec::new();
        d.push(&encoded[..encoded.len() / 2], &mut out).unwrap();
        assert!(
            out.len() >= 64 * 1024,
            "{coding:?}: only {} bytes after half the input",
            out.len()
        );
        assert_eq!(out, plain[..out.len()], "{coding:?}");
        d.push(&encoded[encoded.len() / 2..], &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert_eq!(out, plain, "{coding:?}");
    }
}

#[test]
fn coding_empty_body_decodes_to_nothing() {
    for coding in ALL {
        assert_eq!(decode(&[coding], b""), Ok(vec![]), "{coding:?}");
        // And an encoded empty body as well.
        assert_eq!(decode(&[coding], &encode(coding, b"")), Ok(vec![]));
    }
    // No codings: the body passes through, still bounded.
    assert_eq!(decode(&[], b"plain"), Ok(b"plain".to_vec()));
    let tight = DecodeLimits {
        max_output: 3,
        max_ratio: 100,
    };
    let mut d = Decoder::new(&[], tight).unwrap();
    assert_eq!(
        d.push(b"plain", &mut Vec::new()),
        Err(CodingError::TooLarge { limit: 3 })
    );
}

/// Compresses `len` zeros without holding them: the test stays small in memory.
fn zeros_bomb(coding: Coding, len: u64) -> Vec<u8> {
    let mut zeros = io::repeat(0).take(len);
    match coding {
        Coding::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            io::copy(&mut zeros, &mut e).unwrap();
            e.finish().unwrap()
        }
        Coding::Deflate => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            io::copy(&mut zeros, &mut e).unwrap();
            e.finish().unwrap()
        }
        Coding::Br => {
            let mut w = brotli::CompressorWriter::new(Vec::new(), 1 << 16, 1, 22);
            io::copy(&mut zeros, &mut w).unwrap();
            w.into_inner()
        }
        Coding::Zstd => {
            let mut out = Vec::new();
            zstd::stream::copy_encode(zeros, &mut out, 1).unwrap();
            out
        }
    }
}

/// Pushes `input` in 4 KiB chunks until an error; checks `out` never passed `max_output`.
fn push_until_error(d: &mut Decoder, input: &[u8], limits: DecodeLimits) -> CodingError {
    let mut out = Vec::new();
    for chunk in input.chunks(4096) {
        let result = d.push(chunk, &mut out);
        assert!(
            out.len() <= limits.max_output,
            "{} bytes buffered",
            out.len()
        );
        if let Err(e) = result {
            return e;
        }
    }
    let result = d.finish(&mut out);
    assert!(out.len() <= limits.max_output);
    result.expect_err("the bomb decoded in full")
}

#[test]
fn coding_gzip_bomb_stops_at_the_limits() {
    let bomb = zeros_bomb(Coding::Gzip, 200 << 20);
    assert!(bomb.len() < 400 * 1024, "{} bytes", bomb.len());

    // Default limits: the ratio trips long before 64 MiB of output.
    let limits = DecodeLimits::default();
    let mut d = Decoder::new(&[Coding::Gzip], limits).unwrap();
    assert_eq!(
        push_until_error(&mut d, &bomb, limits),
        CodingError::Ratio { limit: 100 }
    );
    assert!(d.total_out() <= RATIO_GRACE.max(d.total_in() * 100));
    // Failed for good: later pushes repeat the error instead of decoding on.
    assert_eq!(
        d.push(&bomb[..10], &mut Vec::new()),
        Err(CodingError::Ratio { limit: 100 })
    );

    // With the ratio out of the way, the output cap stops it, right at the cap.
    let limits = DecodeLimits {
        max_output: 8 << 20,
        max_ratio: u32::MAX,
    };
    let mut d = Decoder::new(&[Coding::Gzip], limits).unwrap();
    assert_eq!(
        push_until_error(&mut d, &bomb, limits),
        CodingError::TooLarge { limit: 8 << 20 }
    );
    assert!(d.total_out() <= 8 << 20);
    assert!(d.total_out() > (8 << 20) - BLOCK as u64);
    assert!(d.total_in() < bomb.len() as u64, "stopped before the end");
}

#[test]
fn coding_bombs_stop_for_every_coding_and_inner_layers() {
    let limits = DecodeLimits {
        max_output: 4 << 20,
        max_ratio: 100,
    };
    for coding in ALL {
        let bomb = zeros_bomb(coding, 64 << 20);
        let mut d = Decoder::new(&[coding], limits).unwrap();
        let e = push_until_error(&mut d, &bomb, limits);
        assert!(
            matches!(e, CodingError::Ratio { .. } | CodingError::TooLarge { .. }),
            "{coding:?}: {e:?}"
        );
    }
    // The bomb in the inner layer, behind a brotli layer of a few hundred bytes.
    let inner = zeros_bomb(Coding::Gzip, 64 << 20);
    let outer = br(&inner);
    let mut d = Decoder::new(&[Coding::Gzip, Coding::Br], limits).unwrap();
    let e = push_until_error(&mut d, &outer, limits);
    assert!(matches!(
        e,
        CodingError::Ratio { .. } | CodingError::TooLarge { .. }
    ));
}

#[test]
fn coding_small_repetitive_body_is_no_bomb() {
    // 1000:1, but under the 1 MiB grace: a real body of repeated text.
    let plain = vec![b'a'; 1 << 20];
    for coding in ALL {
        let encoded = encode(coding, &plain);
        assert!(encoded.len() * 100 < plain.len(), "{coding:?}");
        assert_eq!(decode(&[coding], &encoded).unwrap(), plain, "{coding:?}");
    }
    // Past the grace, the same ratio is a bomb.
    let plain = vec![b'a'; (1 << 20) + BLOCK];
    assert_eq!(
        decode(&[Coding::Gzip], &gzip(&plain)),
        Err(CodingError::Ratio { limit: 100 })
    );
}

#[test]
fn coding_truncated_stream_is_corrupt_at_finish() {
    let plain = plain_body();
    for coding in ALL {
        let encoded = encode(coding, &plain);
        for cut in [1, 4, encoded.len() / 2, encoded.len() - 1] {
            let mut d = Decoder::new(&[coding], DecodeLimits::default()).unwrap();
            let mut out = Vec::new();
            d.push(&encoded[..cut], &mut out).unwrap();
            assert!(
                matches!(d.finish(&mut out), Err(CodingError::Corrupt(_))),
                "{coding:?} cut at {cut}"
            );
        }
    }
    let raw = raw_deflate(&plain);
    let mut d = Decoder::new(&[Coding::Deflate], DecodeLimits::default()).unwrap();
    d.push(&raw[..raw.len() - 1], &mut Vec::new()).unwrap();
    assert!(matches!(
        d.finish(&mut Vec::new()),
        Err(CodingError::Corrupt(_))
    ));
}

/// Garbage fails at push or at finish; it must never decode cleanly nor panic.
fn assert_rejected(coding: Coding, input: &[u8]) {
    let result = decode(&[coding], input);
    assert!(
        matches!(result, Err(CodingError::Corrupt(_))),
        "{coding:?} {:?}: {result:?}",
        &input[..input.len().min(16)]
    );
}

#[test]
fn coding_garbage_is_corrupt() {
    let mut rng = Rng(99);
    for coding in ALL {
        assert_rejected(coding, b"this is not compressed at all, just text");
        for _ in 0..200 {
            let len = 1 + rng.below(300);
            let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            assert_rejected(coding, &garbage);
        }
    }
}

#[test]
fn coding_damaged_streams_are_corrupt() {
    let plain = plain_body();
    for coding in ALL {
        let mut encoded = encode(coding, &plain);
        // Bytes after the end: a backend might read them some other way.
        encoded.extend_from_slice(b"trailing");
        assert_rejected(coding, &encoded);
    }
    let mut gz = gzip(&plain);
    let crc_at = gz.len() - 8;
    gz[crc_at] ^= 1;
    assert_rejected(Coding::Gzip, &gz);
    let mut gz = gzip(&plain);
    let size_at = gz.len() - 4;
    gz[size_at] ^= 1;
    assert_rejected(Coding::Gzip, &gz);
    let mut z = zlib(&plain);
    let adler_at = z.len() - 1;
    z[adler_at] ^= 1;
    assert_rejected(Coding::Deflate, &z);
    let mut z = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    z.include_checksum(true).unwrap();
    z.write_all(&plain).unwrap();
    let mut z = z.finish().unwrap();
    let sum_at = z.len() - 1;
    z[sum_at] ^= 1;
    assert_rejected(Coding::Zstd, &z);
}

#[test]
fn coding_gzip_members_concatenate() {
    let (a, b) = (b"first member, ".as_slice(), b"second member".as_slice());
    let mut two = gzip(a);
    two.extend_from_slice(&gzip(b));
    let expected = [a, b].concat();
    assert_round_trip(&[Coding::Gzip], &two, &expected);
    let mut frames = zstd(a);
    frames.extend_from_slice(&zstd(b));
    assert_round_trip(&[Coding::Zstd], &frames, &expected);
}

/// A gzip member with every optional header field, FHCRC included (flate2 writes none).
fn gzip_with_all_header_fields(data: &[u8], header_crc_delta: u16) -> Vec<u8> {
    let flags = FTEXT_FHCRC | FEXTRA | FNAME | FCOMMENT;
    let mut header = vec![0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 255];
    header.extend_from_slice(&5u16.to_le_bytes());
    header.extend_from_slice(b"AB\x03\x00z");
    header.extend_from_slice(b"name.txt\0");
    header.extend_from_slice(b"a comment\0");
    let mut crc = Crc::new();
    crc.update(&header);
    let header_crc = (crc.sum() as u16).wrapping_add(header_crc_delta);
    header.extend_from_slice(&header_crc.to_le_bytes());
    header.extend_from_slice(&raw_deflate(data));
    let mut body_crc = Crc::new();
    body_crc.update(data);
    header.extend_from_slice(&body_crc.sum().to_le_bytes());
    header.extend_from_slice(&(data.len() as u32).to_le_bytes());
    header
}

#[test]
fn coding_gzip_header_fields_are_skipped_and_checked() {
    let plain = plain_body();
    let full = gzip_with_all_header_fields(&plain, 0);
    assert_round_trip(&[Coding::Gzip], &full, &plain);
    assert_rejected(Coding::Gzip, &gzip_with_all_header_fields(&plain, 1));
    // flate2's builder writes FEXTRA, FNAME and FCOMMENT without FHCRC.
    let mut built = flate2::GzBuilder::new()
        .filename("f")
        .comment("c")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), Compression::default());
    built.write_all(&plain).unwrap();
    assert_round_trip(&[Coding::Gzip], &built.finish().unwrap(), &plain);

    let mut reserved = gzip(&plain);
    reserved[3] |= 0x80;
    assert_rejected(Coding::Gzip, &reserved);
    let mut method = gzip(&plain);
    method[2] = 7;
    assert_rejected(Coding::Gzip, &method);
}

#[test]
fn coding_zstd_window_over_8_mib_is_refused() {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.window_log(24).unwrap();
    e.write_all(&plain_body()).unwrap();
    let wide = e.finish().unwrap();
    match decode(&[Coding::Zstd], &wide) {
        Err(CodingError::Corrupt(message)) => assert!(message.contains("zstd"), "{message}"),
        other => panic!("{other:?}"),
    }
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.window_log(23).unwrap();
    e.write_all(b"fits").unwrap();
    assert_eq!(
        decode(&[Coding::Zstd], &e.finish().unwrap()).unwrap(),
        b"fits"
    );
}

#[test]
fn coding_push_after_finish_is_refused() {
    let mut d = Decoder::new(&[Coding::Gzip], DecodeLimits::default()).unwrap();
    let mut out = Vec::new();
    d.push(&gzip(b"body"), &mut out).unwrap();
    d.finish(&mut out).unwrap();
    assert_eq!(out, b"body");
    assert!(matches!(
        d.push(b"more", &mut out),
        Err(CodingError::Corrupt(_))
    ));
}

#[test]
fn coding_errors_say_what_went_wrong() {
    assert_eq!(
        CodingError::Unknown("compress".into()).to_string(),
        "unsupported content coding \"compress\""
    );
    assert_eq!(
        CodingError::TooLarge { limit: 10 }.to_string(),
        "decoded body larger than 10 bytes"
    );
}
