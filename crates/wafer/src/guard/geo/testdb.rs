//! A tiny MaxMind DB (MMDB v2) writer, for tests only.
//!
//! Tests must not download databases, and no maintained writer crate builds here, so this
//! writes one from the MaxMind DB format specification. It is compiled for this crate's tests
//! and, with the `test-util` feature, for the end-to-end tests outside it (never in a release
//! build):
//!
//! ```no_run
//! use wafer::guard::geo::testdb;
//! let path = std::env::temp_dir().join("geo.mmdb");
//! testdb::write_country_db(&path, &[("203.0.113.0/24", "DE"), ("2001:db8::/32", "JP")]).unwrap();
//! ```
//!
//! **Layout:** always an IPv6 database (`ip_version` 6) with IPv4 networks at `::a.b.c.d`
//! (the `::/96` subtree), as MaxMind's own files do. The `::ffff:0:0/96` alias is *not*
//! written: `GeoIp::country` maps IPv4-mapped addresses to IPv4 before the lookup.
//! 24-bit records; each distinct value is stored once in the data section.
//! **Limits:** about 5 million nodes and 16 MiB of data (24-bit records); a `/0` network
//! cannot be stored (the root of an MMDB tree is a node, never data).

use ipnet::IpNet;
use std::collections::HashMap;
use std::path::Path;

/// A value of the MMDB data section (the subset the writer needs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Str(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Array(Vec<Value>),
    /// Keys in the order given.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// `{"country": {"iso_code": code}}`, the GeoLite2-Country shape.
    pub fn country(code: &str) -> Value {
        Value::Map(vec![(
            "country".into(),
            Value::Map(vec![("iso_code".into(), Value::Str(code.into()))]),
        )])
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Str(s) => {
                control(out, TYPE_STRING, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::U16(v) => uint(out, TYPE_U16, u64::from(*v)),
            Value::U32(v) => uint(out, TYPE_U32, u64::from(*v)),
            Value::U64(v) => uint(out, TYPE_U64, *v),
            Value::Array(items) => {
                control(out, TYPE_ARRAY, items.len());
                for item in items {
                    item.encode(out);
                }
            }
            Value::Map(pairs) => {
                control(out, TYPE_MAP, pairs.len());
                for (key, value) in pairs {
                    Value::Str(key.clone()).encode(out);
                    value.encode(out);
                }
            }
        }
    }
}

// Type numbers from the spec; those above 7 are "extended" (type 0 plus a second byte).
const TYPE_STRING: u8 = 2;
const TYPE_U16: u8 = 5;
const TYPE_U32: u8 = 6;
const TYPE_MAP: u8 = 7;
const TYPE_U64: u8 = 9;
const TYPE_ARRAY: u8 = 11;

const SEPARATOR: [u8; 16] = [0; 16];
const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
const RECORD_LIMIT: usize = 1 << 24;

/// Control byte: type in the top 3 bits, size in the low 5 (29..31 announce 1..3 more bytes).
fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else if size < 65_821 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    let ty_bits = if ty > 7 { 0 } else { ty };
    out.push((ty_bits << 5) | size_bits);
    if ty > 7 {
        out.push(ty - 7);
    }
    out.extend_from_slice(&extra);
}

/// Unsigned integers are big-endian with leading zero bytes dropped; the size is the byte count.
fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, ty, bytes.len() - skip);
    out.extend_from_slice(&bytes[skip..]);
}

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds one database from networks and values.
#[derive(Debug)]
pub struct Writer {
    database_type: String,
    build_epoch: u64,
    entries: Vec<(IpNet, Value)>,
}

impl Writer {
    pub fn new(database_type: &str) -> Writer {
        Writer {
            database_type: database_type.into(),
            build_epoch: 1_700_000_000,
            entries: Vec::new(),
        }
    }

    /// A more specific network inserted later (or earlier) wins inside a broader one.
    pub fn insert(&mut self, net: IpNet, value: Value) -> &mut Writer {
        self.entries.push((net.trunc(), value));
        self
    }

