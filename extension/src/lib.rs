//! The Rollcall Lambda extension: a Runtime API proxy that tags HTTP responses with the version
//! of the environment that served them (`x-rollcall-version`, `x-rollcall-cold`), measures
//! handler latency and errors, subscribes to platform telemetry for timeouts, init duration and
//! memory, and writes per-version metrics to stdout as CloudWatch EMF.
//!
//! Module map:
//! - [`config`]: `ROLLCALL_*` variables, one pure parser.
//! - [`endpoint`]: `AWS_LAMBDA_RUNTIME_API` read as runtime clients read it;
//!   [`extensions_api`]: register and next-event calls.
//! - [`tag`]: the pure tagging function (the wire contract); [`probe`]: event classification;
//!   [`stream`]: streamed responses (the HTTP prelude tagged on the fly, the stream's metrics).
//! - [`proxy`]: the Runtime API proxy; [`listen`]: what its listener and the telemetry one share
//!   (header-read timeout, connection cap, backoff at the descriptor limit).
//! - [`metrics`], [`recorder`]: aggregation and EMF output.
//! - [`telemetry`]: the Telemetry API subscriber.
//! - [`ready`]: the ready file the wrapper scripts check (fail open).
//! - [`run`](mod@run): the lifecycle.

pub mod config;
pub mod endpoint;
pub mod extensions_api;
pub mod listen;
pub mod logging;
pub mod metrics;
pub mod probe;
pub mod proxy;
mod rawjson;
pub mod ready;
pub mod recorder;
pub mod run;
pub mod stream;
pub mod tag;
pub mod telemetry;

pub use config::{Config, ConfigWarning};
pub use run::{LambdaEnv, RunError, run};
