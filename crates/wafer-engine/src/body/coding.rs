//! Streaming decoder for request bodies' `Content-Encoding` (gzip, deflate, br, zstd).
//!
//! An attacker can compress a payload to hide it from inspection, so the proxy forwards the
//! compressed bytes unchanged and feeds them here to inspect what the backend will see once it
//! decompresses them. The input is hostile, so everything is bounded:
//!
//! - **Output**: decoding stops with [`CodingError::TooLarge`] before the plain output would pass
//!   [`DecodeLimits::max_output`]; nothing past the limit is appended, so `out` never holds more
//!   than `max_output` bytes produced by one decoder.
//! - **Ratio** (decompression bombs): once a stage's output passes [`RATIO_GRACE`] (1 MiB), it
//!   must stay within [`DecodeLimits::max_ratio`] times the compressed bytes received so far,
//!   or decoding stops with [`CodingError::Ratio`]. The grace lets a small body of repeated text
//!   (which compresses 1000:1) through; past it, a body has to keep sending compressed bytes to
//!   keep producing output, so a 10 KB request cannot make us inflate 10 GB.
//! - **Intermediate stages**: with stacked codings every stage's output is held to the same two
//!   limits, so an inner layer cannot be a bomb hidden behind a modest outer one.
//! - **Memory**: decoders work in [`BLOCK`]-sized steps and each stage's output is passed on
//!   before the next step, so a push never buffers more than one block per stage beyond the
//!   decoders' own windows: 32 KiB for deflate, at most 16 MiB for brotli (large-window
//!   brotli is refused), at most 8 MiB for zstd (the limit RFC 9659 sets for the `zstd` coding).
//! - **Strictness**: trailing bytes after a stream's end, bad checksums and truncated streams are
//!   [`CodingError::Corrupt`]: what we could not decode, we cannot vouch for. A gzip body may
//!   hold several members and a zstd body several frames, as their formats allow. A body of zero
//!   bytes decodes to nothing, whatever its coding.
//!
//! HTTP `deflate` is zlib-wrapped (RFC 9110 §8.4.1.2), but some clients send raw deflate: the
//! first two bytes decide, zlib if they are a valid zlib header, raw deflate otherwise.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Crc, Decompress, FlushDecompress, Status};
use zstd::stream::raw::{DParameter, Decoder as ZstdStream, Operation};

/// Most codings we undo on one body; more is only ever an attack on our CPU.
pub const MAX_LAYERS: usize = 4;
/// Output every stage may produce before the ratio limit applies.
pub const RATIO_GRACE: u64 = 1 << 20;
/// The most output a decoder produces in one step.
pub const BLOCK: usize = 32 * 1024;
/// 8 MiB: RFC 9659 limits the `zstd` content coding's window to this.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;
/// Longest unknown coding name echoed back in an error: the header is attacker-chosen.
const MAX_NAME_ECHO: usize = 64;

/// A content coding we decode. `identity` is not one: parsing drops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Why a body could not be decoded. Each maps to one HTTP answer, noted per variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodingError {
    /// A coding we do not decode (415).
    #[error("unsupported content coding {0:?}")]
    Unknown(String),
    /// The decoded body would pass `max_output` (413).
    #[error("decoded body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The decoded body grew more than `max_ratio` times its compressed size (413).
    #[error("decoded body more than {limit} times its compressed size")]
    Ratio { limit: u32 },
    /// Invalid or truncated compressed data (400).
    #[error("corrupt compressed body: {0}")]
    Corrupt(String),
    /// More than [`MAX_LAYERS`] codings stacked (415 or 400, as the caller prefers).
    #[error("more than 4 content codings stacked")]
    TooManyLayers,
}

fn corrupt(message: impl Into<String>) -> CodingError {
    CodingError::Corrupt(message.into())
}

