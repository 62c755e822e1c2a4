//! The power study of the split analysis (`rollout::power`) at 300, 600 and 3,000 requests per
//! step: a `linear:10%:3s` rollout probed at 100, 200 and 1,000 rps with its start unknown, once
//! correct and once with its third step (30%) held at 20% for the whole step.
//!
//! `cargo run --release -p rollout --example power [SEEDS]` (default 2,000 seeds per cell).

use rollout::analysis::AnalysisConfig;
use rollout::power::{Scenario, Study};
use rollout::schedule::Schedule;

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SEEDS must be a whole number"))
        .unwrap_or(2_000);
    let schedule = Schedule::parse("linear:10%:3s").expect("schedule");
    let cfg = AnalysisConfig::default();
    println!("linear:10%:3s, start unknown, {seeds} seeds per cell");
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
            "{:>5.0} requests/step ({rps} rps): correct followed {:.2}% (false alarms {}), \
             step 2 held at 20% flagged {:.2}% ({} of {})",
            study.requests_per_step(),
            correct.followed_rate() * 100.0,
            correct.runs - correct.followed,
            held.deviated_rate() * 100.0,
            held.deviated,
            held.runs,
        );
    }
}
