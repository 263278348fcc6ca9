use super::features::idx;
use super::*;
use crate::Request;

/// Normal-ish synthetic vectors: every feature a small noisy value.
fn normal(rng: &mut SplitMix64, n: usize) -> Vec<Features> {
    (0..n)
        .map(|_| {
            let mut v = [0f32; N];
            for (i, x) in v.iter_mut().enumerate() {
                // Sum of uniforms: roughly normal around i.
                let u: f64 = (0..4).map(|_| rng.unit()).sum::<f64>() - 2.0;
                *x = i as f32 + u as f32;
            }
            v
        })
        .collect()
}

fn params(seed: u64) -> ForestParams {
    ForestParams {
        seed,
        ..ForestParams::default()
    }
}

#[test]
fn same_seed_same_forest_other_seed_other_forest() {
    let data = normal(&mut SplitMix64::new(1), 2000);
    let a = Forest::fit(&data, &params(7)).unwrap();
    let b = Forest::fit(&data, &params(7)).unwrap();
    let c = Forest::fit(&data, &params(8)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let probe = &data[..50];
    let sa: Vec<f64> = probe.iter().map(|x| a.score(x)).collect();
    let sb: Vec<f64> = probe.iter().map(|x| b.score(x)).collect();
    let sc: Vec<f64> = probe.iter().map(|x| c.score(x)).collect();
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
}

#[test]
fn outliers_score_higher_than_inliers() {
    let mut rng = SplitMix64::new(2);
    let data = normal(&mut rng, 5000);
    let f = Forest::fit(&data, &params(3)).unwrap();
    let inliers = normal(&mut rng, 200);
    let max_in = inliers.iter().map(|x| f.score(x)).fold(0.0, f64::max);
    let mean_in = inliers.iter().map(|x| f.score(x)).sum::<f64>() / 200.0;
    // Far off on four features of 33: above every inlier. (Three times in
    // four a tree's path splits on none of them, which is why fewer is
    // weaker, see the next check.)
    for k in [0, 5, 17, N - 4] {
        let mut x = inliers[0];
        for v in &mut x[k..k + 4] {
            *v += 25.0;
        }
        let s = f.score(&x);
        assert!(
            s > max_in,
            "features {k}..: outlier {s} <= inlier max {max_in}"
        );
        assert!(s < 1.0, "outlier score {s}");
    }
    // Far off on one feature of 33: only above the typical inlier.
    let mut x = inliers[0];
    x[9] += 25.0;
    assert!(f.score(&x) > mean_in, "{} vs {mean_in}", f.score(&x));
    assert!(mean_in < 0.5, "inlier mean {mean_in}");
}

#[test]
fn threshold_gives_about_the_target_fpr_on_held_out_data() {
    let mut rng = SplitMix64::new(4);
    let train = normal(&mut rng, 20_000);
    let held = normal(&mut rng, 20_000);
    let m = Model::from_vectors(
        &train,
        RouteProfiles::default(),
        &params(5),
        0.01,
        1_700_000_000_000,
    )
    .unwrap();
    let over = held
        .iter()
        .filter(|x| m.score_features(x).anomalous)
        .count();
    let fpr = over as f64 / held.len() as f64;
    // 1 % target; 20,000 samples give a standard error of 0.07 %.
    assert!((0.005..0.02).contains(&fpr), "held-out FPR {fpr}");
    assert!(m.score_quantiles.p50 <= m.score_quantiles.p99);
    assert!(m.score_quantiles.p99 <= m.score_quantiles.max);
}

#[test]
fn degenerate_input_is_an_error_or_a_plain_score() {
    assert_eq!(
        Forest::fit(&[], &ForestParams::default()),
        Err(FitError::Empty)
    );
    assert!(matches!(
        Forest::fit(&[[0.0; N]], &ForestParams::default()),
        Err(FitError::TooFew { got: 1 })
    ));
    let zero = ForestParams {
        trees: 0,
        ..ForestParams::default()
    };
    assert!(matches!(
        Forest::fit(&[[0.0; N]; 4], &zero),
        Err(FitError::Params(_))
    ));
    // All equal: nothing to split, every point is average.
    let f = Forest::fit(&vec![[1.0; N]; 300], &ForestParams::default()).unwrap();
    let s = f.score(&[1.0; N]);
    assert!(s.is_finite() && s > 0.0 && s < 1.0);
    // NaN and infinities in training or scoring do not leak.
    let mut data = normal(&mut SplitMix64::new(9), 500);
    data[3][0] = f32::NAN;
    data[4][1] = f32::INFINITY;
    let f = Forest::fit(&data, &ForestParams::default()).unwrap();
    let mut x = [f32::NAN; N];
    x[2] = f32::NEG_INFINITY;
    let s = f.score(&x);
    assert!(s.is_finite() && s > 0.0 && s < 1.0, "{s}");
    assert!(matches!(
        Model::from_vectors(
            &data,
            RouteProfiles::default(),
            &ForestParams::default(),
            0.0,
            0
        ),
        Err(TrainError::TargetFpr(_))
    ));
    assert!(Model::train(&[], &ForestParams::default(), 0.001, 0).is_err());
}

#[test]
fn route_templates_collapse_ids_and_keep_words() {
    let cases = [
        (
            "/users/123/orders/9f86d081884c7d65",
            "/users/{id}/orders/{id}",
        ),
        ("/", "/"),
        ("", ""),
        ("/api/v2/items/", "/api/v2/items/"),
        (
            "/u/550e8400-e29b-41d4-a716-446655440000/avatar.png",
            "/u/{uuid}/avatar.png",
        ),
        ("/invite/ada@example.com", "/invite/{email}"),
        ("/t/eyJhbGciOiJIUzI1NiJ9abc123XYZ", "/t/{id}"),
        ("/docs/getting-started-2", "/docs/getting-started-2"),
        ("/blog/facade/deadbeef", "/blog/facade/deadbeef"),
        ("/c/a1b2c3d4e5", "/c/{id}"),
    ];
    for (path, want) in cases {
        assert_eq!(route_template(path), want, "{path}");
    }
    let deep = "/a".repeat(100);
    let t = route_template(&deep);
    assert!(t.ends_with("/{more}") && t.len() < 60, "{t}");
    let long = format!("/x/{}", "y".repeat(500));
    assert_eq!(route_template(&long), "/x/{id}");
}

fn get(target: &str) -> Request {
    Request::new("GET", target)
        .header("Host", "shop.example")
        .header("User-Agent", "Mozilla/5.0")
        .header("Accept", "text/html")
}

/// A site: `/products/{id}?ref=home&page=N` and `/search?q=words`.
fn site(n: usize) -> Vec<Request> {
    let words = ["shoes", "blue", "red hat", "socks", "gift card", "coat"];
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                get(&format!(
                    "/search?q={}",
                    words[i % words.len()].replace(' ', "+")
                ))
            } else {
                get(&format!("/products/{}?ref=home&page={}", 1000 + i, i % 9))
            }
        })
        .collect()
}

