use super::testdb::{self, Value, Writer};
use super::*;

const ENTRIES: &[(&str, &str)] = &[
    ("203.0.113.0/24", "DE"),
    ("198.51.100.0/25", "US"),
    ("2001:db8::/32", "JP"),
];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn sample() -> (tempfile::TempDir, GeoIp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("country.mmdb");
    testdb::write_country_db(&path, ENTRIES).unwrap();
    let geo = GeoIp::open(&path).unwrap();
    (dir, geo)
}

#[test]
fn writer_output_reads_back_with_maxminddb() {
    let bytes = testdb::country_db(ENTRIES).unwrap();
    let reader = Reader::from_source(bytes).unwrap();
    reader.verify().unwrap();
    let m = reader.metadata();
    assert_eq!(m.database_type, "GeoLite2-Country");
    assert_eq!((m.ip_version, m.record_size), (6, 24));
    assert_eq!(m.binary_format_major_version, 2);
    assert_eq!(m.binary_format_minor_version, 0);
    assert_eq!(m.languages, ["en"]);
    assert_eq!(m.description["en"], "Wafer test database");
    assert_eq!(m.build_epoch, 1_700_000_000);

    let found = reader.lookup(ip("203.0.113.77")).unwrap();
    assert_eq!(found.network().unwrap().to_string(), "203.0.113.0/24");
    let code: Option<String> = found
        .decode_path(&maxminddb::path!["country", "iso_code"])
        .unwrap();
    assert_eq!(code.as_deref(), Some("DE"));
    let networks: Vec<String> = reader
        .networks(WithinOptions::default())
        .unwrap()
        .map(|n| n.unwrap().network().unwrap().to_string())
        .collect();
    assert_eq!(
        networks,
        ["198.51.100.0/25", "203.0.113.0/24", "2001:db8::/32"]
    );
}

#[test]
fn lookups_inside_outside_and_at_the_edges() {
    let (_dir, geo) = sample();
    let de = Some(*b"DE");
    let us = Some(*b"US");
    assert_eq!(geo.country(ip("203.0.113.0")), de);
    assert_eq!(geo.country(ip("203.0.113.128")), de);
    assert_eq!(geo.country(ip("203.0.113.255")), de);
    assert_eq!(geo.country(ip("203.0.112.255")), None);
    assert_eq!(geo.country(ip("203.0.114.0")), None);
    assert_eq!(geo.country(ip("198.51.100.0")), us);
    assert_eq!(geo.country(ip("198.51.100.127")), us);
    assert_eq!(geo.country(ip("198.51.100.128")), None, "outside the /25");
    assert_eq!(geo.country(ip("10.0.0.1")), None);
    assert_eq!(geo.country(ip("0.0.0.0")), None);
    assert_eq!(geo.country(ip("255.255.255.255")), None);
    assert_eq!(geo.country(ip("2001:db8::")), Some(*b"JP"));
    assert_eq!(geo.country(ip("2001:db8:ffff:ffff::1")), Some(*b"JP"));
    assert_eq!(geo.country(ip("2001:db9::")), None);
    assert_eq!(geo.country(ip("2001:db7:ffff::")), None);
    assert_eq!(geo.database_type(), "GeoLite2-Country");
    assert_eq!(geo.build_epoch(), 1_700_000_000);
    geo.verify().unwrap();
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let (_dir, geo) = sample();
    assert_eq!(geo.country(ip("::ffff:203.0.113.9")), Some(*b"DE"));
    assert_eq!(geo.country(ip("::ffff:198.51.100.200")), None);
}

#[test]
fn narrower_networks_win_inside_broader_ones_in_any_order() {
    for entries in [
        [("10.0.0.0/8", "FR"), ("10.1.0.0/16", "it")],
        [("10.1.0.0/16", "it"), ("10.0.0.0/8", "FR")],
    ] {
        let bytes = testdb::country_db(&entries).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let geo = GeoIp::open(&write(&dir, "nested.mmdb", &bytes)).unwrap();
        assert_eq!(
            geo.country(ip("10.1.2.3")),
            Some(*b"IT"),
            "lowercase normalized"
        );
        assert_eq!(geo.country(ip("10.2.0.0")), Some(*b"FR"));
        assert_eq!(geo.country(ip("10.0.255.255")), Some(*b"FR"));
        assert_eq!(geo.country(ip("11.0.0.0")), None);
    }
}

