//! Wafer, the server: everything with I/O around the engine.

pub mod admin;
pub mod anomaly;
pub mod cli;
pub mod clock;
pub mod config;
pub mod corpus;
pub mod demo;
pub mod durable;
pub mod events;
pub mod guard;
pub mod latency;
pub mod periodic;
pub mod protection;
pub mod proxy;
pub mod sightings;
pub mod store;
pub mod suggest;
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testing;
pub mod traffic;
