//! Shared test support: a rollout-playing HTTP server, an in-process prober runner, and the
//! statistics the assertions are derived from.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod checks;
pub mod plan;
pub mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use tempfile::TempDir;

#[allow(unused_imports)] // not every test binary uses every re-export
pub use plan::WeightPlan;
#[allow(unused_imports)]
pub use server::{Fault, GroundTruth, ServerConfig, TestServer};

/// Upper bound on any single prober run in these tests; a run past it is a hang.
pub const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// A finished in-process prober run.
#[derive(Debug)]
pub struct Run {
    /// What `prober::run` returned.
    pub outcome: prober::RunOutcome,
    /// The `--out` directory (removed when the run is dropped).
    pub dir: TempDir,
    /// Wall time of the call.
    pub wall: Duration,
}

impl Run {
    /// The `--out` directory.
    pub fn out(&self) -> &Path {
        self.dir.path()
    }

    /// The report the run returned.
    pub fn report(&self) -> &rollout::Report {
        &self.outcome.report
    }

    /// `report.json` as written, parsed.
    pub fn report_json(&self) -> serde_json::Value {
        read_json(&self.out().join("report.json"))
    }

    /// Asserts that `report.json` holds the returned report. Both sides go through the same JSON
    /// parser: serde_json's default float parsing is not round-trip exact in the last digit.
    pub fn assert_written_report_is_returned(&self) {
        let returned: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(self.report()).unwrap()).unwrap();
        assert_eq!(
            self.report_json(),
            returned,
            "report.json is the returned report"
        );
    }

    /// Asserts the verdict and the exit code, both the process's and the report's.
    #[track_caller]
    pub fn assert_verdict(&self, verdict: rollout::Verdict, exit_code: i32) {
        let report = self.report();
        assert_eq!(report.verdict, verdict, "{}", report.verdict_reason);
        assert_eq!(self.outcome.exit_code, exit_code, "the process's exit code");
        assert_eq!(report.exit_code, exit_code, "the report's exit code");
    }

    /// `report.json` as written, as the typed model.
    pub fn written_report(&self) -> rollout::Report {
        serde_json::from_value(self.report_json()).expect("report.json matches rollout::Report")
    }
}

/// Parses `prober <args>` exactly as the binary would.
pub fn cli<I, S>(args: I) -> prober::Cli
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> = std::iter::once("prober".into())
        .chain(args.into_iter().map(Into::into))
        .collect();
    prober::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?} should parse: {e}"))
}

/// Runs the prober in-process with `args` plus `--out <tempdir>` and `--quiet`.
pub async fn run_prober(args: &[String]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    run_prober_into(args, dir).await
}

/// Runs the prober in-process with `args` plus `--out <dir>` and `--quiet`.
pub async fn run_prober_into(args: &[String], dir: TempDir) -> Run {
    let cli = cli(with_out(args, dir.path()));
    let started = Instant::now();
    let outcome = tokio::time::timeout(RUN_DEADLINE, prober::run(cli))
        .await
        .expect("prober run should end before the deadline")
        .unwrap_or_else(|e| panic!("prober run failed: {e}"));
    Run {
        outcome,
        dir,
        wall: started.elapsed(),
    }
}

/// Runs the prober in-process, interrupted when `shutdown` resolves.
pub async fn run_prober_until<F>(args: &[String], shutdown: F) -> Run
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = cli(with_out(args, dir.path()));
    let started = Instant::now();
    let outcome = tokio::time::timeout(RUN_DEADLINE, prober::run_with_shutdown(cli, shutdown))
        .await
        .expect("prober run should end before the deadline")
        .unwrap_or_else(|e| panic!("prober run failed: {e}"));
    Run {
        outcome,
        dir,
        wall: started.elapsed(),
    }
}

fn with_out(args: &[String], out: &Path) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["--out".into(), out.display().to_string(), "--quiet".into()]);
    all
}

/// `["--url", url, "--rps", rps, "--duration", duration]`, the arguments every run needs.
pub fn base_args(url: &str, rps: u32, duration: &str) -> Vec<String> {
    [
        "--url",
        url,
        "--rps",
        &rps.to_string(),
        "--duration",
        duration,
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} should be readable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A loopback port that was bound and released: nothing listens on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local_addr").port()
}

/// The Wilson score interval for `k` successes out of `n` at normal quantile `z`.
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    assert!(n > 0, "wilson interval of an empty sample");
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Normal quantile for a two-sided test at family-wise error 1e-4 over `m` comparisons
/// (Bonferroni), from a small table: tests must not fail by chance more than once in ~10^4 runs.
pub fn z_for(m: usize) -> f64 {
    // Two-sided quantiles z(alpha/m) for alpha = 1e-4.
    match m {
        0 | 1 => 3.891,
        2 => 4.056,
        3..=5 => 4.265,
        6..=10 => 4.417,
        11..=20 => 4.565,
        _ => 4.892,
    }
}

/// True deployment start in the prober's time frame: seconds since the report's origin.
pub fn truth_deployment_start(server: &TestServer, report: &rollout::Report) -> f64 {
    (server.deployment_start_unix_ms() - report.started_at_unix_ms as f64) / 1000.0
}
