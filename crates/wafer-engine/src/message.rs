//! WebSocket messages. Once a connection is upgraded, each message the client
//! sends is a request in all but name: a WAF that looked only at the
//! handshake would let any payload through after it. The proxy reassembles
//! every message and asks here before handing it on.
//!
//! A message is inspected like a request body, under the settings of the
//! upgrade request's path, so every rule that looks at bodies applies; the
//! head is not inspected again. JSON is inspected by its values' paths
//! (`BodyArg` named `ws.<n>.<json path>`, keys as `BodyArgName`), anything
//! else as one `Body` value named `ws.<n>`, where `n` counts the connection's
//! messages from 1. A binary message is inspected only when it sniffs as text
//! (valid UTF-8, almost no control characters); other binary is opaque, as
//! binary bodies are.

use crate::body::{self, BodyProblem};
use crate::policy::Effective;
use crate::request::{Location, Part, Request, Value};
use crate::tx::Transaction;
use crate::{Engine, Verdict, decode};

/// The message's opcode, as far as inspection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Text,
    Binary,
}

/// The inspector for the messages of one upgraded connection.
#[derive(Clone, Debug)]
pub struct Messages<'e> {
    engine: &'e Engine,
    settings: Effective<'e>,
}

impl Engine {
    /// The inspector for the messages of a connection upgraded by a request
    /// for `target` (the request-target as received: its path picks the
    /// settings, canonicalized as for the request itself).
    pub fn messages(&self, target: &str) -> Messages<'_> {
        self.messages_with_cookies(target, &[])
    }

    /// [`Self::messages`] for an upgrade request that carried cookies of
    /// these names (exclusions may ask for an application's session cookie).
    pub fn messages_with_cookies(&self, target: &str, cookie_names: &[String]) -> Messages<'_> {
        let head = Request::new("GET", target);
        let path = decode::path::canonicalize(&decode::normalize(head.raw_path())).into_owned();
        let has_cookie = |p: &str| {
            cookie_names
                .iter()
                .any(|c| crate::policy::cookie_matches(p, c))
        };
        Messages {
            engine: self,
            settings: self.policy.for_request(&path, &has_cookie),
        }
    }
}

impl Messages<'_> {
    /// Whether messages are inspected at all here (mode not off, and
    /// WebSocket inspection on for the path). When not, [`inspect`](Self::inspect)
    /// allows everything and the proxy need not look at the frames.
    pub fn inspects(&self) -> bool {
        self.settings.inspect_websocket
    }

    /// Inspects message number `n` (from 1) of the connection, whole and unmasked.
    pub fn inspect(&self, n: u64, kind: MessageKind, payload: &[u8]) -> Verdict {
        let mut tx = Transaction::for_message(self.engine, self.settings.clone());
        if self.inspects() {
            if kind == MessageKind::Binary
                && let Some(segments) = offset_table_segments(payload)
            {
                let mut problems = Vec::new();
                let mut values = Vec::new();
                for (k, segment) in segments.iter().enumerate() {
                    let Some(text) = binary_text(segment).filter(|t| !t.is_empty()) else {
                        continue;
                    };
                    let (p, v) = self.values(&format!("ws.{n}.{k}"), &text);
                    problems.extend(p);
                    values.extend(v);
                }
                tx.on_message(&problems, &values);
                return tx.finish();
            }
            let text = match kind {
                MessageKind::Text => Some(String::from_utf8_lossy(payload)),
                MessageKind::Binary => binary_text(payload),
            };
            if let Some(text) = text.filter(|t| !t.is_empty()) {
                let (problems, values) = self.values(&format!("ws.{n}"), &text);
                tx.on_message(&problems, &values);
            }
        }
        tx.finish()
    }

    /// The verdict on a connection closed for its framing (bad frames, a
    /// message over the size limit): blocked whatever the mode, as a body over
    /// the limit under `reject` is, with no findings.
    pub fn refused(&self) -> Verdict {
        let mut v = Transaction::for_message(self.engine, self.settings.clone()).finish();
        v.action = crate::Action::Block;
        v.would_block = true;
        v
    }

    /// JSON's leaves and keys by their paths, or else the text as one value.
    fn values(&self, prefix: &str, text: &str) -> (Vec<BodyProblem>, Vec<Value>) {
        let parsed = body::json::parse(text.as_bytes(), false, &self.engine.limits.body);
        let is_json = !parsed
            .problems
            .iter()
            .any(|p| matches!(p, BodyProblem::MalformedJson(_)));
        if !is_json {
            let value = Value {
                location: Location::new(Part::Body, Some(prefix)),
                text: text.to_owned(),
            };
            return (Vec::new(), vec![value]);
        }
        let values = parsed
            .args
            .into_iter()
            .map(|a| {
                let name = if a.name.is_empty() {
                    prefix.to_owned()
                } else {
                    format!("{prefix}.{}", a.name)
                };
                Value {
                    location: Location {
                        part: a.part,
                        name: Some(name),
                    },
                    text: a.value,
                }
            })
            .collect();
        (parsed.problems, values)
    }
}

