//! `GET /api/openapi.json`: the admin API described for tools and people.

use serde_json::{Value, json};

fn filter_params() -> Value {
    let p = |name: &str, schema: Value, desc: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": desc});
    json!([
        p(
            "from",
            json!({"type": "string"}),
            "Start: unix ms, RFC 3339 UTC (2026-12-01T10:00:00Z) or relative (-15m, -24h, -7d)."
        ),
        p(
            "to",
            json!({"type": "string"}),
            "End (exclusive), same forms as from."
        ),
        p("ip", json!({"type": "string"}), "Client IP address."),
        p(
            "action",
            json!({"type": "string", "enum": ["allow", "flag", "block"]}),
            "Decision."
        ),
        p(
            "class",
            json!({"type": "string"}),
            "Attack class of any finding (sqli, xss, rce, lfi, ...)."
        ),
        p(
            "rule",
            json!({"type": "integer"}),
            "Rule id of any finding."
        ),
        p("method", json!({"type": "string"}), "HTTP method."),
        p("path", json!({"type": "string"}), "Path prefix."),
        p("host", json!({"type": "string"}), "Host header."),
        p(
            "status",
            json!({"type": "integer"}),
            "Status Wafer answered with."
        ),
        p(
            "min_score",
            json!({"type": "integer"}),
            "Lowest anomaly score."
        ),
        p(
            "q",
            json!({"type": "string"}),
            "Free text, case-insensitive, anywhere in the event."
        ),
    ])
}

fn page_params() -> Vec<Value> {
    vec![
        json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["-ts", "ts", "-score"]}, "description": "Order; default newest first."}),
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}, "description": "Page size (default 50)."}),
        json!({"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page."}),
    ]
}

