//! The power study (issue 8, item 19): at 600 requests per step a `linear:10%:3s` rollout whose
//! third step holds 20% instead of 30% is flagged in at least 95% of seeds, and correct
//! rollouts stay `followed` in at least 99%, the start unknown to the analysis. Each claim is
//! checked at 95% confidence: the one-sided Wilson bound of the measured rate must clear the
//! target. `cargo run -p rollout --example power` gives the figures at 300, 600 and 3,000
//! requests per step. Run with `--nocapture` to see the rates.

use rollout::analysis::AnalysisConfig;
use rollout::power::{Outcome, Scenario, Study};
use rollout::schedule::Schedule;
use rollout::wilson_interval;

/// Two-sided confidence whose interval ends are one-sided 95% bounds.
const ONE_SIDED_95: f64 = 0.90;

/// `linear:10%:3s` at 200 rps: 600 requests per step.
fn study() -> Study {
    Study::new(Schedule::parse("linear:10%:3s").expect("schedule"), 200.0)
}

fn held_step_2() -> Scenario {
    Scenario::Held {
        step: 2,
        share: 0.2,
    }
}

#[test]
fn a_10_point_stall_at_600_requests_per_step_is_flagged_in_95_percent_of_seeds() {
    let study = study();
    assert_eq!(study.requests_per_step(), 600.0);
    let seeds = 600;
    let o: Outcome = study.run(
        held_step_2(),
        1_000_000..1_000_000 + seeds,
        &AnalysisConfig::default(),
    );
    let (low, _) = wilson_interval(o.deviated, o.runs, ONE_SIDED_95);
    println!(
        "step 2 held at 20%, 600 requests/step: flagged {} of {} ({:.1}%, at least {:.1}% at 95% confidence)",
        o.deviated,
        o.runs,
        o.deviated_rate() * 100.0,
        low * 100.0
    );
    assert!(low >= 0.95, "{o:?}: lower bound {low}");
}

#[test]
fn correct_rollouts_at_600_requests_per_step_stay_followed_in_99_percent_of_seeds() {
    let study = study();
    let seeds = 2_000;
    let o = study.run(Scenario::Correct, 0..seeds, &AnalysisConfig::default());
    let (low, _) = wilson_interval(o.followed, o.runs, ONE_SIDED_95);
    println!(
        "correct, 600 requests/step: followed {} of {} ({:.2}%, at least {:.2}% at 95% confidence)",
        o.followed,
        o.runs,
        o.followed_rate() * 100.0,
        low * 100.0
    );
    assert!(low >= 0.99, "{o:?}: lower bound {low}");
}

#[test]
fn a_run_too_small_to_see_5_points_says_so_and_a_large_one_does_not() {
    let cfg = AnalysisConfig {
        schedule: Some(study().schedule),
        ..AnalysisConfig::default()
    };
    // 600 requests per step: about 10 points at the 50% step.
    let (_, timeline) = study().timeline(Scenario::Correct, 7);
    let split = rollout::analyze(&timeline, &cfg);
    assert_eq!(
        split.verdict,
        rollout::Verdict::Followed,
        "{}",
        split.reason
    );
    let s = split.sensitivity.as_ref().expect("steps were judged");
    assert!(s.insufficient, "{s:?}");
    assert!((0.08..0.13).contains(&s.min_detectable_deviation), "{s:?}");
    assert!(
        split
            .reason
            .contains("could not have detected a deviation smaller than")
            && split.reason.contains(&format!("in step {}", s.step)),
        "{}",
        split.reason
    );
    // The least sensitive step is the one nearest 50%, and every judged step has its figure.
    assert_eq!(split.steps[s.step].expected_share, 0.5, "{s:?}");
    for step in split.steps.iter().filter(|r| r.index < 9) {
        let d = step.min_detectable_deviation.expect("judged");
        assert!(d <= s.min_detectable_deviation, "{step:?}");
    }
    // What it says it needed is enough: at that many requests per judged step, 5 points.
    assert!(s.requests_needed > split.steps[s.step].requests);
    let big = Study::new(
        study().schedule,
        200.0 * s.requests_needed as f64 / split.steps[s.step].requests as f64 + 20.0,
    );
    let (_, timeline) = big.timeline(Scenario::Correct, 7);
    let split = rollout::analyze(&timeline, &cfg);
    assert_eq!(
        split.verdict,
        rollout::Verdict::Followed,
        "{}",
        split.reason
    );
    let s = split.sensitivity.expect("steps were judged");
    assert!(
        !s.insufficient && s.min_detectable_deviation <= 0.05,
        "{s:?}"
    );
    assert!(
        !split.reason.contains("could not have detected"),
        "{}",
        split.reason
    );
}

#[test]
fn at_the_size_it_names_a_run_can_see_5_points_and_below_it_cannot() {
    let schedule = Schedule::parse("linear:10%:3s").expect("schedule");
    let cfg = AnalysisConfig {
        schedule: Some(schedule.clone()),
        ..AnalysisConfig::default()
    };
    let needed = rollout::power::requests_per_step_needed(&schedule, &cfg);
    println!("linear:10%:3s needs {needed} requests per step to detect 5 points");
    // (3.5 + 1.645)^2 * 0.25 / 0.05^2 = 2,650 judged, plus 4% of guard bands.
    assert!((2_600..3_000).contains(&needed), "{needed}");
    let sensitivity = |rps: f64| {
        let (_, timeline) = Study::new(schedule.clone(), rps).timeline(Scenario::Correct, 3);
        let split = rollout::analyze(&timeline, &cfg);
        assert_eq!(
            split.verdict,
            rollout::Verdict::Followed,
            "{}",
            split.reason
        );
        split.sensitivity.expect("steps were judged")
    };
    // The start's uncertainty widens each step's range of shares a little (0.1 s of a 10-point
    // step over 3 s, a few hundredths of a point): 10% above the figure covers it.
    let step_secs = 3.0;
    let enough = sensitivity(needed as f64 / step_secs * 1.1);
    assert!(!enough.insufficient, "{enough:?}");
    let short = sensitivity(needed as f64 / step_secs * 0.8);
    assert!(short.insufficient, "{short:?}");
}
