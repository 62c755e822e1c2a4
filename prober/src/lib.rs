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
pub mod aws;
pub mod body;
pub mod cli;
pub mod client;
pub mod config;
pub mod control;
mod engine;
pub mod error;
pub mod merge;
mod merge_ttfb;
pub mod pacer;
pub mod printable;
pub mod progress;
pub mod record;
pub mod redact;
pub mod reporting;
pub mod sender;
pub mod summary;
pub mod timer;
pub mod watch;
pub mod worker;

use std::future::Future;
use std::path::PathBuf;

pub use cli::{Cli, Command, MergeArgs, WatchArgs};
pub use config::Config;
pub use error::ProberError;

/// The result of a run (or a merge).
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The report (also written as `report.json` with `--out`).
    pub report: rollout::Report,
    /// The process exit code: the report's `exit_code`, or 74 when `report.json` could not be
    /// written (the verdict is still returned).
    pub exit_code: i32,
    /// Where the artifacts were written.
    pub out_dir: Option<PathBuf>,
    /// Artifacts that could not be written, one message each (empty normally).
    pub artifact_errors: Vec<String>,
}

/// What interrupted a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C), or a caller's shutdown future: exit 130.
    Sigint,
    /// SIGTERM (CI cancellation, `kill`, container stop): exit 143.
    Sigterm,
}

impl Interrupt {
    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Sigint => "SIGINT",
            Interrupt::Sigterm => "SIGTERM",
        }
    }

    /// The exit code of a run it interrupted (128 + the signal number).
    pub fn exit_code(self) -> i32 {
        match self {
            Interrupt::Sigint => rollout::report::EXIT_SIGINT,
            Interrupt::Sigterm => rollout::report::EXIT_SIGTERM,
        }
    }
}

/// Resolves at the first SIGINT or SIGTERM; never when no handler can be installed.
pub async fn signals() -> Interrupt {
    let term = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let Ok(mut s) = signal(SignalKind::terminate()) {
                s.recv().await;
                return;
            }
        }
        std::future::pending::<()>().await;
    };
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = int => Interrupt::Sigint,
        () = term => Interrupt::Sigterm,
    }
}

/// Runs the command line; SIGINT (Ctrl-C) or SIGTERM interrupts the run (the artifacts are
/// still written, with `interrupted: true`; see [`Interrupt`] for the exit codes).
pub async fn run(cli: Cli) -> Result<RunOutcome, ProberError> {
    run_with_interrupt(cli, signals()).await
}

/// Runs the command line; `shutdown` completing interrupts the run like Ctrl-C.
pub async fn run_with_shutdown(
    cli: Cli,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<RunOutcome, ProberError> {
    run_with_interrupt(cli, async move {
        shutdown.await;
        Interrupt::Sigint
    })
    .await
}

/// Runs the command line; `interrupt` completing interrupts the run, as that signal would.
pub async fn run_with_interrupt(
    cli: Cli,
    interrupt: impl Future<Output = Interrupt> + Send,
) -> Result<RunOutcome, ProberError> {
    match &cli.command {
        Some(Command::Merge(args)) => merge::merge(args),
        // `prober watch` prints as it goes and has no report: see `watch::watch`.
        Some(Command::Watch(_)) => Err(ProberError::invalid(
            "watch",
            "",
            "`prober watch` has no report: call prober::watch::watch (the binary does)",
        )),
        None => {
            // --stack is resolved (DescribeStacks, ...) before the pure check of the flags,
            // which then sees the stack's URL, alias and deployment group.
            let (resolved, stack_found) = match &cli.stack {
                Some(name) => {
                    let sdk = aws::sdk_config(None).await;
                    let target =
                        aws::stack::resolve(&sdk, name, cli.stack_output.as_deref()).await?;
                    (aws::stack::apply(&cli, &target), Some(target.report))
                }
                None => (cli.clone(), None),
            };
            // --invoke's endpoint is resolved as the SDK does (environment and profile), so
            // that the configuration itself stays a pure function of its inputs.
            let control = control::ControlConfig::from_cli(&resolved)
                .map_err(|e| e.naming_variable(&cli.from_env))?;
            let endpoint = aws::invoke::resolve_endpoint(&control).await?;
            let mut config =
                Config::from_cli_with(&resolved, |p| std::fs::read(p), endpoint.as_ref())?;
            config.control.stack_found = stack_found;
            tracing::info!(url = %config.target.redacted, rps = config.rps, "probing");
            engine::probe(config, interrupt).await
        }
    }
}

#[cfg(test)]
mod e2e_tests;
#[cfg(test)]
mod tls_tests;