/// Parses all `Content-Encoding` header values: comma lists, several headers, any case,
/// optional whitespace. `identity` is dropped and `x-gzip` is gzip (RFC 9110 §8.4.1.3).
/// Returns the codings in the order the sender applied them.
pub fn parse_content_encoding<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Coding>, CodingError> {
    let mut codings = Vec::new();
    for value in values {
        for token in value.split(',') {
            let token = token.trim_matches([' ', '\t']);
            // RFC 9110 §5.6.1: recipients accept empty list elements.
            if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            }
            let coding =
                if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
                    Coding::Gzip
                } else if token.eq_ignore_ascii_case("deflate") {
                    Coding::Deflate
                } else if token.eq_ignore_ascii_case("br") {
                    Coding::Br
                } else if token.eq_ignore_ascii_case("zstd") {
                    Coding::Zstd
                } else {
                    return Err(CodingError::Unknown(
                        token.chars().take(MAX_NAME_ECHO).collect(),
                    ));
                };
            if codings.len() == MAX_LAYERS {
                return Err(CodingError::TooManyLayers);
            }
            codings.push(coding);
        }
    }
    Ok(codings)
}

/// Bounds on one body's decoding; see the module doc for how they apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most plain bytes one body may decode to.
    pub max_output: usize,
    /// Most output bytes per compressed input byte, past [`RATIO_GRACE`].
    pub max_ratio: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_output: 64 << 20,
            max_ratio: 100,
        }
    }
}

/// A push-style decoder for one body: feed it the compressed chunks as they arrive.
///
/// After an error it stays failed: every later call returns the same error.
pub struct Decoder {
    /// In decoding order: the last coding applied by the sender first.
    stages: Vec<Stage>,
    limits: DecodeLimits,
    total_in: u64,
    total_out: u64,
    failed: Option<CodingError>,
    finished: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("stages", &self.stages.len())
            .field("limits", &self.limits)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Decoder {
    /// A decoder for `codings` in the order the sender applied them, as
    /// [`parse_content_encoding`] returns them. No codings: the body passes through, still
    /// held to `max_output`.
    pub fn new(codings: &[Coding], limits: DecodeLimits) -> Result<Decoder, CodingError> {
        if codings.len() > MAX_LAYERS {
            return Err(CodingError::TooManyLayers);
        }
        let stages = codings
            .iter()
            .rev()
            .map(|&coding| Stage::new(coding))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Decoder {
            stages,
            limits,
            total_in: 0,
            total_out: 0,
            failed: None,
            finished: false,
        })
    }

