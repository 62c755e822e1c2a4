//! The lab's control-plane benchmark (issue 9's figures), driven through the real
//! `rollcall-lab` binary's flags and the Lambda API over HTTP, with the AWS SDK for Rust as the
//! Lambda API's client and `hello` as the function (it answers with the version that ran it).
//!
//! 1. Publish-to-serve: per release, UpdateAlias returning → the first front-door answer from
//!    the new version.
//! 2. Front-door latency at a fixed open-loop rate without, then with, releases running.
//! 3. Lambda API operation latency from the SDK.
//!
//! [`alias_split`] (the `alias-split` binary) measures issue 10's realised split against the
//! configured weights, judged by [`split_verdict`].

pub mod alias_split;
pub mod figures;
pub mod front_door;
pub mod lab;
pub mod release;
pub mod split_verdict;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use figures::{AliasChanges, LoadRun, OperationLatency, Percentiles};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `rollcall-lab` executable.
    pub lab: PathBuf,
    /// The `hello` executable (the function).
    pub hello: PathBuf,
    /// Figure 1's releases.
    pub releases: u64,
    /// Figure 2's rate (requests per second).
    pub rps: u32,
    /// Figure 2's length of each run.
    pub duration: Duration,
    /// Figure 2's releases during the second run.
    pub load_releases: u64,
    /// Figure 2: concurrent invokes that warm each new version before the alias moves to it
    /// (each may start an environment).
    pub warm: u32,
    /// Figure 3's calls per operation.
    pub calls: u64,
}

/// The figures.
#[derive(Debug, Clone)]
pub struct Report {
    /// Figure 1: publish-to-serve.
    pub publish_to_serve: Percentiles,
    /// Figure 1: answers from the old version seen after UpdateAlias returned.
    pub stale_answers: u64,
    /// Figure 2 without releases.
    pub quiet: LoadRun,
    /// Figure 2 with releases.
    pub releasing: LoadRun,
    /// Figure 2 with as many UpdateAlias calls between two warm versions (no process starts).
    pub flipping: LoadRun,
    /// Figure 2 without changes again, after them: the lab now holds every version made.
    pub quiet_after: LoadRun,
    /// Figure 3.
    pub operations: OperationLatency,
}

/// Starts the lab, measures the three figures in order, stops the lab.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let lab = lab::LabProcess::start(&options.lab, &options.hello).await?;
    let result = measure(options, &lab).await;
    lab.stop().await;
    result
}

async fn measure(options: &Options, lab: &lab::LabProcess) -> anyhow::Result<Report> {
    let lambda = release::client(&lab.lambda_api);
    let front_door = front_door::FrontDoor::new(&lab.front_door)?;
    // Warm the first environment (and the client's connection) outside every figure.
    front_door.version().await?;
    let mut n = 0;
    let (publish_to_serve, stale_answers) =
        figures::publish_to_serve(&lambda, &front_door, options.releases, &mut n).await?;
    front_door.version().await?;
    let quiet = figures::load(
        &lambda,
        &front_door,
        options.rps,
        options.duration,
        AliasChanges::Releases { count: 0, warm: 0 },
        &mut n,
    )
    .await?;
    let releasing = figures::load(
        &lambda,
        &front_door,
        options.rps,
        options.duration,
        AliasChanges::Releases {
            count: options.load_releases,
            warm: options.warm,
        },
        &mut n,
    )
    .await?;
    // Two warm versions, then the alias flips between them as often as it moved above.
    n += 1;
    let (first, _) = release::release(&lambda, n, options.warm).await?;
    n += 1;
    let (second, _) = release::release(&lambda, n, options.warm).await?;
    let flipping = figures::load(
        &lambda,
        &front_door,
        options.rps,
        options.duration,
        AliasChanges::Flips {
            count: options.load_releases,
            between: (first, second),
        },
        &mut n,
    )
    .await?;
    let quiet_after = figures::load(
        &lambda,
        &front_door,
        options.rps,
        options.duration,
        AliasChanges::Releases { count: 0, warm: 0 },
        &mut n,
    )
    .await?;
    let operations = figures::api_operations(&lambda, options.calls, &mut n).await?;
    Ok(Report {
        publish_to_serve,
        stale_answers,
        quiet,
        releasing,
        flipping,
        quiet_after,
        operations,
    })
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

impl Report {
    /// The figures as tab-separated tables (for `column -t -s $'\t'`).
    pub fn tables(&self, options: &Options) -> String {
        let mut out = String::new();
        let p = &self.publish_to_serve;
        let _ = writeln!(
            out,
            "publish-to-serve ({} releases; stale answers after UpdateAlias: {})",
            p.count, self.stale_answers
        );
        let _ = writeln!(out, "p50_ms\tp99_ms\tmax_ms");
        let _ = writeln!(
            out,
            "{}\t{}\t{}\n",
            ms(p.p50_us),
            ms(p.p99_us),
            ms(p.max_us)
        );
        let _ = writeln!(
            out,
            "front door at {} rps for {} s, open loop; each release warmed by {} concurrent Invoke(s)",
            options.rps,
            options.duration.as_secs_f64(),
            options.warm
        );
        let _ = writeln!(
            out,
            "run\treleases\trequests\terrors\tp50_ms\tp99_ms\tmax_ms"
        );
        for (name, run) in [
            ("quiet", &self.quiet),
            ("releasing", &self.releasing),
            ("flipping", &self.flipping),
            ("quiet again", &self.quiet_after),
        ] {
            let l = &run.latency;
            let _ = writeln!(
                out,
                "{name}\t{}\t{}\t{}\t{}\t{}\t{}",
                run.releases,
                l.count,
                run.errors,
                ms(l.p50_us),
                ms(l.p99_us),
                ms(l.max_us)
            );
        }
        let _ = writeln!(
            out,
            "p99 ratio releasing/quiet: {:.3}; flipping/quiet: {:.3} (alias changes between two warm versions, no process starts)\n",
            self.p99_ratio(),
            self.flipping.latency.p99_us as f64 / self.quiet.latency.p99_us.max(1) as f64
        );
        let _ = writeln!(
            out,
            "Lambda API operation (AWS SDK for Rust)\tcalls\tp50_ms\tp99_ms\tmax_ms"
        );
        for (name, l) in &self.operations {
            let _ = writeln!(
                out,
                "{name}\t{}\t{}\t{}\t{}",
                l.count,
                ms(l.p50_us),
                ms(l.p99_us),
                ms(l.max_us)
            );
        }
        out
    }

    /// Figure 2's p99 with releases over p99 without (target: ≤ 1.10).
    pub fn p99_ratio(&self) -> f64 {
        self.releasing.latency.p99_us as f64 / self.quiet.latency.p99_us.max(1) as f64
    }
}