#[test]
fn lookup_borrows_from_the_file() {
    // Decoding into `&str` only succeeds when the decoder can hand out a slice of the file's
    // bytes; an owned (allocated) string would be refused. So this lookup allocates nothing.
    let (_dir, geo) = sample();
    let found = geo.reader.lookup(ip("203.0.113.1")).unwrap();
    let record = found.decode::<CountryRecord<'_>>().unwrap().unwrap();
    assert_eq!(record.country.unwrap().iso_code, Some("DE"));
}

#[test]
fn ip_location_db_layout_is_read() {
    let mut w = Writer::new("geo-whois-asn-country");
    w.insert(
        "192.0.2.0/24".parse().unwrap(),
        Value::Map(vec![("country_code".into(), Value::Str("NL".into()))]),
    );
    let dir = tempfile::tempdir().unwrap();
    let geo = GeoIp::open(&write(&dir, "ipdb.mmdb", &w.to_bytes().unwrap())).unwrap();
    assert_eq!(geo.country(ip("192.0.2.200")), Some(*b"NL"));
}

#[test]
fn odd_codes_in_the_file_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = testdb::country_db(&[("192.0.2.0/25", "DE"), ("192.0.2.128/25", "D3U")]).unwrap();
    let geo = GeoIp::open(&write(&dir, "odd.mmdb", &bytes)).unwrap();
    assert_eq!(geo.country(ip("192.0.2.1")), Some(*b"DE"));
    assert_eq!(geo.country(ip("192.0.2.129")), None);
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.mmdb");
    let err = GeoIp::open(&path).unwrap_err();
    assert!(matches!(err, GeoError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.mmdb"), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_database_without_countries_is_refused() {
    let mut w = Writer::new("GeoLite2-ASN");
    w.insert(
        "192.0.2.0/24".parse().unwrap(),
        Value::Map(vec![(
            "autonomous_system_number".into(),
            Value::U32(64_496),
        )]),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = GeoIp::open(&write(&dir, "asn.mmdb", &w.to_bytes().unwrap())).unwrap_err();
    assert!(matches!(err, GeoError::NoCountryData { .. }), "{err:?}");
    assert!(err.to_string().contains("GeoLite2-ASN"), "{err}");

    let empty = Writer::new("GeoLite2-Country").to_bytes().unwrap();
    let err = GeoIp::open(&write(&dir, "empty-tree.mmdb", &empty)).unwrap_err();
    assert!(matches!(err, GeoError::NoCountryData { .. }), "{err:?}");
}

#[test]
fn empty_garbage_and_truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = GeoIp::open(&write(&dir, "empty.mmdb", b"")).unwrap_err();
    assert!(matches!(err, GeoError::NotMmdb { .. }), "{err:?}");
    assert!(err.to_string().contains("not a valid MaxMind DB"), "{err}");

    // Deterministic pseudo-random bytes (xorshift), with and without a metadata marker.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut garbage = || {
        (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect::<Vec<u8>>()
    };
    let random = garbage();
    let err = GeoIp::open(&write(&dir, "random.mmdb", &random)).unwrap_err();
    assert!(matches!(err, GeoError::NotMmdb { .. }), "{err:?}");
    let mut marked = garbage();
    marked.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    marked.extend_from_slice(&garbage()[..64]);
    assert!(GeoIp::open(&write(&dir, "marked.mmdb", &marked)).is_err());

    let valid = testdb::country_db(ENTRIES).unwrap();
    let path = dir.path().join("truncated.mmdb");
    for len in 0..valid.len() {
        std::fs::write(&path, &valid[..len]).unwrap();
        assert!(GeoIp::open(&path).is_err(), "prefix of {len} bytes opened");
    }
}

#[test]
fn flipped_bytes_never_panic() {
    // Every single-byte corruption either fails to open or gives answers without panicking.
    let valid = testdb::country_db(ENTRIES).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.mmdb");
    let probes = [
        "203.0.113.5",
        "198.51.100.5",
        "2001:db8::1",
        "10.0.0.1",
        "::1",
        "::ffff:203.0.113.5",
    ];
    for at in 0..valid.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut bytes = valid.clone();
            bytes[at] ^= flip;
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(geo) = GeoIp::open(&path) {
                for p in probes {
                    let _ = geo.country(ip(p));
                }
                let _ = geo.verify();
            }
        }
    }
}

