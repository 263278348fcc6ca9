//! Wafer, the server: everything with I/O around the engine.
//!
//! Public are the modules the binary, the integration tests and the benches
//! use; the rest is the crate's own, and `unreachable_pub` keeps `pub` inside
//! it honest.

#![warn(unreachable_pub)]

pub mod acme;
pub(crate) mod admin;
pub mod anomaly;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub(crate) mod corpus;
pub(crate) mod demo;
pub(crate) mod durable;
pub mod events;
pub mod guard;
pub(crate) mod latency;
pub(crate) mod periodic;
pub mod protection;
pub mod proxy;
pub(crate) mod sightings;
pub mod store;
pub(crate) mod suggest;
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testing;
pub(crate) mod traffic;