/// The payload as text, if it is valid UTF-8 that does not look binary (no
/// NUL, at most one character in ten a control character or U+FFFD).
pub fn sniff_text(payload: &[u8]) -> Option<&str> {
    std::str::from_utf8(payload)
        .ok()
        .filter(|t| !body::sniff::looks_binary(t.as_bytes()))
}

/// Most segments an offset-table message may have.
const MAX_SEGMENTS: usize = 64;

/// The segments of a binary message framed as an offset table: a 64-bit
/// little-endian count `n`, then `n` 64-bit offsets, the first just past the
/// table, each segment running to the next offset or the end. Jupyter's
/// kernel protocol (`v1.kernel.websocket.jupyter.org`) frames its channel,
/// headers and content (the code) this way; read apart, the content is JSON
/// with named fields instead of one blob of printable runs. Anything that is
/// not exactly this shape is `None` and inspected as before.
pub fn offset_table_segments(payload: &[u8]) -> Option<Vec<&[u8]>> {
    let word = |i: usize| -> Option<usize> {
        let b: [u8; 8] = payload.get(i * 8..i * 8 + 8)?.try_into().ok()?;
        usize::try_from(u64::from_le_bytes(b)).ok()
    };
    let n = word(0)?;
    if n == 0 || n > MAX_SEGMENTS {
        return None;
    }
    let offsets: Vec<usize> = (1..=n).map(word).collect::<Option<_>>()?;
    if offsets[0] != 8 * (n + 1) || offsets.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    if *offsets.last()? > payload.len() {
        return None;
    }
    Some(
        offsets
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                &payload[start..offsets.get(i + 1).copied().unwrap_or(payload.len())]
            })
            .collect(),
    )
}

