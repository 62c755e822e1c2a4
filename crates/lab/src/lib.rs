//! The Rollcall lab: a local, faithful emulator of the AWS Lambda execution environment
//! (Runtime, Extensions and Telemetry APIs, lifecycle, process trees), per-version pools of
//! environments, alias weighted routing, and an API-Gateway-like front door with a subset of the
//! Lambda `Invoke` API. Everything runs as real processes speaking real HTTP on 127.0.0.1.

pub mod accept;
pub mod api;
pub mod cli;
pub mod control;
pub mod env;
pub mod exit;
pub mod invoke;
pub mod lab;
pub mod pool;
pub mod ready;
pub mod rehearse;
pub mod response_stream;
pub mod spec;
pub mod template;
