//! A URL to the site itself is not SSRF (issue 16): a WordPress login
//! reached by IP address sends `redirect_to=http://IP:PORT/wp-admin/`, which
//! is Wafer's own listener. Raw bytes over a real socket; the recorder says
//! what the upstream received.

use crate::harness::{Setup, Wafer};
use crate::recorder::{Recorder, send_raw, statuses};

fn login(host: &str, redirect_to: &str) -> Vec<u8> {
    let body = format!(
        "log=editor&pwd=correct+horse&wp-submit=Log+In&redirect_to={}&testcookie=1",
        redirect_to.replace(':', "%3A").replace('/', "%2F")
    );
    format!(
        "POST /wp-login.php HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_redirect_to_the_sites_own_address_is_forwarded_and_other_loopback_urls_are_not() {
    let rec = Recorder::start().await;
    let wafer = Wafer::start(rec.addr, Setup::default()).await;
    let own = format!("http://{}/wp-admin/", wafer.addr);

    let resp = send_raw(wafer.addr, &login(&wafer.addr.to_string(), &own)).await;
    assert_eq!(statuses(&resp), vec![200], "{resp}");
    assert!(
        rec.text().contains("redirect_to=http%3A%2F%2F127.0.0.1"),
        "the upstream got the login: {}",
        rec.text()
    );

    // The same request, its URL aimed at another port of the same host, or a
    // name: an internal service, whatever the Host header claims.
    for other in [
        "http://127.0.0.1:6379/wp-admin/".to_string(),
        format!("http://localhost:{}/wp-admin/", wafer.addr.port()),
        format!("http://x@{}/wp-admin/", wafer.addr),
    ] {
        let before = rec.requests().len();
        let resp = send_raw(wafer.addr, &login(&wafer.addr.to_string(), &other)).await;
        assert_eq!(statuses(&resp), vec![403], "{other}: {resp}");
        assert_eq!(rec.requests().len(), before, "{other} reached the upstream");
    }
}
