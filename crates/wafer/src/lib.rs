//! Wafer, the server: everything with I/O around the engine.

pub mod cli;
pub mod config;
pub mod demo;
pub mod events;
pub mod guard;
pub mod proxy;
