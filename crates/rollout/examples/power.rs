//! The power study of the split analysis (`rollout::power`) at 300, 600 and 3,000 requests per
//! step: a `linear:10%:3s` rollout probed at 100, 200 and 1,000 rps with its start unknown, once
//! correct and once with its third step (30%) held at 20% for the whole step. Prints the rates
//! with their 95% intervals, the minimum detectable deviation of each step (95% power), the
//! detection of a 10-point stall at each step at 600 requests per step, and the size a
//! rehearsal needs to detect 5 points.
//!
//! `cargo run --release -p rollout --example power [SEEDS]` (default 2,000 seeds per cell).

use rollout::analysis::{AnalysisConfig, analyze};
use rollout::power::{Outcome, Scenario, Study, requests_per_step_needed};
use rollout::schedule::Schedule;
use rollout::stats::wilson_interval;

fn percent_with_interval(hits: u64, o: &Outcome) -> String {
    let (low, high) = wilson_interval(hits, o.runs, 0.95);
    format!(
        "{:.2}% [{:.2}, {:.2}]",
        hits as f64 / o.runs as f64 * 100.0,
        low * 100.0,
        high * 100.0
    )
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SEEDS must be a whole number"))
        .unwrap_or(2_000);
    let schedule = Schedule::parse("linear:10%:3s").expect("schedule");
    let cfg = AnalysisConfig::default();
    println!(
        "linear:10%:3s, start unknown, {seeds} seeds per cell, confidence {}, tolerance {}",
        cfg.confidence, cfg.tolerance
    );
    for rps in [100.0, 200.0, 1_000.0] {
        let study = Study::new(schedule.clone(), rps);
        let correct = study.run(Scenario::Correct, 0..seeds, &cfg);
        let held = study.run(
            Scenario::Held {
                step: 2,
                share: 0.2,
            },
            1_000_000..1_000_000 + seeds,
            &cfg,
        );
        println!(
            "{:>5.0} requests/step ({rps} rps): false alarms {} of {} ({}), \
             step 2 held at 20% flagged {} of {} ({})",
            study.requests_per_step(),
            correct.runs - correct.followed,
            correct.runs,
            percent_with_interval(correct.runs - correct.followed, &correct),
            held.deviated,
            held.runs,
            percent_with_interval(held.deviated, &held),
        );
        // The minimum detectable deviation of each step in one correct run (seed 0).
        let (_, timeline) = study.timeline(Scenario::Correct, 0);
        let split = analyze(
            &timeline,
            &AnalysisConfig {
                schedule: Some(schedule.clone()),
                ..cfg.clone()
            },
        );
        let mdd: Vec<String> = split
            .steps
            .iter()
            .map(|s| {
                s.min_detectable_deviation
                    .map_or("-".to_owned(), |d| format!("{:.1}", d * 100.0))
            })
            .collect();
        println!(
            "      minimum detectable deviation per step, points (step 0..9, judged requests {}): {}",
            split.steps[4].requests,
            mdd.join(" ")
        );
    }
    // At 600 requests per step, a 10-point stall at each step (held at the previous share).
    let study = Study::new(schedule.clone(), 200.0);
    let per_step = (seeds / 4).max(1);
    let flagged: Vec<String> = (1..9)
        .map(|step| {
            let held = Scenario::Held {
                step,
                share: step as f64 / 10.0,
            };
            let o = study.run(held, 2_000_000..2_000_000 + per_step, &cfg);
            format!("{step}: {:.1}%", o.deviated_rate() * 100.0)
        })
        .collect();
    println!(
        "  600 requests/step, step k held at the previous step's share, flagged ({per_step} seeds each): {}",
        flagged.join(", ")
    );
    // What a rehearsal needs for its verdict to mean something (5 points).
    for (name, scale) in [
        ("linear:10%:3s", 1.0),
        ("Linear10PercentEvery1Minute", 10.0),
    ] {
        let parsed = name.parse::<Schedule>().expect("schedule");
        let schedule = if scale == 1.0 {
            parsed
        } else {
            parsed.time_scaled(scale).expect("time scale")
        };
        let needed = requests_per_step_needed(&schedule, &cfg);
        let step_secs = schedule.steps()[0].duration();
        println!(
            "{} ({step_secs} s steps): {needed} requests per step to detect {:.0} points, \
             i.e. {:.0} rps",
            schedule.name(),
            cfg.max_detectable_deviation * 100.0,
            needed as f64 / step_secs
        );
    }
}