    /// Feeds compressed bytes; appends whatever plain bytes they yield to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CodingError> {
        self.check_usable()?;
        if self.finished {
            return Err(self.fail(corrupt("body data after its end")));
        }
        self.total_in += input.len() as u64;
        let budget = Budget {
            limits: self.limits,
            total_in: self.total_in,
        };
        match pump(&mut self.stages, input, &budget, &mut self.total_out, out) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The end of the body: flushes what is left, and fails on a truncated stream (Corrupt).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CodingError> {
        self.check_usable()?;
        if self.finished {
            return Ok(());
        }
        let budget = Budget {
            limits: self.limits,
            total_in: self.total_in,
        };
        let result =
            pump(&mut self.stages, &[], &budget, &mut self.total_out, out).and_then(|()| {
                self.stages
                    .iter()
                    .try_for_each(|stage| stage.codec.check_complete())
            });
        match result {
            Ok(()) => {
                self.finished = true;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Compressed bytes pushed so far.
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Plain bytes appended to the callers' buffers so far.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    fn check_usable(&self) -> Result<(), CodingError> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: CodingError) -> CodingError {
        self.failed = Some(e.clone());
        e
    }
}

struct Budget {
    limits: DecodeLimits,
    total_in: u64,
}

impl Budget {
    /// Checked before output is passed on, so nothing past a limit is ever buffered.
    fn admit(&self, already: u64, more: usize) -> Result<(), CodingError> {
        let after = already.saturating_add(more as u64);
        if after > self.limits.max_output as u64 {
            return Err(CodingError::TooLarge {
                limit: self.limits.max_output,
            });
        }
        if after > RATIO_GRACE
            && after
                > self
                    .total_in
                    .saturating_mul(u64::from(self.limits.max_ratio))
        {
            return Err(CodingError::Ratio {
                limit: self.limits.max_ratio,
            });
        }
        Ok(())
    }
}

/// Runs `input` through the first stage, handing each block it yields to the rest before
/// decoding more: the depth-first order keeps every stage's buffering to one block.
fn pump(
    stages: &mut [Stage],
    mut input: &[u8],
    budget: &Budget,
    total_out: &mut u64,
    out: &mut Vec<u8>,
) -> Result<(), CodingError> {
    let Some((stage, rest)) = stages.split_first_mut() else {
        budget.admit(*total_out, input.len())?;
        out.extend_from_slice(input);
        *total_out += input.len() as u64;
        return Ok(());
    };
    loop {
        let progress = stage.codec.step(input, &mut stage.buf)?;
        input = &input[progress.consumed..];
        if progress.produced > 0 {
            budget.admit(stage.produced, progress.produced)?;
            stage.produced += progress.produced as u64;
            pump(
                rest,
                &stage.buf[..progress.produced],
                budget,
                total_out,
                out,
            )?;
        } else if progress.consumed == 0 {
            if input.is_empty() {
                return Ok(());
            }
            // Leaving input unread would skip body bytes uninspected: refuse instead.
            return Err(corrupt(format!(
                "{} decoder stopped before the end of its input",
                stage.coding.name()
            )));
        }
    }
}

struct Stage {
    coding: Coding,
    codec: Codec,
    buf: Box<[u8]>,
    produced: u64,
}

impl Stage {
    fn new(coding: Coding) -> Result<Stage, CodingError> {
        let codec = match coding {
            Coding::Gzip => Codec::Gzip(Box::default()),
            Coding::Deflate => Codec::Deflate(DeflateCodec::default()),
            Coding::Br => Codec::Br(Box::default()),
            Coding::Zstd => Codec::Zstd(ZstdCodec::new()?),
        };
        Ok(Stage {
            coding,
            codec,
            buf: vec![0; BLOCK].into_boxed_slice(),
            produced: 0,
        })
    }
}

/// What one step did. A step with input left always consumes or produces something, or fails.
struct Progress {
    consumed: usize,
    produced: usize,
}

enum Codec {
    Gzip(Box<GzipCodec>),
    Deflate(DeflateCodec),
    Br(Box<BrCodec>),
    Zstd(ZstdCodec),
}

impl Codec {
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, CodingError> {
        match self {
            Codec::Gzip(c) => c.step(input, out),
            Codec::Deflate(c) => c.step(input, out),
            Codec::Br(c) => c.step(input, out),
            Codec::Zstd(c) => c.step(input, out),
        }
    }

    fn check_complete(&self) -> Result<(), CodingError> {
        let complete = match self {
            Codec::Gzip(c) => c.is_complete(),
            Codec::Deflate(c) => c.is_complete(),
            Codec::Br(c) => c.done || !c.started,
            Codec::Zstd(c) => c.frame_done || !c.started,
        };
        if complete {
            Ok(())
        } else {
            Err(corrupt("truncated stream"))
        }
    }
}

/// One inflate call: (consumed, produced, reached the end of the stream).
fn inflate(
    d: &mut Decompress,
    input: &[u8],
    out: &mut [u8],
) -> Result<(usize, usize, bool), CodingError> {
    let (in_before, out_before) = (d.total_in(), d.total_out());
    let status = d
        .decompress(input, out, FlushDecompress::None)
        .map_err(|e| corrupt(format!("deflate: {e}")))?;
    let consumed = (d.total_in() - in_before) as usize;
    let produced = (d.total_out() - out_before) as usize;
    Ok((consumed, produced, status == Status::StreamEnd))
}

/// HTTP `deflate`: zlib, or raw deflate when the first two bytes are no zlib header.
#[derive(Default)]
struct DeflateCodec {
    head: [u8; 2],
    head_len: usize,
    /// Bytes of `head` not yet given to the inflater.
    head_pending: usize,
    inflater: Option<Decompress>,
    done: bool,
}

/// RFC 1950: method 8 with a window of at most 32 KiB, a header checksum that divides by 31,
/// no preset dictionary (HTTP has no way to agree on one).
fn is_zlib_header(head: [u8; 2]) -> bool {
    head[0] & 0x0f == 8
        && head[0] >> 4 <= 7
        && u16::from_be_bytes(head).is_multiple_of(31)
        && head[1] & 0x20 == 0
}

impl DeflateCodec {
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, CodingError> {
        if self.done {
            return trailing(input, "deflate");
        }
        let Some(inflater) = &mut self.inflater else {
            let take = (2 - self.head_len).min(input.len());
            self.head[self.head_len..self.head_len + take].copy_from_slice(&input[..take]);
            self.head_len += take;
            if self.head_len == 2 {
                self.inflater = Some(Decompress::new(is_zlib_header(self.head)));
                self.head_pending = 2;
            }
            return Ok(Progress {
                consumed: take,
                produced: 0,
            });
        };
        let mut produced = 0;
        if self.head_pending > 0 {
            let head = &self.head[2 - self.head_pending..];
            let (consumed, head_produced, end) = inflate(inflater, head, out)?;
            self.head_pending -= consumed;
            self.done = end;
            produced = head_produced;
            if end && self.head_pending > 0 {
                return Err(corrupt("data after the end of the deflate stream"));
            }
            if consumed == 0 && produced == 0 {
                return Err(corrupt("deflate decoder stalled"));
            }
            if self.head_pending > 0 || end || produced == out.len() {
                return Ok(Progress {
                    consumed: 0,
                    produced,
                });
            }
        }
        // Carry on with the input in the same step: the head alone may have produced nothing.
        let (consumed, more, end) = inflate(inflater, input, &mut out[produced..])?;
        self.done = end;
        Ok(Progress {
            consumed,
            produced: produced + more,
        })
    }

    fn is_complete(&self) -> bool {
        self.done || self.head_len == 0
    }
}

fn trailing(input: &[u8], coding: &str) -> Result<Progress, CodingError> {
    if input.is_empty() {
        Ok(Progress {
            consumed: 0,
            produced: 0,
        })
    } else {
        Err(corrupt(format!(
            "data after the end of the {coding} stream"
        )))
    }
}

const FTEXT_FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// gzip (RFC 1952): our own member framing around a raw inflater, so that truncation,
/// trailing bytes and several members are all seen, and output streams in blocks.
struct GzipCodec {
    phase: GzPhase,
    field: GzField,
    /// Bytes read of the current fixed-size field.
    got: usize,
    fixed: [u8; 10],
    /// The header CRC's two bytes.
    pair: [u8; 2],
    extra_left: usize,
    /// CRC-32 of the header so far, for FHCRC.
    header_crc: Crc,
    inflater: Decompress,
    /// CRC-32 and size of the member's output, checked against its trailer.
    crc: Crc,
    trailer: [u8; 8],
    members: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GzPhase {
    Header,
    Body,
    Trailer,
    /// Between members: the only place a gzip body may end.
    Between,
}

/// Header fields in the order RFC 1952 puts them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GzField {
    Fixed,
    ExtraLen,
    Extra,
    Name,
    Comment,
    HeaderCrc,
    Done,
}

impl Default for GzipCodec {
    fn default() -> Self {
        GzipCodec {
            phase: GzPhase::Header,
            field: GzField::Fixed,
            got: 0,
            fixed: [0; 10],
            pair: [0; 2],
            extra_left: 0,
            header_crc: Crc::new(),
            inflater: Decompress::new(false),
            crc: Crc::new(),
            trailer: [0; 8],
            members: 0,
        }
    }
}

impl GzipCodec {
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, CodingError> {
        match self.phase {
            GzPhase::Between => {
                if input.is_empty() {
                    return Ok(Progress {
                        consumed: 0,
                        produced: 0,
                    });
                }
                self.start_member();
                self.step_header(input)
            }
            GzPhase::Header => self.step_header(input),
            GzPhase::Body => {
                let (consumed, produced, end) = inflate(&mut self.inflater, input, out)?;
                self.crc.update(&out[..produced]);
                if end {
                    self.phase = GzPhase::Trailer;
                    self.got = 0;
                }
                Ok(Progress { consumed, produced })
            }
            GzPhase::Trailer => {
                let take = (8 - self.got).min(input.len());
                self.trailer[self.got..self.got + take].copy_from_slice(&input[..take]);
                self.got += take;
                if self.got == 8 {
                    self.check_trailer()?;
                }
                Ok(Progress {
                    consumed: take,
                    produced: 0,
                })
            }
        }
    }

    fn start_member(&mut self) {
        self.phase = GzPhase::Header;
        self.field = GzField::Fixed;
        self.got = 0;
        self.header_crc.reset();
        self.inflater.reset(false);
        self.crc.reset();
    }

    fn check_trailer(&mut self) -> Result<(), CodingError> {
        let [c0, c1, c2, c3, s0, s1, s2, s3] = self.trailer;
        if u32::from_le_bytes([c0, c1, c2, c3]) != self.crc.sum() {
            return Err(corrupt("gzip CRC-32 mismatch"));
        }
        // ISIZE is the size modulo 2^32, as is Crc::amount.
        if u32::from_le_bytes([s0, s1, s2, s3]) != self.crc.amount() {
            return Err(corrupt("gzip size mismatch"));
        }
        self.members += 1;
        self.phase = GzPhase::Between;
        Ok(())
    }

    fn step_header(&mut self, input: &[u8]) -> Result<Progress, CodingError> {
        let mut consumed = 0;
        while self.field != GzField::Done {
            let Some(&byte) = input.get(consumed) else {
                break;
            };
            consumed += 1;
            self.header_byte(byte)?;
        }
        if self.field == GzField::Done {
            self.phase = GzPhase::Body;
        }
        Ok(Progress {
            consumed,
            produced: 0,
        })
    }

    fn header_byte(&mut self, byte: u8) -> Result<(), CodingError> {
        if self.field != GzField::HeaderCrc {
            self.header_crc.update(&[byte]);
        }
        match self.field {
            GzField::Fixed => {
                self.fixed[self.got] = byte;
                self.got += 1;
                if self.got == self.fixed.len() {
                    if self.fixed[..2] != [0x1f, 0x8b] {
                        return Err(corrupt("not a gzip stream"));
                    }
                    if self.fixed[2] != 8 {
                        return Err(corrupt("unknown gzip compression method"));
                    }
                    if self.fixed[3] & FRESERVED != 0 {
                        return Err(corrupt("reserved gzip flags set"));
                    }
                    self.next_field(GzField::ExtraLen);
                }
            }
            GzField::ExtraLen => {
                self.extra_left |= usize::from(byte) << (8 * self.got);
                self.got += 1;
                if self.got == 2 {
                    self.next_field(GzField::Extra);
                }
            }
            GzField::Extra => {
                self.extra_left -= 1;
                if self.extra_left == 0 {
                    self.next_field(GzField::Name);
                }
            }
            GzField::Name => {
                if byte == 0 {
                    self.next_field(GzField::Comment);
                }
            }
            GzField::Comment => {
                if byte == 0 {
                    self.next_field(GzField::HeaderCrc);
                }
            }
            GzField::HeaderCrc => {
                self.pair[self.got] = byte;
                self.got += 1;
                if self.got == 2 {
                    let expected = u16::from_le_bytes(self.pair);
                    // FHCRC is the low 16 bits of the CRC-32 of the header before it.
                    if expected != self.header_crc.sum() as u16 {
                        return Err(corrupt("gzip header CRC mismatch"));
                    }
                    self.next_field(GzField::Done);
                }
            }
            GzField::Done => {}
        }
        Ok(())
    }

    /// Moves to the first field from `from` on that this header has.
    fn next_field(&mut self, from: GzField) {
        let flags = self.fixed[3];
        let present = |field: GzField, extra_left: usize| match field {
            GzField::ExtraLen => flags & FEXTRA != 0,
            GzField::Extra => extra_left > 0,
            GzField::Name => flags & FNAME != 0,
            GzField::Comment => flags & FCOMMENT != 0,
            GzField::HeaderCrc => flags & FTEXT_FHCRC != 0,
            GzField::Fixed | GzField::Done => true,
        };
        let order = [
            GzField::ExtraLen,
            GzField::Extra,
            GzField::Name,
            GzField::Comment,
            GzField::HeaderCrc,
            GzField::Done,
        ];
        self.got = 0;
        if from == GzField::ExtraLen {
            self.extra_left = 0;
        }
        self.field = order
            .into_iter()
            .filter(|&f| f >= from)
            .find(|&f| present(f, self.extra_left))
            .unwrap_or(GzField::Done);
    }

    fn is_complete(&self) -> bool {
        let untouched = self.members == 0
            && self.phase == GzPhase::Header
            && self.field == GzField::Fixed
            && self.got == 0;
        self.phase == GzPhase::Between || untouched
    }
}

type BrAllocState = BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

struct BrCodec {
    state: BrAllocState,
    started: bool,
    done: bool,
}

impl Default for BrCodec {
    fn default() -> Self {
        BrCodec {
            // Strict: large-window brotli (RFC 7932 allows 16 MiB) could ask for a 1 GiB window.
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            started: false,
            done: false,
        }
    }
}

impl BrCodec {
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, CodingError> {
        if self.done {
            return trailing(input, "brotli");
        }
        self.started |= !input.is_empty();
        let (mut available_in, mut input_offset) = (input.len(), 0);
        let (mut available_out, mut output_offset, mut total_out) = (out.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            out,
            &mut total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultSuccess => self.done = true,
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
            BrotliResult::ResultFailure => return Err(corrupt("invalid brotli stream")),
        }
        Ok(Progress {
            consumed: input_offset,
            produced: output_offset,
        })
    }
}

struct ZstdCodec {
    stream: ZstdStream<'static>,
    started: bool,
    /// The last frame is fully decoded and flushed; libzstd starts a new one on more input.
    frame_done: bool,
}

impl ZstdCodec {
    fn new() -> Result<ZstdCodec, CodingError> {
        let setup = || {
            let mut stream = ZstdStream::new()?;
            stream.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))?;
            Ok::<_, std::io::Error>(stream)
        };
        // Only an allocation failure gets here: no input has been seen.
        let stream = setup().map_err(|e| corrupt(format!("zstd decoder setup: {e}")))?;
        Ok(ZstdCodec {
            stream,
            started: false,
            frame_done: false,
        })
    }

    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, CodingError> {
        let status = self
            .stream
            .run_on_buffers(input, out)
            .map_err(|e| corrupt(format!("zstd: {e}")))?;
        if status.bytes_read > 0 || status.bytes_written > 0 {
            self.started = true;
            // Only a step that did something says where we are: an idle call after a frame's
            // end reports the next frame's header as missing.
            self.frame_done = status.remaining == 0;
        }
        Ok(Progress {
            consumed: status.bytes_read,
            produced: status.bytes_written,
        })
    }
}

#[cfg(test)]
#[path = "coding/tests.rs"]
mod tests;
