//! `alias-split`: the realised split of a lab alias vs its configured weights (issue 10's
//! figure; see `bench/alias-split.sh` and bench/README.md). Prints a tab-separated table and a
//! verdict line; exits 0 whatever the verdict (it is a measurement, not a gate).

use std::path::PathBuf;

use clap::Parser;
use control_plane_bench::alias_split::{DEFAULT_WEIGHTS, SplitOptions, run};

/// The realised split of alias `live` (versions 1 and 2 of `hello`) vs the configured weights:
/// per weight, an exact binomial test and a Clopper-Pearson interval; Holm over the weights.
#[derive(Debug, Parser)]
struct Args {
    /// The `rollcall-lab` executable.
    #[arg(long)]
    lab: PathBuf,
    /// The `hello` executable (the function).
    #[arg(long)]
    hello: PathBuf,
    /// Weights of version 2, one step each (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_WEIGHTS)]
    weights: Vec<f64>,
    /// Answers counted per weight (and per path).
    #[arg(long, default_value_t = 10_000)]
    invocations: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seed of the lab's routing RNG.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also count through the API front door (the version in `hello`'s body).
    #[arg(long)]
    front_door: bool,
    /// Family-wise level of Holm's procedure over the weights.
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// Two-sided confidence of the Clopper-Pearson intervals.
    #[arg(long, default_value_t = 0.99)]
    confidence: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = SplitOptions {
        lab: args.lab,
        hello: args.hello,
        weights: args.weights,
        invocations: args.invocations,
        concurrency: args.concurrency,
        seed: args.seed,
        front_door: args.front_door,
        alpha: args.alpha,
        confidence: args.confidence,
    };
    let report = run(&options).await?;
    print!("{}", report.judgement.table());
    println!(
        "ExecutedVersion differing from the version in hello's answer: {}",
        report.mismatched
    );
    Ok(())
}
