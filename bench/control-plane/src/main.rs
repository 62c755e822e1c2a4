//! `control-plane`: runs the lab's control-plane benchmark and prints its tables
//! (see `bench/control-plane.sh` and bench/README.md).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use control_plane_bench::{Options, run};

/// The lab's control-plane benchmark: publish-to-serve, front-door latency under releases,
/// Lambda API operation latency.
#[derive(Debug, Parser)]
struct Args {
    /// The `rollcall-lab` executable.
    #[arg(long)]
    lab: PathBuf,
    /// The `hello` executable (the function).
    #[arg(long)]
    hello: PathBuf,
    /// Releases timed for publish-to-serve.
    #[arg(long, default_value_t = 50)]
    releases: u64,
    /// Front-door requests per second (open loop).
    #[arg(long, default_value_t = 200)]
    rps: u32,
    /// Seconds of each front-door run.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Releases during the second front-door run.
    #[arg(long, default_value_t = 100)]
    load_releases: u64,
    /// Concurrent invokes warming each new version before the alias moves to it (the
    /// environments it may start are cold starts outside the request path).
    #[arg(long, default_value_t = 1)]
    warm: u32,
    /// Calls per Lambda API operation.
    #[arg(long, default_value_t = 200)]
    calls: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rps > 0, "--rps {} must be at least 1", args.rps);
    anyhow::ensure!(
        args.duration > 0,
        "--duration {} must be at least 1 (seconds)",
        args.duration
    );
    let options = Options {
        lab: args.lab,
        hello: args.hello,
        releases: args.releases,
        rps: args.rps,
        duration: Duration::from_secs(args.duration),
        load_releases: args.load_releases,
        warm: args.warm,
        calls: args.calls,
    };
    let report = run(&options).await?;
    print!("{}", report.tables(&options));
    Ok(())
}
