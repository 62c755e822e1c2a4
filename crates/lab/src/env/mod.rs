//! Execution environments: one process tree (external extensions, then the runtime) plus one
//! HTTP server serving the Runtime, Extensions and Telemetry APIs, driven through the lifecycle
//! of [`state::State`]. See [`config`] for how `/opt`, the exec wrapper and ports are mapped.

pub mod api;
pub mod config;
pub mod delivery;
mod environment;
pub mod extensions_api;
mod invocation;
pub mod logs;
pub mod memory;
pub mod process;
pub mod reply;
pub mod runtime_api;
pub mod shared;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod timing;

pub use config::{ConfigError, FunctionConfig, Resolved};
pub use delivery::DeliveryStats;
pub use environment::{Environment, InvokeEnd, ShutdownReason, StartError, new_trace_id};
pub use logs::{LineTap, LogLine, LogSink, LogSource};
pub use state::{State, Transition};