#[test]
fn route_features_flag_unknown_names_and_shapes() {
    let train = site(600);
    let m = Model::train(&train, &ForestParams::default(), 0.001, 0).unwrap();
    assert!(m.routes.get("/products/{id}").is_some());
    let ok = m.features(&get("/products/77?ref=home&page=3"));
    assert_eq!(ok[idx::ROUTE_UNSEEN], 0.0);
    assert_eq!(ok[idx::ROUTE_UNKNOWN], 0.0);
    assert_eq!(ok[idx::ROUTE_SHAPE], 0.0);

    let odd = m.features(&get("/products/77?ref=home&debug=1&cmd=ls"));
    assert!(
        (odd[idx::ROUTE_UNKNOWN] - 2.0 / 3.0).abs() < 1e-6,
        "{odd:?}"
    );

    let sqli = m.features(&get("/products/77?ref=home&page=3%20UNION%20SELECT%201"));
    assert_eq!(sqli[idx::ROUTE_SHAPE], 1.0); // log2(1 + 1)
    assert!(sqli[idx::ROUTE_Z] >= 4.0, "{}", sqli[idx::ROUTE_Z]); // z = 15, log2(16)
    assert!(sqli[idx::TOK_FIRST + 7] >= 1.5, "sql tokens");

    let unseen = m.features(&get("/admin/config.php?x=1"));
    assert_eq!(unseen[idx::ROUTE_UNSEEN], 1.0);

    // And the model as a whole prefers the normal request.
    let s_ok = m.score(&get("/products/77?ref=home&page=3"));
    let s_bad = m.score(&get(
        "/products/77?ref=home&page=3%27%20UNION%20SELECT%20password%20FROM%20users--",
    ));
    assert!(s_bad.score > s_ok.score, "{s_bad:?} vs {s_ok:?}");
    assert!(s_bad.anomalous && !s_ok.anomalous, "{s_bad:?} vs {s_ok:?}");
    assert!(!s_bad.top.is_empty() && s_bad.top.len() <= 3);
    // The explanation names what changed: the value's length or its tokens.
    assert!(
        s_bad.top.iter().any(|(n, _, _)| n.starts_with("log_tok_")
            || *n == "log_route_len_z_max"
            || *n == "log_route_shape_mismatch"),
        "{:?}",
        s_bad.top
    );
    assert!(s_bad.top.windows(2).all(|w| w[0].2 >= w[1].2));
}

