//! `prober`: an open-loop HTTP prober that watches which Lambda version serves each request
//! during a rollout, judges the observed split against the deployment's schedule, compares the
//! versions' latency, and writes CI-friendly artifacts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), prober::ProberError> {
//! use clap::Parser;
//! let cli = prober::Cli::try_parse_from(["prober", "--url", "http://127.0.0.1:3000/", "--duration", "10s"])
//!     .expect("valid flags");
//! let outcome = prober::run(cli).await?;
//! println!("{}", outcome.report.verdict_reason);
//! # Ok(()) }
//! ```

pub mod aggregate;
pub mod artifacts;
pub mod cli;
pub mod client;
pub mod config;
mod engine;
pub mod error;
pub mod merge;
pub mod pacer;
pub mod progress;
pub mod record;
pub mod redact;
pub mod reporting;
pub mod sender;
pub mod timer;
pub mod worker;

use std::future::Future;
use std::path::PathBuf;

pub use cli::{Cli, Command, MergeArgs};
pub use config::Config;
pub use error::ProberError;

/// The result of a run (or a merge).
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The report (also written as `report.json` with `--out`).
    pub report: rollout::Report,
    /// The process exit code (`report.verdict.exit_code()`).
    pub exit_code: i32,
    /// Where the artifacts were written.
    pub out_dir: Option<PathBuf>,
}

/// Runs the command line; Ctrl-C interrupts the run (the artifacts are still written, with
/// `interrupted: true`).
pub async fn run(cli: Cli) -> Result<RunOutcome, ProberError> {
    run_with_shutdown(cli, async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handler: never interrupt.
            std::future::pending::<()>().await;
        }
    })
    .await
}

/// Runs the command line; `shutdown` completing interrupts the run like Ctrl-C.
pub async fn run_with_shutdown(
    cli: Cli,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<RunOutcome, ProberError> {
    match &cli.command {
        Some(Command::Merge(args)) => merge::merge(args),
        None => {
            let config = Config::from_cli(&cli, |p| std::fs::read(p))?;
            tracing::info!(url = %config.target.redacted, rps = config.rps, "probing");
            engine::probe(config, shutdown).await
        }
    }
}

#[cfg(test)]
mod e2e_tests;
#[cfg(test)]
mod tls_tests;
