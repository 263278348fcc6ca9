//! NoSQL operator injection and GraphQL bodies, generated from their grammar.
//!
//! NoSQL: MongoDB operators × placements (query-name brackets, plain or
//! percent-encoded; form names; JSON keys, nested or top-level; JSON text in
//! a query value and in a JSON string) × values, and server-side JavaScript
//! built from string breakers × connectors × bodies × trailers. Each
//! sub-family must be blocked at ≥ 95 %; benign look-alikes (prices, OData
//! names, JSON Schema and .NET `$` keys, prose with `;` and `==`) must pass.
//!
//! GraphQL: benign documents (fragments, aliases, directives, variables,
//! field names that are SQL words) sent as `application/json`, batched, and
//! as `application/graphql` must pass; SQL injection, XSS and traversal
//! strings placed in argument literals, nested input objects, lists,
//! variable defaults and variables' values must be blocked.

mod common;

use common::{browser, pct};
use wafer_engine::{Action, Engine, Request};

fn engine() -> Engine {
    Engine::builtin()
}

fn get(uri: &str) -> Request {
    browser(Request::new("GET", uri))
}

fn post(uri: &str, ct: &str, body: &str) -> Request {
    browser(Request::new("POST", uri))
        .header("Content-Type", ct)
        .header("Content-Length", &body.len().to_string())
        .body(body.as_bytes().to_vec())
}

/// Blocks every request of `cases` but at most 5 %; returns the misses for the message.
fn assert_rate(engine: &Engine, family: &str, cases: &[Request]) {
    let missed: Vec<String> = cases
        .iter()
        .filter(|r| engine.inspect(r).action != Action::Block)
        .map(|r| format!("{} {}", r.target, String::from_utf8_lossy(&r.body)))
        .collect();
    let rate = 1.0 - missed.len() as f64 / cases.len() as f64;
    println!("{family}: {:.1} % of {}", rate * 100.0, cases.len());
    assert!(
        rate >= 0.95,
        "{family}: {:.1} % of {} blocked; missed e.g. {:?}",
        rate * 100.0,
        cases.len(),
        &missed[..missed.len().min(10)]
    );
}

fn assert_allowed(engine: &Engine, family: &str, cases: &[Request]) {
    let blocked: Vec<String> = cases
        .iter()
        .filter_map(|r| {
            let v = engine.inspect(r);
            (v.action == Action::Block).then(|| {
                let why: Vec<String> = v
                    .findings
                    .iter()
                    .map(|f| format!("{} {:?}", f.rule_id, f.matched))
                    .collect();
                format!(
                    "{} {} => {why:?}",
                    r.target,
                    String::from_utf8_lossy(&r.body)
                )
            })
        })
        .collect();
    println!(
        "{family}: {} benign, {} blocked",
        cases.len(),
        blocked.len()
    );
    assert!(blocked.is_empty(), "{family}: blocked {blocked:#?}");
}

const OPERATORS: &[&str] = &[
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "regex",
    "where",
    "exists",
    "in",
    "nin",
    "not",
    "or",
    "and",
    "nor",
    "expr",
    "elemMatch",
    "function",
    "accumulator",
    "all",
    "size",
    "eq",
];
const FIELDS: &[&str] = &["user", "username", "password", "email", "id"];
const VALUES: &[&str] = &["", "1", "admin", ".*", "true", "null"];

#[test]
fn operators_in_query_and_form_names() {
    let e = engine();
    let mut query = Vec::new();
    let mut form = Vec::new();
    for (i, op) in OPERATORS.iter().enumerate() {
        for (j, field) in FIELDS.iter().enumerate() {
            let value = VALUES[(i + j) % VALUES.len()];
            let name = format!("{field}[${op}]");
            let spelled = match (i + j) % 3 {
                0 => name.clone(),
                1 => pct(&name),
                _ => name.replace('$', "%24"),
            };
            query.push(get(&format!("/login?{spelled}={}&next=%2F", pct(value))));
            form.push(post(
                "/login",
                "application/x-www-form-urlencoded",
                &format!("{spelled}={}&remember=1", pct(value)),
            ));
        }
        query.push(get(&format!("/api/items?${op}[0][owner]=me")));
    }
    assert_rate(&e, "query-name brackets", &query);
    assert_rate(&e, "form-name brackets", &form);
}

