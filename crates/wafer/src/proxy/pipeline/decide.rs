//! Steps 3 and 4: the verdict, and what it sets off (the anomaly model's
//! statistics and learning, a ban strike, the event).

use http::StatusCode;
use wafer_engine::{Action, Verdict};

use super::RequestCtx;
use super::inspect::Inspection;
use crate::events::{Event, RequestFacts};
use crate::proxy::Proxy;

/// The verdict, and the time inspection took.
pub(in crate::proxy) struct Decision {
    pub(super) verdict: Verdict,
    pub(super) inspect_us: u64,
    /// Whether the event is kept (always, unless allowed and not sampled).
    recorded: bool,
}

impl Decision {
    /// The block page's status: the verdict's, 403 when it names none.
    pub(super) fn status(&self) -> StatusCode {
        self.verdict
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::FORBIDDEN)
    }
}

/// Step 3 for a request inspected whole: the anomaly model's score, then the verdict.
pub(in crate::proxy) fn decide(mut step: Inspection<'_>, ctx: &RequestCtx) -> Decision {
    step.score_model();
    conclude(step, ctx)
}

/// The verdict of a finished inspection (a streamed body was scored at its end).
pub(in crate::proxy) fn conclude(step: Inspection<'_>, ctx: &RequestCtx) -> Decision {
    let proxy = step.proxy;
    let verdict = step.tx.finish();
    proxy.anomaly.settle(step.scored, &verdict, ctx.client.ip);
    let recorded = verdict.action != Action::Allow || ctx.id.sampled(proxy.config.record_all);
    Decision {
        inspect_us: step.clock.total_us(),
        verdict,
        recorded,
    }
}

/// Step 4: a block may earn the client a ban, said on the request's own
/// event; the event is published when the request is recorded at all.
pub(in crate::proxy) async fn after_verdict(
    proxy: &Proxy,
    ctx: &RequestCtx,
    decision: &Decision,
    facts: impl FnOnce() -> RequestFacts,
    headers: &http::HeaderMap,
) {
    if !decision.recorded {
        return;
    }
    let facts = facts();
    let verdict = &decision.verdict;
    // The site's own ban settings, from the request's snapshot of its policy.
    let policy = &ctx.protection.throttle.bans;
    let ban = match verdict.action {
        Action::Block => {
            let bans = proxy.door.bans();
            bans.strike(facts.client_ip, &ctx.site_name, policy).await
        }
        _ => None,
    };
    let mut ev = Event::from_verdict(&facts, headers, decision.inspect_us, verdict);
    if let Some(b) = ban {
        let minutes = policy.duration_ms / 60_000;
        ev.reason = Some(format!("client banned for {minutes} min: {}", b.reason));
    }
    proxy.events.publish(ev);
}
