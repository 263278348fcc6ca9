//! Step 1: what is refused before inspection. Framing a back end could read
//! another way (`hygiene`), then the door's checks in order (`guard::door`).

use http::{Request, StatusCode};
use hyper::body::Incoming;
use wafer_engine::Action;

use super::{RequestCtx, RespBody};
use crate::events::Event;
use crate::guard::door::Entry;
use crate::proxy::{Proxy, hygiene, respond};

pub(in crate::proxy) enum Admitted {
    /// On an allow-list: forwarded without inspection.
    Trusted,
    Inspect,
    /// Answered here.
    Refused(http::Response<RespBody>),
}

pub(in crate::proxy) async fn admit(
    proxy: &Proxy,
    ctx: &mut RequestCtx,
    req: &Request<Incoming>,
) -> Admitted {
    let id = ctx.id.as_str();
    if let Some(why) = hygiene::problem(req.version(), req.uri(), req.headers()) {
        ctx.record.action = Some(Action::Block);
        let status = StatusCode::BAD_REQUEST;
        let facts = ctx.facts((req.method(), req.uri(), req.headers()));
        let reason = format!("malformed request: {why}");
        let event = Event::guard(&facts, req.headers(), status.as_u16(), &reason);
        proxy.events.publish(event);
        return Admitted::Refused(respond::error(status, id, req.headers()));
    }
    ctx.record.action = Some(Action::Allow);
    let path = req.uri().path();
    let no = match proxy
        .door
        .check(
            &ctx.site_name,
            (&ctx.protection.ip_lists, &ctx.protection.throttle),
            ctx.client.ip,
            path,
            req.headers(),
        )
        .await
    {
        Entry::Trusted => return Admitted::Trusted,
        Entry::Inspect => return Admitted::Inspect,
        Entry::Refused(no) => no,
    };
    ctx.record.action = Some(Action::Block);
    if let Some(reason) = &no.report {
        let facts = ctx.facts((req.method(), req.uri(), req.headers()));
        let event = Event::guard(&facts, req.headers(), no.status.as_u16(), reason);
        proxy.events.publish(event);
    }
    Admitted::Refused(match no.retry_after_us {
        Some(us) => respond::limited(us, id, req.headers()),
        None => respond::blocked(no.status, id, req.headers()),
    })
}
