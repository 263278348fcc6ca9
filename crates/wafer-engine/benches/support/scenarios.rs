//! The requests the benchmarks inspect, shared by `benches/inspect.rs` and
//! `examples/inspect_count.rs`.

use wafer_engine::Request;

pub(crate) fn browser_get() -> Request {
    Request::new("GET", "/products/view?id=1234&ref=home&utm_source=newsletter")
        .header("Host", "shop.example")
        .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
        .header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .header("Accept-Language", "en-US,en;q=0.9")
        .header("Cookie", "_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark")
}

pub(crate) fn json_post() -> Request {
    let items: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"sku":"SKU-{i:05}","qty":{i},"note":"gift wrap please"}}"#))
        .collect();
    let body = format!(
        r#"{{"customer":{{"name":"Ada Lovelace","email":"ada@example.com"}},"items":[{}]}}"#,
        items.join(",")
    );
    Request::new("POST", "/api/orders")
        .header("Host", "shop.example")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Content-Length", &body.len().to_string())
        .body(body)
}

pub(crate) fn multipart_form(field_bytes: usize) -> Request {
    let boundary = "----WaferBenchBoundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    let words = "The quick brown fox jumps over the lazy dog while the shop restocks blue shoes. ";
    let mut i = 0;
    while body.len() < field_bytes {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"field{i}\"\r\n\r\n"
        ));
        body.push_str(&words.repeat(12));
        body.push_str("\r\n");
        i += 1;
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Request::new("POST", "/profile/update")
        .header("Host", "shop.example")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "text/html")
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .header("Content-Length", &body.len().to_string())
        .body(body)
}

pub(crate) fn json_body(bytes: usize) -> Request {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < bytes {
        let item = format!(
            r#"{{"id":{i},"title":"Item number {i}","tags":["red","blue"],"text":"plain words here"}}"#
        );
        len += item.len() + 1;
        items.push(item);
        i += 1;
    }
    let body = format!(r#"{{"items":[{}]}}"#, items.join(","));
    Request::new("POST", "/api/import")
        .header("Host", "shop.example")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("Content-Length", &body.len().to_string())
        .body(body)
}
