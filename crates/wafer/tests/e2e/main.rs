//! End-to-end tests over real loopback HTTP: a real origin server, Wafer in
//! front of it, real clients (HTTP/1.1, h2c, WebSocket, raw sockets).

mod acme;
mod admin;
mod admin_guard;
mod anomaly;
mod apps;
mod browser;
mod bypass;
mod cluster;
mod dashboard;
mod deploy;
mod events_bounds;
mod exhaustion;
mod geo;
mod h2raw;
mod harness;
mod own_url;
mod pools;
mod proxy;
mod recorder;
mod reload;
mod site_policy;
mod sites;
mod suggestions;
mod tls;
mod upstream_tls;
mod websocket;