#[test]
fn reopening_sees_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reload.mmdb");
    testdb::write_country_db(&path, &[("192.0.2.0/24", "DE")]).unwrap();
    assert_eq!(
        GeoIp::open(&path).unwrap().country(ip("192.0.2.1")),
        Some(*b"DE")
    );
    testdb::write_country_db(&path, &[("192.0.2.0/24", "AT")]).unwrap();
    assert_eq!(
        GeoIp::open(&path).unwrap().country(ip("192.0.2.1")),
        Some(*b"AT")
    );
}

#[test]
fn writer_refuses_what_it_cannot_store() {
    assert!(
        testdb::country_db(&[("::/0", "DE")])
            .unwrap_err()
            .contains("/0")
    );
    assert!(
        testdb::country_db(&[("not-a-net", "DE")])
            .unwrap_err()
            .contains("not-a-net")
    );
    // 0.0.0.0/0 is ::/96 in the tree: storable.
    let bytes = testdb::country_db(&[("0.0.0.0/0", "DE")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let geo = GeoIp::open(&write(&dir, "all.mmdb", &bytes)).unwrap();
    assert_eq!(geo.country(ip("8.8.8.8")), Some(*b"DE"));
    assert_eq!(geo.country(ip("2001:db8::1")), None);
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn rules(allow: &[&str], deny: &[&str]) -> CountryRules {
    CountryRules::parse(&strings(allow), &strings(deny)).unwrap()
}

#[test]
fn no_rules_allow_everything() {
    let r = rules(&[], &[]);
    assert!(r.is_empty());
    assert!(r.allows(Some(*b"DE")));
    assert!(r.allows(None));
}

#[test]
fn deny_list_blocks_only_its_countries() {
    let r = rules(&[], &["ru", "KP"]);
    assert!(!r.is_empty());
    assert!(!r.allows(Some(*b"RU")));
    assert!(!r.allows(Some(*b"KP")));
    assert!(r.allows(Some(*b"DE")));
    assert!(r.allows(None), "unknown passes unless \"--\" is denied");
}

#[test]
fn allow_list_denies_every_other_known_country() {
    let r = rules(&["de", "At"], &[]);
    assert!(r.allows(Some(*b"DE")));
    assert!(r.allows(Some(*b"AT")));
    assert!(!r.allows(Some(*b"US")));
    assert!(r.allows(None), "the allow list does not apply to unknown");
}

#[test]
fn deny_wins_over_allow() {
    let r = rules(&["DE", "US"], &["us"]);
    assert!(r.allows(Some(*b"DE")));
    assert!(!r.allows(Some(*b"US")));
}

#[test]
fn unknown_is_denied_with_double_dash() {
    let r = rules(&["DE"], &["--"]);
    assert!(!r.allows(None));
    assert!(r.allows(Some(*b"DE")));
    assert!(!r.allows(Some(*b"FR")));
    let r = rules(&[], &["--"]);
    assert!(!r.allows(None));
    assert!(r.allows(Some(*b"FR")));
}

#[test]
fn parse_errors_name_every_bad_value() {
    let err =
        CountryRules::parse(&strings(&["DE", "XX1"]), &strings(&["", "d", "f-", "é"])).unwrap_err();
    for named in [
        "allow \"XX1\"",
        "deny \"\"",
        "deny \"d\"",
        "deny \"f-\"",
        "deny \"é\"",
    ] {
        assert!(err.contains(named), "{named} missing from: {err}");
    }
    assert!(!err.contains("\"DE\""), "{err}");
    let err = CountryRules::parse(&strings(&["--"]), &[]).unwrap_err();
    assert!(err.contains("allow \"--\""), "{err}");
    assert!(err.contains("belongs in deny"), "{err}");
}

#[test]
fn parse_normalizes_and_dedups() {
    assert_eq!(rules(&["de", "DE", "dE"], &[]), rules(&["DE"], &[]));
}

#[test]
fn geoip_can_be_shared_across_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<GeoIp>();
    shared::<CountryRules>();
}
