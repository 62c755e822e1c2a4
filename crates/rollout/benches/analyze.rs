//! Time of `analyze` on an 11-minute Linear10PercentEvery1Minute run at 50 rps in 0.1 s bins,
//! start unknown (the prober re-runs it for live progress, so it must stay well under 100 ms).
//!
//! `cargo bench -p rollout --bench analyze` (add `--profile dev` for a quick upper bound).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rollout::analysis::{AnalysisConfig, analyze};
use rollout::{Schedule, sim};

fn main() {
    let cases = [
        ("Linear10PercentEvery1Minute", 30.0, 660.0),
        ("Canary10Percent5Minutes", 30.0, 660.0),
        ("Linear10PercentEvery10Minutes", 30.0, 6_600.0),
    ];
    for (name, start, duration) in cases {
        let schedule: Schedule = name.parse().expect("schedule");
        let timeline = sim::simulate(&schedule, start, 50.0, duration, 1, 0.1);
        let cfg = AnalysisConfig {
            schedule: Some(schedule),
            ..AnalysisConfig::default()
        };
        let mut times: Vec<Duration> = (0..21)
            .map(|_| {
                let t0 = Instant::now();
                black_box(analyze(black_box(&timeline), &cfg));
                t0.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "analyze {name}, {duration} s at 50 rps, {} bins: median {:.2} ms, max {:.2} ms",
            timeline.counts.len(),
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    }
}
