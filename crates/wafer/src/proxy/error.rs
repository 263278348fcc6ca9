//! What can go wrong while proxying, which side it was, and the status it becomes.

use http::StatusCode;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the upstream address is not usable: {0}")]
    BadUpstream(String),
    #[error("reading the request body from the client")]
    ClientBody(#[source] hyper::Error),
    #[error("the client sent no body data for {0:?}")]
    ClientBodyTimeout(Duration),
    #[error("the client sent {received} body bytes in {after:?}, under {min_rate} bytes/s")]
    ClientBodyTooSlow {
        received: u64,
        after: Duration,
        min_rate: u64,
    },
    #[error("connecting to the upstream {upstream}")]
    Connect {
        upstream: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("the upstream {upstream} failed the request")]
    Upstream {
        upstream: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("the upstream {upstream} sent no response within {after:?}")]
    UpstreamTimeout { upstream: String, after: Duration },
    #[error("building the upstream request")]
    BuildRequest(#[source] http::Error),
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ClientBody(_) => StatusCode::BAD_REQUEST,
            Self::ClientBodyTimeout(_) | Self::ClientBodyTooSlow { .. } => {
                StatusCode::REQUEST_TIMEOUT
            }
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::BadUpstream(_) | Self::BuildRequest(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Connect { .. } | Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// The whole chain of causes, for the log.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(self);
        while let Some(e) = cur {
            out.push_str(": ");
            out.push_str(&e.to_string());
            cur = e.source();
        }
        out
    }
}
