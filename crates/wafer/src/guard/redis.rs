//! One Redis link per node, shared by rate limits and bans: connected in the
//! background, reconnected by the connection manager, and skipped for a
//! second after a failure, so that an unreachable Redis costs no latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis call may take before the node decides alone.
pub const TIMEOUT: Duration = Duration::from_millis(100);
/// After a failure, how long this node works without Redis.
const BACKOFF_MS: u64 = 1_000;

pub struct RedisLink {
    client: redis::Client,
    conn: ArcSwapOption<ConnectionManager>,
    connecting: AtomicBool,
    down_until_ms: AtomicU64,
    pub errors: AtomicU64,
}

impl RedisLink {
    pub fn open(url: &str) -> Result<Arc<RedisLink>, String> {
        Ok(Arc::new(RedisLink {
            client: redis::Client::open(url).map_err(|e| format!("redis url {url:?}: {e}"))?,
            conn: ArcSwapOption::empty(),
            connecting: AtomicBool::new(false),
            down_until_ms: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }))
    }

    /// Connected and not backing off.
    pub fn up(&self) -> bool {
        self.conn.load().is_some()
            && self.down_until_ms.load(Ordering::Relaxed) <= crate::clock::now_ms()
    }

    /// A connection to use now, or `None` (not connected yet, or backing off:
    /// the caller decides alone). Starts connecting when there is none.
    pub fn conn(self: &Arc<Self>) -> Option<ConnectionManager> {
        if self.down_until_ms.load(Ordering::Relaxed) > crate::clock::now_ms() {
            return None;
        }
        match self.conn.load_full() {
            Some(c) => Some((*c).clone()),
            None => {
                self.connect();
                None
            }
        }
    }

    /// Records a failed call: the next second goes without Redis.
    pub fn failed(&self, what: &str, error: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let was_up = self
            .down_until_ms
            .swap(crate::clock::now_ms() + BACKOFF_MS, Ordering::Relaxed)
            <= crate::clock::now_ms();
        if was_up {
            tracing::warn!(
                error,
                "redis unreachable ({what}): this node decides alone for now"
            );
        }
    }

    /// Runs `call` with the timeout; `None` when Redis is not usable or failed.
    pub async fn run<T, F, Fut>(self: &Arc<Self>, what: &str, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn()?;
        match tokio::time::timeout(TIMEOUT, call(conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.failed(what, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(what, &format!("no answer in {} ms", TIMEOUT.as_millis()));
                None
            }
        }
    }

    /// Connects in the background.
    pub fn connect(self: &Arc<Self>) {
        if self.connecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(2);
            match ConnectionManager::new_with_config(me.client.clone(), cfg).await {
                Ok(c) => {
                    tracing::info!("connected to redis: limits and bans are shared");
                    me.conn.store(Some(Arc::new(c)));
                }
                Err(e) => me.failed("connecting", &e.to_string()),
            }
            me.connecting.store(false, Ordering::Release);
        });
    }
}