pub(crate) fn document() -> Value {
    let mut list_params = filter_params().as_array().cloned().unwrap_or_default();
    list_params.extend(page_params());
    let mut export_params = list_params.clone();
    export_params.push(json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": ["jsonl", "csv"]}}));
    let err = json!({"description": "Bad parameter (the message names it)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let unauth = json!({"description": "Missing or wrong admin token"});
    let site = json!({"name": "site", "in": "query", "required": false, "schema": {"type": "string"},
        "description": "The site (GET /api/sites lists them); absent: the default site, else the first"});
    let no_site = json!({"description": "No site has that name"});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Wafer admin API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Served on the admin listener only. Authenticate with `Authorization: Bearer TOKEN` or the session cookie set by /login. A change made with the session cookie must send JSON and come from this listener's own origin (Origin, or Sec-Fetch-Site: same-origin), else 403. After 5 wrong tokens a client gets 429 with Retry-After until its backoff has passed."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "session": {"type": "apiKey", "in": "cookie", "name": super::auth::COOKIE}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}, "details": {"type": "array", "items": {"type": "string"}}, "errors": {"type": "array", "description": "A refused policy's problems, each under the key the config file would name", "items": {"type": "object", "properties": {"key": {"type": "string"}, "message": {"type": "string"}}, "required": ["key", "message"]}}}, "required": ["error"]}}
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/events": {"get": {"summary": "Stored events, filtered and paged", "parameters": list_params,
                "responses": {"200": {"description": "{events: [...], next_cursor}"}, "400": err, "401": unauth}}},
            "/api/events/{id}": {"get": {"summary": "One event with every finding",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The event"}, "404": {"description": "No such event"}, "401": unauth}}},
            "/api/stats": {"get": {"summary": "Traffic series and top-N lists for a range",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string"}},
                    {"name": "to", "in": "query", "schema": {"type": "string"}},
                    {"name": "bucket", "in": "query", "schema": {"type": "string"}, "description": "60s, 5m, 1h ... (at least 1m)"},
                    {"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                "responses": {"200": {"description": "series, top_ips, top_paths, top_rules, top_classes, score_histogram"}, "400": err, "401": unauth}}},
            "/api/export": {"get": {"summary": "Events as JSON lines or CSV, same filters", "parameters": export_params,
                "responses": {"200": {"description": "A download"}, "400": err, "401": unauth}}},
            "/api/rules": {"get": {"summary": "Every rule and detector check: id, class, severity, paranoia, description, source, weak, crs (the OWASP CRS rules that detect the same construct), tags (CRS tags)",
                "responses": {"200": {"description": "{rules: [...]}"}, "401": unauth}}},
            "/api/policy": {
                "get": {"summary": "A site's policy in force, with an ETag; the site is named in X-Wafer-Site", "parameters": [site.clone()],
                        "responses": {"200": {"description": "Policy document"}, "401": unauth, "404": no_site.clone()}},
                "put": {"summary": "Replace a site's policy (validated whole, applied at once, saved, shared with the cluster); If-Match with the ETag refuses a stale edit. `apps` names the application profiles in force, `rate_limits` the site's limits ([{name, path, key, rate, burst}]), `bans` {after, within_secs, minutes}; each absent: unchanged",
                        "parameters": [site.clone(), {"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}}],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                        "responses": {"200": {"description": "The policy now in force"}, "400": err, "401": unauth, "404": no_site.clone(),
                                      "412": {"description": "The policy changed since that ETag"}}}},
            "/api/policy/exclusions": {"post": {"summary": "Turn rule(s) off on a path of a site: {path, rule} (rule: 942100 or 942100-942199); merged into that path's exclusion",
                "parameters": [site.clone()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["path", "rule"], "properties": {"path": {"type": "string"}, "rule": {"type": "string"}}}}}},
                "responses": {"200": {"description": "The policy now in force"}, "400": err, "401": unauth, "404": no_site.clone()}}},
            "/api/policy/ip": {"post": {"summary": "Put an address or CIDR on a site's allow or block list: {list: allow|block, cidr}",
                "parameters": [site.clone()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["list", "cidr"], "properties": {"list": {"type": "string", "enum": ["allow", "block"]}, "cidr": {"type": "string"}}}}}},
                "responses": {"200": {"description": "The policy now in force"}, "400": err, "401": unauth, "404": no_site}}},
            "/api/suggestions": {"get": {"summary": "Suggested exclusions from the recorded events: rules that fired in one place (path template, argument) for at least min_clients distinct clients (not banned) whose requests had nothing found elsewhere; one suggestion per place; each with evidence (clients, requests, first/last seen, matched examples, counter_evidence: requests where it came with another finding) and a preview (blocked events that would have passed). Already covered places are left out. At most max_events of the newest events in the window are read; truncated says when that cut the window",
                "parameters": [
                    site.clone(),
                    {"name": "min_clients", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 5}, "description": "Distinct clients needed."},
                    {"name": "window", "in": "query", "schema": {"type": "string", "default": "7d"}, "description": "How far back: 1h, 7d, 30d or ms (at least 1m)."},
                    {"name": "max_events", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": crate::suggest::MAX_EVENTS_LIMIT, "default": crate::suggest::DEFAULT_MAX_EVENTS}, "description": "Most events read (newest first)."}],
                "responses": {"200": {"description": "{suggestions: [{id, rules: [{rule_id, class, message, clients, requests}], path, location, exclusion: {path, rules, args}, evidence, preview}], scanned, max_events, truncated, from_ms, oldest_scanned_ms, min_clients, window_ms}"}, "400": err, "401": unauth}}},
            "/api/suggestions/accept": {"post": {"summary": "Accept a suggestion by id: {id, site?, min_clients?, window?, max_events?} (the parameters it was listed with); the list is recomputed and its exclusion added to the policy (saved, shared with the cluster)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "min_clients": {"type": "integer"}, "window": {"type": "string"}, "max_events": {"type": "integer"}}}}}},
                "responses": {"200": {"description": "{accepted: the suggestion, policy: the policy now in force}"}, "400": err, "401": unauth,
                              "404": {"description": "No such suggestion now (accepted, covered, or no longer supported)"}}}},
            "/api/apps": {"get": {"summary": "Application profiles: each with what it relaxes, whether it is in force (policy `apps`), requests matching its fingerprint since start (`seen`), and whether it is proposed (seen at least propose_after times, not in force)",
                "responses": {"200": {"description": "{propose_after, apps: [{name, title, about, enabled, seen, proposed, sessions, fingerprint, relaxes}]}"}, "401": unauth}}},
            "/api/sites": {"get": {"summary": "The sites served now: names, mode, threshold, HTTPS redirect and HSTS, balance, and each upstream server's state (up, down by its health check, or ejected after failures), weight, requests in flight and counts",
                "responses": {"200": {"description": "{sites: [{name, hosts, default, mode, threshold, https_redirect, hsts, balance, servers: [{url, weight, state, in_flight, requests, failures, ejections}], acme: {not_after_ms, last_error, retry_at_ms} or null}]}"}, "401": unauth}}},
            "/api/bans": {
                "get": {"summary": "Active bans and the automatic-ban policy", "responses": {"200": {"description": "{bans, policy, shared}"}, "401": unauth}},
                "post": {"summary": "Ban a client: {ip, minutes?, reason?}", "responses": {"201": {"description": "The ban"}, "400": err, "401": unauth}}},
            "/api/bans/{ip}": {"delete": {"summary": "Lift a ban", "parameters": [{"name": "ip", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Lifted"}, "404": {"description": "Not banned"}, "401": unauth}}},
            "/api/info": {"get": {"summary": "Version, node, start time, store, rule count, mode", "responses": {"200": {"description": "Node facts"}, "401": unauth}}},
            "/api/model": {"get": {"summary": "The anomaly model in use, the learning period, recent score distribution, trained models", "responses": {"200": {"description": "Model state"}, "401": unauth}}},
            "/api/model/activate": {"post": {"summary": "Activate a trained model: {version}; refused (400) when its format or feature schema differs",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["version"], "properties": {"version": {"type": "string"}}}}}},
                "responses": {"200": {"description": "Model state"}, "400": err, "404": {"description": "No such model"}, "401": unauth}}},
            "/api/model/rollback": {"post": {"summary": "Go back to the previously active model", "responses": {"200": {"description": "Model state"}, "400": err, "401": unauth}}},
            "/dashboard/": {"get": {"summary": "The dashboard (single-page app built into the binary)", "responses": {"200": {"description": "text/html"}, "303": {"description": "To /login when a browser has no session"}}}},
            "/events": {"get": {"summary": "Live events (Server-Sent Events); Last-Event-ID or last_event_id resumes", "parameters": filter_params(),
                "responses": {"200": {"description": "text/event-stream; event `waf` carries one event, `lagged` says how many were skipped"}, "401": unauth}}},
            "/ws": {"get": {"summary": "WebSocket tap: {type: event} and per-second {type: telemetry} messages", "parameters": filter_params(),
                "responses": {"101": {"description": "Switching protocols"}, "401": unauth}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text/plain"}, "401": unauth}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    })
}