    /// The whole file: search tree, separator, data section, marker, metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        // Each distinct value once; records point at its offset.
        let mut data = Vec::new();
        let mut offsets: HashMap<&Value, usize> = HashMap::new();
        let mut value_ids = Vec::with_capacity(self.entries.len());
        let mut value_offsets = Vec::new();
        for (_, value) in &self.entries {
            let next = value_offsets.len();
            let id = *offsets.entry(value).or_insert_with(|| {
                value_offsets.push(data.len());
                value.encode(&mut data);
                next
            });
            value_ids.push(id);
        }

        // Broader networks first, so a narrower one splits the broader record below it.
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| bits(&self.entries[i].0).1);
        let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
        for i in order {
            let (addr, len) = bits(&self.entries[i].0);
            if len == 0 {
                return Err(format!(
                    "{}: a /0 network cannot be stored",
                    self.entries[i].0
                ));
            }
            let mut node = 0;
            for depth in 0..len {
                let bit = ((addr >> (127 - depth)) & 1) as usize;
                if depth + 1 == len {
                    nodes[node][bit] = Record::Data(value_ids[i]);
                    break;
                }
                node = match nodes[node][bit] {
                    Record::Node(n) => n,
                    inherited => {
                        let n = nodes.len();
                        nodes.push([inherited; 2]);
                        nodes[node][bit] = Record::Node(n);
                        n
                    }
                };
            }
        }

        let node_count = nodes.len();
        let mut out = Vec::with_capacity(node_count * 6 + 16 + data.len() + 256);
        for node in &nodes {
            for record in node {
                let v = match *record {
                    Record::Empty => node_count,
                    Record::Node(n) => n,
                    Record::Data(id) => node_count + SEPARATOR.len() + value_offsets[id],
                };
                if v >= RECORD_LIMIT {
                    return Err(format!(
                        "record value {v} does not fit in 24 bits: database too large"
                    ));
                }
                out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&SEPARATOR);
        out.extend_from_slice(&data);
        out.extend_from_slice(METADATA_MARKER);
        let node_count = u32::try_from(node_count).map_err(|_| "too many nodes".to_string())?;
        self.metadata(node_count).encode(&mut out);
        Ok(out)
    }

    fn metadata(&self, node_count: u32) -> Value {
        let s = |v: &str| Value::Str(v.into());
        Value::Map(vec![
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(self.build_epoch)),
            ("database_type".into(), s(&self.database_type)),
            (
                "description".into(),
                Value::Map(vec![("en".into(), s("Wafer test database"))]),
            ),
            ("ip_version".into(), Value::U16(6)),
            ("languages".into(), Value::Array(vec![s("en")])),
            ("node_count".into(), Value::U32(node_count)),
            ("record_size".into(), Value::U16(24)),
        ])
    }
}

/// The network as a 128-bit address and prefix length; IPv4 sits at `::a.b.c.d`.
fn bits(net: &IpNet) -> (u128, u8) {
    match net {
        IpNet::V4(n) => (u128::from(u32::from(n.network())), 96 + n.prefix_len()),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len()),
    }
}

/// A "GeoLite2-Country" database from `(CIDR, ISO code)` pairs, e.g. `("203.0.113.0/24", "DE")`.
pub fn country_db(entries: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    let mut writer = Writer::new("GeoLite2-Country");
    for (cidr, code) in entries {
        let net: IpNet = cidr.parse().map_err(|e| format!("network {cidr:?}: {e}"))?;
        writer.insert(net, Value::country(code));
    }
    writer.to_bytes()
}

/// [`country_db`], written to `path`.
pub fn write_country_db(path: &Path, entries: &[(&str, &str)]) -> std::io::Result<()> {
    let bytes = country_db(entries).map_err(std::io::Error::other)?;
    std::fs::write(path, bytes)
}
