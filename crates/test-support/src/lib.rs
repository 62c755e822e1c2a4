//! Helpers for the workspace's integration tests: executables of other packages
//! ([`binaries`]) and a one-request HTTP client ([`http`]).

pub mod binaries;
pub mod http;

pub use binaries::executable;