/// What of a binary message is inspected: all of it when it is text; nothing
/// when it is a file (an image, an archive); otherwise its printable runs,
/// the strings MessagePack, protobuf and the like carry in the clear, and the
/// text of a message padded with NULs or stray bytes so as not to look like
/// text (a back end that decodes it still reads the attack).
fn binary_text(payload: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(t) = sniff_text(payload) {
        return Some(t.into());
    }
    if body::sniff::has_file_signature(payload) {
        return None;
    }
    Some(body::sniff::printable_runs(payload, 6, payload.len()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Class, Mode, PathPattern, Policy, Route};

    const SQLI: &str = "' UNION SELECT password FROM users--";

    fn sqli(v: &Verdict) -> Option<&crate::Finding> {
        v.findings.iter().find(|f| f.class == Class::Sqli)
    }

    #[test]
    fn an_offset_table_message_is_read_segment_by_segment() {
        let segments: [&[u8]; 3] = [
            b"shell",
            b"{\"msg_type\":\"execute_request\"}",
            b"{\"code\":\"' UNION SELECT password FROM users--\"}",
        ];
        let mut msg = 3u64.to_le_bytes().to_vec();
        let mut at = 8 * 4;
        for s in &segments {
            msg.extend((at as u64).to_le_bytes());
            at += s.len();
        }
        for s in &segments {
            msg.extend_from_slice(s);
        }
        assert_eq!(offset_table_segments(&msg).unwrap(), segments);
        let v = Engine::builtin()
            .messages("/api/kernels/k/channels")
            .inspect(2, MessageKind::Binary, &msg);
        assert_eq!(v.action, Action::Block);
        assert_eq!(
            sqli(&v).unwrap().location.name.as_deref(),
            Some("ws.2.2.code")
        );
        // Not the shape: a wrong first offset, offsets past the end, too many.
        let mut bad = msg.clone();
        bad[8] = 0;
        assert!(offset_table_segments(&bad).is_none());
        assert!(offset_table_segments(&msg[..40]).is_none());
        assert!(offset_table_segments(&u64::MAX.to_le_bytes()).is_none());
        assert!(offset_table_segments(b"").is_none());
    }

    #[test]
    fn text_is_one_body_value_named_by_the_message_number() {
        let e = Engine::builtin();
        let m = e.messages("/ws?room=1");
        assert!(m.inspects());
        let v = m.inspect(3, MessageKind::Text, SQLI.as_bytes());
        assert_eq!(v.action, Action::Block);
        let f = sqli(&v).expect("an SQLi finding");
        assert_eq!(f.location.part, Part::Body);
        assert_eq!(f.location.name.as_deref(), Some("ws.3"));
        let ok = m.inspect(4, MessageKind::Text, b"hello there, how are you?");
        assert_eq!((ok.action, ok.findings.len()), (Action::Allow, 0));
    }

    #[test]
    fn json_values_are_named_by_their_paths() {
        let e = Engine::builtin();
        let msg = format!(
            r#"{{"op":"search","args":{{"q":"{}"}}}}"#,
            SQLI.replace('"', "")
        );
        let v = e
            .messages("/ws")
            .inspect(7, MessageKind::Text, msg.as_bytes());
        assert_eq!(v.action, Action::Block);
        let f = sqli(&v).expect("an SQLi finding");
        assert_eq!(f.location.part, Part::BodyArg);
        assert_eq!(f.location.name.as_deref(), Some("ws.7.args.q"));
    }

    #[test]
    fn binary_is_inspected_only_when_it_is_text() {
        let e = Engine::builtin();
        let m = e.messages("/ws");
        let v = m.inspect(1, MessageKind::Binary, SQLI.as_bytes());
        assert_eq!(v.action, Action::Block, "binary that is text");
        // Padding with NULs and stray bytes does not hide the attack.
        let mut blob = SQLI.as_bytes().to_vec();
        blob.extend([0u8, 1, 2, 0xff, 0xfe]);
        let v = m.inspect(2, MessageKind::Binary, &blob);
        assert_eq!(v.action, Action::Block, "padded binary");
        // A file is not read as text.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(SQLI.as_bytes());
        let v = m.inspect(3, MessageKind::Binary, &png);
        assert_eq!((v.action, v.findings.len()), (Action::Allow, 0));
        assert!(sniff_text(b"plain words\r\n\tand tabs").is_some());
        assert!(sniff_text(b"\x01\x02\x03abc").is_none());
        assert!(sniff_text(&[0xc3, 0x28]).is_none());
    }

    #[test]
    fn routes_turn_inspection_off_and_detect_mode_flags() {
        let mut p = Policy::default();
        p.routes.push(Route {
            path: PathPattern::parse("/live").unwrap(),
            mode: None,
            threshold: None,
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: Some(false),
        });
        p.routes.push(Route {
            path: PathPattern::parse("/watch").unwrap(),
            mode: Some(Mode::Detect),
            threshold: None,
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: None,
        });
        let e = Engine::builtin().with_policy(p);
        let off = e.messages("/live/feed");
        assert!(!off.inspects());
        let v = off.inspect(1, MessageKind::Text, SQLI.as_bytes());
        assert_eq!((v.action, v.findings.len()), (Action::Allow, 0));
        // The route is chosen by the canonical path, as for requests.
        assert!(!e.messages("/%6cive/feed").inspects());
        let v = e
            .messages("/watch")
            .inspect(1, MessageKind::Text, SQLI.as_bytes());
        assert_eq!((v.action, v.mode), (Action::Flag, Mode::Detect));
        assert!(v.would_block);

        let mut p = Policy {
            mode: Mode::Off,
            ..Policy::default()
        };
        assert!(
            !Engine::builtin()
                .with_policy(p.clone())
                .messages("/")
                .inspects()
        );
        p.mode = Mode::Block;
        p.inspect_websocket = false;
        assert!(!Engine::builtin().with_policy(p).messages("/").inspects());
    }
}