#[test]
fn operators_in_json() {
    let e = engine();
    let json_values = [
        "null",
        "\"\"",
        "1",
        "\"admin\"",
        "\"^a.*\"",
        "true",
        "[\"a\",\"b\"]",
    ];
    let mut nested = Vec::new();
    let mut as_text = Vec::new();
    for (i, op) in OPERATORS.iter().enumerate() {
        for (j, field) in FIELDS.iter().enumerate() {
            let v = json_values[(i + j) % json_values.len()];
            let body = match (i + j) % 3 {
                0 => format!(r#"{{"{field}": {{"${op}": {v}}}, "remember": true}}"#),
                1 => format!(r#"{{"filter": {{"{field}": {{"${op}": {v}}}}}}}"#),
                _ => format!(r#"{{"${op}": [{{"{field}": {v}}}]}}"#),
            };
            nested.push(post("/api/login", "application/json", &body));
            let text = format!(r#"{{"{field}":{{"${op}":{v}}}}}"#);
            as_text.push(get(&format!("/api/users?filter={}", pct(&text))));
            let escaped = text.replace('"', "\\\"");
            as_text.push(post(
                "/api/search",
                "application/json",
                &format!(r#"{{"where": "{escaped}"}}"#),
            ));
        }
    }
    nested.push(post(
        "/api/q",
        "application/json",
        r#"{"$where": "this.password.length > 0"}"#,
    ));
    nested.push(post(
        "/api/q",
        "application/json",
        r#"{"x": {"$function": {"body": "function(){ return true }", "args": [], "lang": "js"}}}"#,
    ));
    assert_rate(&e, "JSON operator keys", &nested);
    assert_rate(&e, "operator JSON text in values", &as_text);
}

#[test]
fn server_side_javascript() {
    let e = engine();
    let breakers = ["'", "\"", "1'", "0"];
    let connectors = [";", " || ", " && "];
    let bodies = [
        "return true",
        "sleep(5000)",
        "this.password.match(/^a/)",
        "while(true){}",
        "'a'=='a",
        "this.role != 'user'",
        "db.users.drop()",
    ];
    let trailers = ["", "; var x='", "//", " || '"];
    let mut cases = Vec::new();
    for (i, b) in breakers.iter().enumerate() {
        for (j, c) in connectors.iter().enumerate() {
            for (k, body) in bodies.iter().enumerate() {
                // `x' || return true` is not JavaScript: a statement needs `;`.
                if body.starts_with("return") && *c != ";" {
                    continue;
                }
                let t = trailers[(i + j + k) % trailers.len()];
                let payload = format!("{b}{c}{body}{t}");
                cases.push(get(&format!("/users?name={}", pct(&payload))));
                let escaped = payload.replace('\\', "\\\\").replace('"', "\\\"");
                cases.push(post(
                    "/api/users",
                    "application/json",
                    &format!(r#"{{"name": "{escaped}"}}"#),
                ));
            }
        }
    }
    assert_rate(&e, "server-side JavaScript", &cases);
}

#[test]
fn nosql_look_alikes_pass() {
    let e = engine();
    let mut cases = Vec::new();
    for q in [
        "price=$10",
        "q=cost+%2410-%2420",
        "amount=US%241%2C200.00",
        "$filter=Name+eq+%27x%27&$top=10&$select=a,b&$count=true&$orderby=name",
        "$skip=20&$expand=Orders&$search=blue",
        "q=this+is+great%3B+return+it+if+unhappy",
        "q=x+%3D%3D+y",
        "note=Save+%245%3A+today+only",
        "sort[price]=asc&page[size]=20",
        "filter[status]=open&filter[tags][]=a",
    ] {
        cases.push(get(&format!("/shop?{q}")));
    }
    for body in [
        r##"{"$schema": "http://json-schema.org/draft-07/schema#", "$id": "https://example.com/p.json", "type": "object", "properties": {"a": {"$ref": "#/definitions/a"}}, "$comment": "v2"}"##,
        r#"{"$type": "Shop.Order, Shop", "$values": [1, 2]}"#,
        r#"{"price": "$19.99", "note": "Save $5: today only", "currency": "US$"}"#,
        r#"{"text": "Is this right? a == b; return it later", "total": "$1,200"}"#,
    ] {
        cases.push(post("/api/save", "application/json", body));
    }
    cases.push(post(
        "/contact",
        "application/x-www-form-urlencoded",
        "msg=It+costs+%2440%3B+is+that+right%3F+a+%3D%3D+b+in+math&price=%2499",
    ));
    assert_allowed(&e, "nosql look-alikes", &cases);
}

const BENIGN_GRAPHQL: &[&str] = &[
    "query GetUser($id: ID!) { user(id: $id) { id name ...UserParts __typename } } fragment UserParts on User { email avatar(size: 64) }",
    "{ me { name friends(first: 10, orderBy: NAME_ASC) @include(if: $withFriends) { edges { node { id } } } } }",
    "query Search($q: String = \"shoes\") { search(text: $q, select: ALL) { ... on Product { id price union order } ... on Category { id } } }",
    "mutation Create($input: OrderInput!) { createOrder(input: $input) { order { id total } errors { field message } } }",
    "query { a: product(id: \"p-1\") { name } b: product(id: \"p-2\") { name } }",
    "query Feed @cached(ttl: 60) { posts(where: {status: PUBLISHED, tags: [\"news\", \"tech\"]}, limit: 20) { id title body(format: MARKDOWN) } }",
    "subscription OnEvent { event(filter: {kind: \"order\"}) { id at } }",
    "# fetch the cart\nquery Cart { cart { items { product { id name } quantity } total(currency: \"USD\") } }",
    "query { select: node(id: \"1\") { id } drop: node(id: \"2\") { id } delete: node(id: \"3\") { id } }",
    "query Q { users(order: {by: \"created_at\", direction: DESC}, or: [{name: \"a\"}]) { id } }",
];

fn json_request(doc: &str, variables: &str) -> String {
    let q = doc
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!(r#"{{"operationName": null, "query": "{q}", "variables": {variables}}}"#)
}

#[test]
fn benign_graphql_passes() {
    let e = engine();
    let mut cases = Vec::new();
    let variables = r#"{"id": "42", "withFriends": true, "input": {"items": [{"sku": "A-1", "qty": 2}], "note": "Leave at the door, please"}}"#;
    for doc in BENIGN_GRAPHQL {
        cases.push(post(
            "/graphql",
            "application/json",
            &json_request(doc, variables),
        ));
        cases.push(post("/graphql", "application/graphql", doc));
    }
    let batch: Vec<String> = BENIGN_GRAPHQL[..4]
        .iter()
        .map(|d| json_request(d, "{}"))
        .collect();
    cases.push(post(
        "/graphql",
        "application/json",
        &format!("[{}]", batch.join(",")),
    ));
    assert_allowed(&e, "benign GraphQL", &cases);
}

const ATTACKS: &[&str] = &[
    "1' OR '1'='1' -- ",
    "1 UNION SELECT username, password FROM users--",
    "x'; DROP TABLE users; --",
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fshadow",
    "1' AND SLEEP(5)#",
];

fn gql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[test]
fn attacks_in_graphql_values_are_found() {
    let e = engine();
    let mut cases = Vec::new();
    for a in ATTACKS {
        let lit = gql_string(a);
        let docs = [
            format!("query {{ user(id: \"{lit}\") {{ id name }} }}"),
            format!("mutation {{ createOrder(input: {{note: \"{lit}\", qty: 1}}) {{ id }} }}"),
            format!("{{ search(tags: [\"ok\", \"{lit}\"]) {{ ... on Product {{ id }} }} }}"),
            format!("query Q($q: String = \"{lit}\") {{ search(text: $q) {{ id }} }}"),
            format!("{{ file(path: \"{lit}\") @include(if: true) {{ size }} }}"),
        ];
        for d in &docs {
            cases.push(post("/graphql", "application/json", &json_request(d, "{}")));
            cases.push(post("/graphql", "application/graphql", d));
        }
        let json_value = a.replace('\\', "\\\\").replace('"', "\\\"");
        let vars = format!(r#"{{"id": "{json_value}"}}"#);
        cases.push(post(
            "/graphql",
            "application/json",
            &json_request("query U($id: ID!) { user(id: $id) { id } }", &vars),
        ));
        let batch = format!(
            "[{}, {}]",
            json_request("{ me { id } }", "{}"),
            json_request(&docs[0], "{}")
        );
        cases.push(post("/graphql", "application/json", &batch));
    }
    assert_rate(&e, "attacks in GraphQL values", &cases);
}

#[test]
fn a_malformed_or_huge_graphql_document_is_still_inspected() {
    let e = engine();
    let broken = "query { user(id: \"1' UNION SELECT password FROM users--\") { id ";
    let huge = format!(
        "{{ a(x: \"{}\") b(y: \"<script>alert(1)</script>\") }}",
        "z".repeat(300 * 1024)
    );
    for doc in [broken, huge.as_str()] {
        for r in [
            post("/graphql", "application/graphql", doc),
            post("/graphql", "application/json", &json_request(doc, "{}")),
        ] {
            assert_eq!(e.inspect(&r).action, Action::Block, "{}", &doc[..60]);
        }
    }
}