#[test]
fn feature_basics() {
    let none = RouteProfiles::default();
    let r = Request::new("POST", "/a/b/c?x=%41%42&y=2")
        .header("Content-Type", "application/json")
        .header("Cookie", "a=1; b=2")
        .body(r#"{"user":{"name":"<script>"},"items":[1,2]}"#);
    let f = extract(&r, &none);
    let get = |name: &str| f[FEATURE_NAMES.iter().position(|n| *n == name).unwrap()];
    assert_eq!(get("method"), 1.0);
    assert_eq!(get("content_type"), 2.0);
    assert_eq!(get("path_depth"), 3.0);
    assert_eq!(get("log_cookie_count"), 3f32.log2()); // log2(1 + 2)
    assert_eq!(get("log_arg_count"), 6f32.log2()); // x, y, user.name, items.0, items.1
    assert_eq!(get("log_tok_angle"), 1.0);
    assert_eq!(get("log_tok_script"), 1.0);
    assert_eq!(get("pct_encoded_ratio"), 0.5); // 6 of 12 query bytes
    assert_eq!(get("route_unseen"), 1.0);
    // Array indexes are one name.
    let a = features::args(&r);
    assert!(a.pairs.iter().filter(|(k, _)| k == "items.*").count() == 2);
    // Decoded before measuring: `%41%42` is `AB`, two upper-case letters.
    assert!(a.pairs.iter().any(|(k, v)| k == "x" && v == "AB"));
}

#[test]
fn hostile_requests_do_not_panic_and_stay_bounded() {
    let none = RouteProfiles::default();
    let huge = format!("/q?a={}", "%27".repeat(1 << 20));
    let many: String = (0..10_000).map(|i| format!("k{i}=v&")).collect();
    let many_body: String = (0..10_000).map(|i| format!("\"k{i}\":{i},")).collect();
    let cases = vec![
        Request::default(),
        Request::new("", ""),
        get(&huge),
        get(&format!("/q?{many}")),
        Request::new("POST", "/f")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(many.clone()),
        Request::new("POST", "/j")
            .header("Content-Type", "application/json")
            .body(format!("{{{many_body}\"z\":0}}")),
        Request::new("POST", "/j")
            .header("Content-Type", "application/json")
            .body("[".repeat(100_000)),
        Request::new("POST", "/b").body(vec![0xff, 0xfe, 0x00, 0xc0, 0xaf, 0x80]),
        Request::new("POST", "/x")
            .header("Content-Type", "text/xml")
            .body(vec![0xffu8; 200_000]),
        get(&format!("/{}", "é/".repeat(10_000))),
    ];
    let m = Model::train(&site(300), &ForestParams::default(), 0.001, 0).unwrap();
    for r in &cases {
        let a = features::args(r);
        assert!(a.pairs.len() <= features::MAX_ARGS);
        assert!(a.pairs.iter().all(|(_, v)| v.len() <= features::MAX_VALUE));
        let f = extract(r, &none);
        assert!(f.iter().all(|x| x.is_finite()), "{f:?}");
        let s = m.score(r);
        assert!(s.score > 0.0 && s.score < 1.0);
    }
    // Counts past the cap are still estimated, not stuck at 64.
    let f = extract(&cases[3], &none);
    assert!((f[9].exp2() - 10_001.0).abs() <= 1.5, "{}", f[9]);
    assert!(m.score(&cases[3]).anomalous);
}

#[test]
fn model_round_trips_and_refuses_other_versions() {
    let m = Model::train(&site(300), &ForestParams::default(), 0.001, 1234).unwrap();
    assert_eq!(m.samples, 300);
    assert_eq!(m.fingerprint.len(), 16);
    let json = m.to_json();
    let back = Model::from_json(&json).unwrap();
    assert_eq!(back, m);
    let r = get("/products/5?ref=x&page=1");
    assert_eq!(back.score(&r), m.score(&r));
    // Same data, same seed: same bytes.
    let again = Model::train(&site(300), &ForestParams::default(), 0.001, 1234).unwrap();
    assert_eq!(again.to_json(), json);

    let wrong = json.replacen(
        &format!("\"schema_version\":{SCHEMA_VERSION}"),
        "\"schema_version\":999",
        1,
    );
    let e = Model::from_json(&wrong).unwrap_err().to_string();
    assert!(
        e.contains("schema version 999") && e.contains(&format!("schema {SCHEMA_VERSION}")),
        "{e}"
    );
    let wrong = json.replacen(
        &format!("\"format_version\":{FORMAT_VERSION}"),
        "\"format_version\":0",
        1,
    );
    let e = Model::from_json(&wrong).unwrap_err().to_string();
    assert!(e.contains("format version 0"), "{e}");
    assert!(matches!(Model::from_json("{}"), Err(LoadError::Json(_))));
    // A forest whose child index points outside is refused, not a panic later.
    let bad = json.replacen("\"left\":[", "\"left\":[999999999,", 1);
    assert!(Model::from_json(&bad).is_err());
}

#[test]
fn profiles_are_bounded_and_shapes_widen() {
    use super::route::{Learner, RouteParams};
    let mut l = Learner::default();
    let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    // One more request than the others, so it is among the routes kept.
    for _ in 0..21 {
        l.add("/wide", names.iter().map(|n| (n.as_str(), "1")));
    }
    for r in 0..2100 {
        let t = format!("/r{r}");
        for _ in 0..20 {
            l.add(&t, std::iter::once(("a", "1")));
        }
    }
    let p = l.finish(RouteParams::default());
    assert_eq!(p.routes.len(), 2000);
    assert_eq!(p.routes["/wide"].names.len(), 64);

    assert!(Shape::Digits.fits(Shape::Hex) && Shape::Digits.fits(Shape::Alnum));
    assert!(Shape::Alpha.fits(Shape::Text) && !Shape::Text.fits(Shape::Alnum));
    assert!(!Shape::Alpha.fits(Shape::Digits));
    assert_eq!(Shape::of("123"), Shape::Digits);
    assert_eq!(Shape::of("9f86d0"), Shape::Hex);
    assert_eq!(Shape::of("SKU-00001"), Shape::Alnum);
    assert_eq!(Shape::of("1 OR 1=1"), Shape::Text);
    // A name seen with digits 97 % of the time and words 3 %: words are
    // unusual (below 5 %), digits and empty values are not.
    let mut l = Learner::default();
    for i in 0..100 {
        let v = if i < 97 { "42" } else { "abc" };
        l.add("/x", std::iter::once(("id", v)));
    }
    let p = l.finish(RouteParams::default());
    let id = &p.routes["/x"].names["id"];
    assert_eq!(id.dominant(), Shape::Digits);
    assert!(id.unusual(Shape::Alpha) && id.unusual(Shape::Text));
    assert!(!id.unusual(Shape::Digits) && !id.unusual(Shape::Empty));
}

/// The proxy reuses the engine's parse of the body; training parses again.
/// Both must give the same features, or models would see other numbers at run
/// time than they were trained on.
#[test]
fn reusing_the_engines_body_parse_gives_the_same_features() {
    use crate::body::{self, BodyLimits};
    let json_items: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"sku":"SKU-{i:05}","qty":{i},"note":"gift%20wrap"}}"#))
        .collect();
    let many: Vec<String> = (0..300).map(|i| format!(r#""k{i}":"v{i}""#)).collect();
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let bodies = [
        ("application/json", format!(r#"{{"items":[{}],"q":"a' or 1=1"}}"#, json_items.join(","))),
        ("application/json", format!("{{{}}}", many.join(","))),
        ("application/json", deep),
        ("application/json", format!(r#"{{"big":"{}"}}"#, "x".repeat(70_000))),
        ("application/xml", "<a><b id=\"1\">text</b><c>more &amp; more</c></a>".to_owned()),
        (
            "multipart/form-data; boundary=XyZ",
            "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello world\r\n--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n42\r\n--XyZ--\r\n".to_owned(),
        ),
        ("application/x-www-form-urlencoded", "a=1&b=two%20words".to_owned()),
    ];
    let routes = RouteProfiles::default();
    for (ct, body_text) in bodies {
        let req = Request::new("POST", "/api/x?y=1")
            .header("Host", "h")
            .header("Content-Type", ct)
            .body(body_text.clone());
        let parsed = body::parse(Some(ct), &req.body, false, &BodyLimits::default());
        let values: Vec<_> = crate::view::body_values(parsed.args).collect();
        let fresh = extract(&req, &routes);
        let reused = super::features::extract_with(&req, Some(&values), &routes);
        assert_eq!(
            fresh,
            reused,
            "{ct}: {}",
            &body_text[..body_text.len().min(60)]
        );
    }
}

/// The learning period keeps samples, not requests: their features against
/// any routes must be what scoring the request computes, and their size must
/// not grow with what the request carries.
#[test]
fn samples_give_the_requests_features_and_stay_small() {
    use crate::body::{self, BodyLimits};
    let m = Model::train(&site(600), &ForestParams::default(), 0.001, 0).unwrap();
    let json = r#"{"items":[{"sku":"SKU-1","qty":2}],"note":"gift wrap"}"#;
    let long_names: String = (0..100)
        .map(|i| format!("{}{i}=v&", "n".repeat(300)))
        .collect();
    let mut requests = site(30);
    requests.extend([
        get("/products/77?ref=home&page=3"),
        get("/products/77?ref=%27%20union%20select&zzz=1"),
        get(&format!("/{}", "seg/".repeat(100))),
        get("/search?q=shoes").header("X-Big", &"h".repeat(60 * 1024)),
        Request::new("POST", &format!("/f?{long_names}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(long_names.clone()),
        Request::new("POST", "/api/cart")
            .header("Content-Type", "application/json")
            .body(json),
        Request::default(),
    ]);
    for r in &requests {
        let s = Sample::of(r);
        assert_eq!(s.features(&m.routes), m.features(r), "{}", r.target.len());
        assert_eq!(m.score_sample(&s), m.score(r));
        assert!(s.bytes() <= Sample::MAX_BYTES, "{} bytes", s.bytes());
        let parsed = body::parse(
            r.header_value("content-type"),
            &r.body,
            false,
            &BodyLimits::default(),
        );
        let values: Vec<_> = crate::view::body_values(parsed.args).collect();
        assert_eq!(
            Sample::of_with(r, Some(&values)),
            s,
            "reusing the body parse"
        );
    }
    let big_header = Sample::of(&requests[33]);
    assert!(big_header.bytes() < 300, "{} bytes", big_header.bytes());
    let fattest = Sample::of(&requests[34]);
    assert!(
        fattest.bytes() > Sample::MAX_BYTES / 2,
        "{}",
        fattest.bytes()
    );
    const { assert!(Sample::MAX_BYTES < 16 * 1024) };
    // Training on samples is training on the requests.
    let samples: Vec<Sample> = site(600).iter().map(Sample::of).collect();
    let from_samples = Model::train_samples(&samples, &ForestParams::default(), 0.001, 0).unwrap();
    assert_eq!(from_samples, m);
    assert!(Model::train_samples(&[], &ForestParams::default(), 0.001, 0).is_err());
}
