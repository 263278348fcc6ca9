//! Benign traffic that looks like attacks, by kind, generated from the
//! shapes real clients send: binary data carried as text (session replays
//! and compressed logs in JSON strings), analytics beacons and referers
//! whose URL carries a search phrase made of SQL words, and the buffers of
//! online editors (YAML PoC templates with an indented `headers:` block).
//! Every case must be allowed; next to each kind, the attack it resembles
//! must still be blocked, judged by the same context.

mod common;

use common::XorShift;
use wafer_engine::{Action, Engine, Request};

fn browser(r: Request) -> Request {
    r.header("Host", "app.example")
        .header(
            "User-Agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        )
        .header("Accept", "*/*")
        .header("Accept-Language", "en-US,en;q=0.9")
}

fn post(uri: &str, ct: &str, body: &str) -> Request {
    browser(Request::new("POST", uri))
        .header("Content-Type", ct)
        .header("Content-Length", &body.len().to_string())
        .body(body.as_bytes().to_vec())
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else if b == b' ' {
                "+".to_owned()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn assert_allowed(engine: &Engine, kind: &str, cases: &[Request]) {
    let blocked: Vec<String> = cases
        .iter()
        .filter(|r| engine.inspect(r).action == Action::Block)
        .map(|r| {
            let body = String::from_utf8_lossy(&r.body);
            format!(
                "{} {}",
                r.target,
                body.chars().take(300).collect::<String>()
            )
        })
        .collect();
    assert!(
        blocked.is_empty(),
        "{kind}: {} of {} benign cases blocked, e.g. {:?}",
        blocked.len(),
        cases.len(),
        &blocked[..blocked.len().min(3)]
    );
}

fn assert_blocked(engine: &Engine, kind: &str, cases: &[Request]) {
    let missed: Vec<String> = cases
        .iter()
        .filter(|r| engine.inspect(r).action != Action::Block)
        .map(|r| format!("{} {}", r.target, String::from_utf8_lossy(&r.body)))
        .collect();
    assert!(
        missed.is_empty(),
        "{kind}: {} of {} attacks allowed, e.g. {:?}",
        missed.len(),
        cases.len(),
        &missed[..missed.len().min(3)]
    );
}

/// A small deterministic generator of bytes.
struct Noise(XorShift);

impl Noise {
    fn byte(&mut self) -> u8 {
        (self.0.next() >> 24) as u8
    }

    /// Compressed-looking data read as Latin-1, as replay recorders ship it.
    fn latin1(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(self.byte())).collect()
    }
}

/// Session-replay and log beacons whose payload is compressed data in a
/// JSON string: by chance it holds `<?=`, backquotes, `#{`, NULs.
fn binary_blobs() -> Vec<Request> {
    let mut out = Vec::new();
    for seed in 1..=40u64 {
        let mut noise = Noise(XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let mut blob = noise.latin1(2000 + (seed as usize) * 37);
        // Chance matches a signature would find, amid the noise.
        for (i, bit) in ["<?=", "`#", "#{", "$(K", "\"#", "@@["].iter().enumerate() {
            let at = 300 + i * 250 + (seed as usize % 50);
            let at = (0..=at)
                .rev()
                .find(|&k| blob.is_char_boundary(k))
                .unwrap_or(0);
            blob.insert_str(at, bit);
        }
        let field = ["replayContent", "content", "payload", "events"][seed as usize % 4];
        let body = format!(
            "{{\"head\":{{\"cid\":\"0903{seed:08}\",\"lang\":\"01\"}},\"version\":\"3.2.{seed}\",\"{field}\":{}}}",
            json_str(&format!("{{spID={seed},len=3}}{blob}"))
        );
        out.push(post("/restapi/trace/save", "application/json", &body));
    }
    out
}

/// An injection is written in text that a query or shell parses: binary
/// padding elsewhere in the value does not hide it.
fn injections_beside_binary() -> Vec<Request> {
    let mut out = Vec::new();
    for seed in 1..=10u64 {
        let mut noise = Noise(XorShift(seed.wrapping_mul(0x2545_f491_4f6c_dd1d)));
        let pad = noise.latin1(600);
        for payload in [
            "' union select username, password from users-- ",
            "<script>alert(document.cookie)</script>",
        ] {
            let body = format!(
                "{{\"note\":{},\"blob\":{}}}",
                json_str(&format!("order 42 {payload} thanks")),
                json_str(&pad)
            );
            out.push(post("/api/notes", "application/json", &body));
            let body = format!(
                "{{\"blob\":{}}}",
                json_str(&format!("{pad}\n{payload}\nend of note, text again"))
            );
            out.push(post("/api/notes", "application/json", &body));
        }
    }
    out
}

/// Search phrases a user types that open with SQL words, then go on in
/// another script (or stay words), as carried in a beacon's page URL and in
/// the Referer of the next page.
const PHRASES: &[&str] = &[
    "union select 关键字怎么用",
    "union select 和 union all select 的区别",
    "UNION SELECT 使い方",
    "union select 사용법",
    "union select примеры",
    "select shoes union station",
    "union station select seats",
    "sql union select 教程",
];

fn beacon_urls() -> Vec<Request> {
    let mut out = Vec::new();
    for (i, phrase) in PHRASES.iter().enumerate() {
        let page = format!(
            "https://forum.example/search?q={}&page={}",
            pct(phrase),
            i + 1
        );
        let beacon = format!(
            "{{\"n\":\"pageview\",\"u\":{},\"d\":\"forum.example\",\"r\":\"https://forum.example/\",\"w\":1920}}",
            json_str(&page)
        );
        out.push(post("/api/event", "text/plain", &beacon));
        out.push(post("/api/event", "application/json", &beacon));
        out.push(browser(Request::new("GET", "/")).header("Referer", &page));
        let query = format!("/collect?v=2&dl={}&dt=Search", pct(&page));
        out.push(browser(Request::new("GET", &query)));
    }
    out
}

fn union_select_in_urls() -> Vec<Request> {
    let mut out = Vec::new();
    for payload in [
        "1 union select 1,2,3-- ",
        "-1 UNION ALL SELECT null,version()-- ",
        "x' union select password from users#",
        "1 union select @@version",
    ] {
        let page = format!("https://shop.example/item?id={}", pct(payload));
        out.push(browser(Request::new(
            "GET",
            &format!("/item?id={}", pct(payload)),
        )));
        out.push(browser(Request::new("GET", "/")).header("Referer", &page));
    }
    out
}

/// PoC and workflow templates saved from an online editor: YAML whose
/// request block lists headers, indented under `headers:`.
fn editor_buffers() -> Vec<Request> {
    let mut out = Vec::new();
    for (i, (header, value)) in [
        ("Host", "'{{Hostname}}'"),
        ("Content-Type", "application/json"),
        ("Location", "https://example.com/cs/x"),
        ("Set-Cookie", "session=abc"),
        ("Content-Length", "0"),
    ]
    .iter()
    .enumerate()
    {
        for indent in [4, 6, 8] {
            let pad = " ".repeat(indent);
            let code = format!(
                "name: poc-yaml-example-{i}\ntransport: http\nrules:\n  r0:\n    request:\n      method: GET\n      path: /\n      headers:\n{pad}{header}: {value}\n{pad}Accept: '*/*'\n    expression: response.status == 302\nexpression: r0()\n"
            );
            let body = format!(
                "{{\"title\":\"poc-{i}-{indent}\",\"notes\":\"## Notes\\n\\ntest\",\"code\":{}}}",
                json_str(&code)
            );
            out.push(post("/api/v2/poc/create/", "application/json", &body));
        }
    }
    out
}

fn header_injections() -> Vec<Request> {
    let mut out = Vec::new();
    for sep in ["\r\n", "\n", "\r\n "] {
        for header in [
            "Set-Cookie: admin=1",
            "Location: https://evil.example/",
            "Content-Length: 0",
        ] {
            let body = format!("next=/home{sep}{header}");
            out.push(post(
                "/login",
                "application/x-www-form-urlencoded",
                &pct_form(&body),
            ));
        }
    }
    out
}

fn pct_form(s: &str) -> String {
    let (name, value) = s.split_once('=').expect("a pair");
    format!("{name}={}", pct(value).replace('+', "%20"))
}

#[test]
fn binary_data_carried_as_text_is_allowed() {
    let engine = Engine::builtin();
    assert_allowed(&engine, "binary blobs in JSON", &binary_blobs());
    assert_blocked(
        &engine,
        "injections beside binary",
        &injections_beside_binary(),
    );
}

#[test]
fn search_phrases_in_beacon_urls_are_allowed() {
    let engine = Engine::builtin();
    assert_allowed(&engine, "beacon URLs", &beacon_urls());
    assert_blocked(&engine, "UNION SELECT in URLs", &union_select_in_urls());
}

#[test]
fn editor_buffers_with_indented_headers_are_allowed() {
    let engine = Engine::builtin();
    assert_allowed(&engine, "YAML editor buffers", &editor_buffers());
    assert_blocked(&engine, "header injection", &header_injections());
}

/// XMP packet wrappers (`<?xpacket begin="?" id="W5M0..."?>`) as image
/// editors and DAM uploaders copy them into metadata fields: the BOM inside
/// `begin=""` turns into a `?` through a charset round trip, and a lone `?`
/// between two quotes is a quoted literal, not PostgreSQL's jsonb `?`
/// operator standing between two operands.
fn xmp_packets() -> Vec<Request> {
    let mut out = Vec::new();
    let heads = ["xpacket", "XPACKET", "xPacket"];
    let ids = ["W5M0MpCehiHzreSzNTczkc9d", "test", "0", "xmp-1"];
    let fields = ["metadata", "xmp", "data", "meta[raw]"];
    for (i, head) in heads.iter().enumerate() {
        for (j, id) in ids.iter().enumerate() {
            let quote = ["\"", "'"][(i + j) % 2];
            let packet = format!("<?{head} begin={quote}?{quote} id={quote}{id}{quote}?>");
            let tail = [
                "",
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>",
                "<?xpacket end=\"w\"?>",
            ][j % 3];
            let field = fields[(i + j) % fields.len()];
            let value = format!("{packet}{tail}");
            out.push(post(
                "/upload",
                "application/x-www-form-urlencoded",
                &format!("{}={}", pct(field), pct(&value)),
            ));
            out.push(browser(Request::new(
                "GET",
                &format!("/meta?{}={}", pct(field), pct(&value)),
            )));
        }
    }
    out
}

/// The jsonb key operators between operands, as injected.
fn jsonb_key_operators() -> Vec<Request> {
    [
        "' ? '",
        "' ?| array['",
        "' ?& array['",
        "\" ? \"",
        "'?| array['",
    ]
    .iter()
    .map(|op| {
        let value = format!("x{op}a']::text[] --");
        browser(Request::new("GET", &format!("/get?q={}", pct(&value))))
    })
    .collect()
}

#[test]
fn xmp_packet_wrappers_are_allowed() {
    let engine = Engine::builtin();
    assert_allowed(&engine, "XMP packet wrappers", &xmp_packets());
    assert_blocked(&engine, "jsonb key operators", &jsonb_key_operators());
}

/// Reviews and comments where a clause after a semicolon starts with a
/// word that is also a shell command (more, less, set, find, type ...),
/// and login forms whose user-name field is called `uname`.
fn prose_after_semicolons() -> Vec<Request> {
    let heads = ["a hero", "I liked it", "ok", "the plot was thin", "fine"];
    let clauses = [
        "more than",
        "less than",
        "set up",
        "find out",
        "type A",
        "sort of",
        "head on",
        "last week",
        "start over",
        "make sense",
        "more or less",
    ];
    let mut out = Vec::new();
    for (i, head) in heads.iter().enumerate() {
        for clause in &clauses {
            let sep = ["; ", ";", " & "][i % 3];
            let body = format!("var={}", pct(&format!("{head}{sep}{clause}")));
            out.push(post("/post", "application/x-www-form-urlencoded", &body));
        }
    }
    for user in ["john doe", "jdoe", "admin@example.com"] {
        for name in ["uname", "env", "whoami"] {
            let body = format!("{name}={}&pass=x", pct(user));
            out.push(post("/login", "application/x-www-form-urlencoded", &body));
        }
    }
    out
}

/// The same words run as commands on files, after a separator.
fn commands_after_semicolons() -> Vec<Request> {
    [
        "x; more notes.txt",
        "x;less /etc/passwd",
        "x; find . -name '*.conf'",
        "x; type C:\\boot.ini",
        "x; head -n 5 secrets",
        "x|sort *.log",
        "x; cat flag",
        "x; ls tmp",
    ]
    .iter()
    .map(|v| {
        post(
            "/post",
            "application/x-www-form-urlencoded",
            &format!("var={}", pct(v)),
        )
    })
    .chain(["whoami", "uname -a", "time uname"].iter().map(|v| {
        post(
            "/post",
            "application/x-www-form-urlencoded",
            &format!("cmd={}", pct(v)),
        )
    }))
    .collect()
}

#[test]
fn prose_after_semicolons_is_allowed() {
    let engine = Engine::builtin();
    assert_allowed(&engine, "prose after semicolons", &prose_after_semicolons());
    assert_blocked(
        &engine,
        "commands after separators",
        &commands_after_semicolons(),
    );
}
