//! Set-up shared by tests that need the machine's real services. Behind the
//! `test-util` feature: it starts services (`service postgresql start`), which
//! a release binary must never do.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The local PostgreSQL server, as an admin connection string (`WAFER_TEST_PG` overrides).
pub fn postgres_admin_url() -> String {
    std::env::var("WAFER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Starts the local PostgreSQL server if it is not answering (as CI's fresh machine may need).
async fn ensure_postgres(admin: &str) -> tokio_postgres::Client {
    for attempt in 0..40 {
        match tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                return client;
            }
            Err(e) => {
                if attempt == 0 {
                    eprintln!("postgres not answering ({e}); trying to start it");
                    let _ = std::process::Command::new("service")
                        .args(["postgresql", "start"])
                        .status();
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    panic!("PostgreSQL at {admin} is not reachable; start it or set WAFER_TEST_PG");
}

/// A new, empty database for one test; returns its URL.
pub async fn postgres_database(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = postgres_admin_url();
    let client = ensure_postgres(&admin).await;
    let db = format!(
        "wafer_test_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    // Two statements: CREATE DATABASE cannot run in the implicit transaction of a batch.
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        client
            .batch_execute(&sql)
            .await
            .expect("creating a test database");
    }
    match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => panic!("WAFER_TEST_PG must end in /DATABASE"),
    }
}
