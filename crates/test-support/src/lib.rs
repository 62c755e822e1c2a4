//! Helpers for the workspace's integration tests: executables of other packages
//! ([`binaries`]), a one-request HTTP client ([`http`]) and child processes stopped with
//! SIGTERM, then SIGKILL ([`process`]).

pub mod binaries;
pub mod http;
pub mod process;

pub use binaries::executable;
