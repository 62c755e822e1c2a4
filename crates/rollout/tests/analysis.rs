//! Split analysis on seeded simulations. Run with `--nocapture` to see the measured figures.

use rollout::analysis::{AnalysisConfig, SplitAnalysis, analyze, overall};
use rollout::sim::{self, NEW_VERSION, OLD_VERSION, Simulation, piecewise_share, schedule_share};
use rollout::{Schedule, StepVerdict, Verdict};

const RPS: f64 = 50.0;

fn schedule(name: &str) -> Schedule {
    name.parse().expect("valid schedule")
}

fn cfg(schedule: &Schedule) -> AnalysisConfig {
    AnalysisConfig {
        schedule: Some(schedule.clone()),
        ..AnalysisConfig::default()
    }
}

fn deviated_steps(split: &SplitAnalysis) -> Vec<usize> {
    split
        .steps
        .iter()
        .filter(|s| s.verdict == StepVerdict::Deviated)
        .map(|s| s.index)
        .collect()
}

#[test]
fn start_is_estimated_within_a_second_at_50_rps() {
    let linear = schedule("Linear10PercentEvery1Minute");
    let (mut max_error, mut covered, mut width_sum) = (0.0_f64, 0, 0.0);
    let seeds = 20;
    for seed in 0..seeds {
        // Starts off the bin grid, 20..40 s after the prober's origin.
        let start = 20.0 + (seed as f64 * 7.37) % 20.0;
        let timeline = sim::simulate(&linear, start, RPS, start + 660.0, seed, 0.1);
        let split = analyze(&timeline, &cfg(&linear));
        let estimate = split.deployment_start.expect("aligned");
        let [low, high] = split.deployment_start_ci.expect("interval");
        max_error = max_error.max((estimate - start).abs());
        println!("seed {seed}: start {start:.3} estimate {estimate:.3} [{low:.2}, {high:.2}]");
        width_sum += high - low;
        covered += usize::from(low <= start && start <= high);
        assert_eq!(
            split.verdict,
            Verdict::Followed,
            "seed {seed}: {}",
            split.reason
        );
    }
    println!(
        "start alignment, Linear10PercentEvery1Minute at {RPS} rps, {seeds} seeds: max error {max_error:.3} s, \
         mean interval width {:.3} s, truth inside the interval {covered}/{seeds}",
        width_sum / seeds as f64
    );
    assert!(max_error <= 1.0, "max error {max_error}");
    // A 95% likelihood-ratio interval widened by a bin: missing more than 4 of 20 has
    // probability < 2% even at 95% coverage.
    assert!(covered >= 16, "covered {covered}/{seeds}");
}

#[test]
fn a_step_held_at_20_instead_of_30_percent_is_flagged_at_the_right_index() {
    let linear = schedule("Linear10PercentEvery1Minute");
    let start = 30.0;
    // On time, except that step 2 (30%) is served at 20% for its whole 60 s.
    let mut breakpoints: Vec<(f64, f64)> = linear
        .steps()
        .iter()
        .map(|s| (start + s.start, s.share))
        .collect();
    breakpoints[2].1 = 0.2;
    for seed in 0..5 {
        let timeline = Simulation::new(RPS, start + 660.0, seed).run(piecewise_share(&breakpoints));
        let split = analyze(&timeline, &cfg(&linear));
        assert_eq!(
            split.verdict,
            Verdict::Deviated,
            "seed {seed}: {}",
            split.reason
        );
        assert_eq!(
            deviated_steps(&split),
            vec![2],
            "seed {seed}: {}",
            split.reason
        );
        let step = &split.steps[2];
        if seed == 0 {
            println!(
                "held step: step 2 expected {:.2}, observed {:.3} [{:.3}, {:.3}] over {} requests; reason: {}",
                step.expected_share,
                step.observed_share.unwrap(),
                step.ci_low.unwrap(),
                step.ci_high.unwrap(),
                step.requests,
                split.reason
            );
        }
    }
}

#[test]
fn a_stall_shows_as_the_next_step_deviating() {
    // Step 1 (20%) held 60 s past its end, everything after it 60 s late.
    let linear = schedule("Linear10PercentEvery1Minute");
    let start = 30.0;
    let breakpoints: Vec<(f64, f64)> = linear
        .steps()
        .iter()
        .map(|s| {
            (
                start + s.start + if s.index >= 2 { 60.0 } else { 0.0 },
                s.share,
            )
        })
        .collect();
    let timeline = Simulation::new(RPS, start + 720.0, 3).run(piecewise_share(&breakpoints));
    // Known start: the stalled step's successor deviates.
    let known = AnalysisConfig {
        deployment_start: Some(start),
        ..cfg(&linear)
    };
    let split = analyze(&timeline, &known);
    assert_eq!(split.verdict, Verdict::Deviated, "{}", split.reason);
    assert_eq!(deviated_steps(&split).first(), Some(&2), "{}", split.reason);
    // Unknown start: whatever the alignment, the stall cannot be explained.
    let split = analyze(&timeline, &cfg(&linear));
    assert_eq!(split.verdict, Verdict::Deviated, "{}", split.reason);
    println!("stall, unknown start: {}", split.reason);
}

#[test]
fn a_canary_held_past_its_end_deviates_even_with_unknown_start() {
    let canary = schedule("Canary10Percent5Minutes")
        .time_scaled(30.0)
        .unwrap();
    // 10% from 2 s to 17 s instead of 12 s.
    let timeline = Simulation {
        bin_secs: 0.1,
        ..Simulation::new(200.0, 25.0, 5)
    }
    .run(piecewise_share(&[(2.0, 0.1), (17.0, 1.0)]));
    let split = analyze(&timeline, &cfg(&canary));
    assert_eq!(split.verdict, Verdict::Deviated, "{}", split.reason);
}

/// Runs `sims` seeded simulations of a correct rollout: the prober starts 30 s before the
/// deployment and stops 60 s after it ends. Returns the number judged `Followed`.
fn correct_rollouts(name: &str, sims: u64) -> usize {
    let s = schedule(name);
    let start = 30.0;
    let duration = start + s.total_duration() + 60.0;
    let mut followed = 0;
    for seed in 0..sims {
        let timeline = sim::simulate(&s, start, RPS, duration, 1000 + seed, 0.1);
        let split = analyze(&timeline, &cfg(&s));
        if split.verdict == Verdict::Followed {
            followed += 1;
        } else {
            println!(
                "{name} seed {}: {:?}: {}",
                1000 + seed,
                split.verdict,
                split.reason
            );
        }
        assert!(
            split.rollback_at.is_none(),
            "seed {seed}: false rollback: {}",
            split.reason
        );
        let completed = split.completed_at.expect("completed");
        // The last old response before the full shift is at most a few seconds early:
        // P(no old response in the last 2 s at 10% old, 50 rps) = 0.9^100 < 3e-5.
        let full = start + s.full_shift_at();
        assert!(
            completed <= full + 0.1 && completed > full - 2.0,
            "seed {seed}: completed at {completed}"
        );
        assert!(split.is_finished());
    }
    println!(
        "{name}: {followed}/{sims} correct rollouts judged followed ({RPS} rps, start known to nobody)"
    );
    followed
}

#[test]
fn correct_linear_rollouts_pass_99_of_100() {
    assert!(correct_rollouts("Linear10PercentEvery1Minute", 100) >= 99);
}

#[test]
fn correct_canary_rollouts_pass_99_of_100() {
    assert!(correct_rollouts("Canary10Percent5Minutes", 100) >= 99);
}

#[test]
fn a_rollback_midway_is_detected_near_its_time() {
    let linear = schedule("Linear10PercentEvery1Minute");
    let start = 30.0;
    let rollback = start + 270.0; // during the 50% step
    let mut breakpoints: Vec<(f64, f64)> = linear
        .steps()
        .iter()
        .map(|s| (start + s.start, s.share))
        .filter(|(t, _)| *t < rollback)
        .collect();
    breakpoints.push((rollback, 0.0));
    let mut worst = 0.0_f64;
    for seed in 0..10 {
        let timeline =
            Simulation::new(RPS, rollback + 60.0, seed).run(piecewise_share(&breakpoints));
        let split = analyze(&timeline, &cfg(&linear));
        assert_eq!(
            split.verdict,
            Verdict::Rollback,
            "seed {seed}: {}",
            split.reason
        );
        assert!(split.is_finished());
        let at = split.rollback_at.unwrap();
        // At 50% and 50 rps, the last new response is within 0.5 s of the rollback with
        // probability 1 - 0.5^25; the bin rounds up by at most 0.1 s.
        assert!(
            at <= rollback + 0.1 && at >= rollback - 0.5,
            "seed {seed}: rollback_at {at}"
        );
        worst = worst.max((at - rollback).abs());
        let start_est = split.deployment_start.unwrap();
        assert!(
            (start_est - start).abs() < 1.0,
            "aligned on the data before the rollback: {start_est}"
        );
        assert!(
            split.steps[4..]
                .iter()
                .skip(1)
                .all(|s| s.verdict == StepVerdict::NotObserved)
        );
        assert!(
            split.steps[..4]
                .iter()
                .all(|s| s.verdict == StepVerdict::Followed),
            "{:?}",
            split.steps
        );
    }
    println!(
        "rollback at 50% (t = {rollback} s): rollback_at max error {worst:.2} s over 10 seeds"
    );
    // Without a schedule too.
    let timeline = Simulation::new(RPS, rollback + 60.0, 1).run(piecewise_share(&breakpoints));
    let split = analyze(&timeline, &AnalysisConfig::default());
    assert_eq!(split.verdict, Verdict::Rollback, "{}", split.reason);
}

#[test]
fn a_canary_rollback_is_detected_and_a_run_in_progress_is_not_finished() {
    let canary = schedule("Canary10Percent5Minutes");
    let breakpoints = [(30.0, 0.1), (150.0, 0.0)];
    let timeline = Simulation::new(RPS, 140.0, 2).run(piecewise_share(&breakpoints));
    let split = analyze(&timeline, &cfg(&canary));
    assert!(
        !split.is_finished(),
        "still in the canary: {}",
        split.reason
    );
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    let timeline = Simulation::new(RPS, 200.0, 2).run(piecewise_share(&breakpoints));
    let split = analyze(&timeline, &cfg(&canary));
    assert_eq!(split.verdict, Verdict::Rollback, "{}", split.reason);
    // At 10% and 50 rps, P(no new response in the last 3 s) = 0.9^150 < 2e-7.
    let at = split.rollback_at.unwrap();
    assert!((147.0..=150.1).contains(&at), "rollback_at {at}");
}

#[test]
fn a_time_scaled_canary_is_followed() {
    let canary = schedule("Canary10Percent5Minutes")
        .time_scaled(30.0)
        .unwrap();
    assert_eq!(canary.name(), "Canary10Percent5Minutes x30");
    let sim = Simulation {
        bin_secs: 0.05,
        ..Simulation::new(200.0, 20.0, 11)
    };
    let timeline = sim.run(schedule_share(&canary, 3.3));
    let split = analyze(&timeline, &cfg(&canary));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    assert!(
        (split.deployment_start.unwrap() - 3.3).abs() < 0.2,
        "{:?}",
        split.deployment_start
    );
    assert!(split.is_finished());
}

#[test]
fn a_third_version_is_ignored_and_mentioned() {
    let linear = schedule("Linear10PercentEvery1Minute")
        .time_scaled(6.0)
        .unwrap();
    // Seed 4 was one of the correct rollouts (about 1 in 200 at the default family-wise
    // confidence) whose steps deviate by chance: 1 of 300 seeds with and without the third
    // version.
    let sim = Simulation {
        third_version: Some(("99".to_owned(), 0.05)),
        ..Simulation::new(RPS, 130.0, 5)
    };
    let timeline = sim.run(schedule_share(&linear, 10.0));
    let split = analyze(&timeline, &cfg(&linear));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    assert_eq!(split.old_version.as_deref(), Some(OLD_VERSION));
    assert_eq!(split.new_version.as_deref(), Some(NEW_VERSION));
    assert!(split.reason.contains("version 99"), "{}", split.reason);
}

#[test]
fn given_versions_win_over_detection() {
    let linear = schedule("Linear10PercentEvery1Minute")
        .time_scaled(6.0)
        .unwrap();
    let timeline = Simulation::new(RPS, 130.0, 6).run(schedule_share(&linear, 10.0));
    let given = |from: &str, to: &str| AnalysisConfig {
        old_version: Some(from.to_owned()),
        new_version: Some(to.to_owned()),
        ..cfg(&linear)
    };
    let split = analyze(&timeline, &given(OLD_VERSION, NEW_VERSION));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    // Swapped: the "new" version's share falls, which no alignment can explain.
    let split = analyze(&timeline, &given(NEW_VERSION, OLD_VERSION));
    assert_eq!(split.new_version.as_deref(), Some(OLD_VERSION));
    assert_ne!(split.verdict, Verdict::Followed, "{}", split.reason);
    // A version that never answered.
    let split = analyze(&timeline, &given(OLD_VERSION, "42"));
    assert_eq!(split.verdict, Verdict::Inconclusive, "{}", split.reason);
    assert!(split.reason.contains("42"), "{}", split.reason);
}

#[test]
fn one_version_only() {
    let linear = schedule("Linear10PercentEvery1Minute");
    let timeline = Simulation::new(RPS, 60.0, 8).run(|_| 0.0);
    let split = analyze(&timeline, &cfg(&linear));
    assert_eq!(split.verdict, Verdict::Inconclusive);
    assert!(
        split.reason.contains("never saw a second version"),
        "{}",
        split.reason
    );
    assert!(!split.is_finished());
    let split = analyze(&timeline, &AnalysisConfig::default());
    assert_eq!(split.verdict, Verdict::Completed, "{}", split.reason);
    assert!(!split.is_finished());
    let empty = analyze(&rollout::Timeline::new(0.1), &AnalysisConfig::default());
    assert_eq!(empty.verdict, Verdict::Inconclusive);
}

#[test]
fn without_a_schedule_a_shift_completes() {
    let linear = schedule("Linear10PercentEvery1Minute")
        .time_scaled(6.0)
        .unwrap();
    let timeline = Simulation::new(RPS, 130.0, 12).run(schedule_share(&linear, 10.0));
    let split = analyze(&timeline, &AnalysisConfig::default());
    assert_eq!(split.verdict, Verdict::Completed, "{}", split.reason);
    let completed = split.completed_at.unwrap();
    assert!(
        (completed - (10.0 + linear.full_shift_at())).abs() < 2.0,
        "{completed}"
    );
    assert!(split.steps.is_empty());
    assert!(split.is_finished());
}

#[test]
fn overall_verdict_precedence() {
    let base = analyze(&rollout::Timeline::new(0.1), &AnalysisConfig::default());
    let with = |verdict| SplitAnalysis {
        verdict,
        ..base.clone()
    };
    // (split verdict, error budget exceeded, any tagged, expected)
    let table = [
        (Verdict::Rollback, true, false, Verdict::Inconclusive),
        (Verdict::Rollback, true, true, Verdict::Rollback),
        (Verdict::Deviated, true, true, Verdict::ErrorBudget),
        (Verdict::Followed, true, true, Verdict::ErrorBudget),
        (Verdict::Deviated, false, true, Verdict::Deviated),
        (Verdict::Inconclusive, false, true, Verdict::Inconclusive),
        (Verdict::Followed, false, true, Verdict::Followed),
        (Verdict::Completed, false, true, Verdict::Completed),
    ];
    for (split, budget, tagged, expected) in table {
        let (got, reason) = overall(&with(split), budget, tagged);
        assert_eq!(
            got, expected,
            "{split:?} budget={budget} tagged={tagged}: {reason}"
        );
        assert!(!reason.is_empty());
    }
}

#[test]
fn all_at_once_is_aligned_to_the_switch() {
    let all = schedule("AllAtOnce");
    let timeline = sim::simulate(&all, 40.04, RPS, 80.0, 21, 0.1);
    let split = analyze(&timeline, &cfg(&all));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    let start = split.deployment_start.unwrap();
    // 5 requests per bin: the switch is located to the bin it falls in.
    assert!((start - 40.04).abs() <= 0.1, "{start}");
    assert!(split.is_finished());
}

#[test]
fn a_prober_started_mid_deployment_aligns_to_a_negative_start() {
    let linear = schedule("Linear10PercentEvery1Minute");
    // The deployment started 200 s before the prober's origin (in step 3, 40%).
    let timeline = sim::simulate(&linear, -200.0, RPS, 460.0, 13, 0.1);
    let split = analyze(&timeline, &cfg(&linear));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    let start = split.deployment_start.unwrap();
    assert!((start + 200.0).abs() < 1.0, "{start}");
    let not_observed: Vec<usize> = split
        .steps
        .iter()
        .filter(|s| s.verdict == StepVerdict::NotObserved)
        .map(|s| s.index)
        .collect();
    assert_eq!(not_observed, vec![0, 1, 2]);
}

#[test]
fn config_validation_names_the_bad_setting() {
    assert!(AnalysisConfig::default().validate().is_ok());
    let table = [
        (
            AnalysisConfig {
                confidence: 1.0,
                ..AnalysisConfig::default()
            },
            "confidence 1",
        ),
        (
            AnalysisConfig {
                tolerance: -0.1,
                ..AnalysisConfig::default()
            },
            "tolerance -0.1",
        ),
        (
            AnalysisConfig {
                guard_secs: Some(f64::NAN),
                ..AnalysisConfig::default()
            },
            "guard band NaN",
        ),
        (
            AnalysisConfig {
                deployment_start: Some(f64::INFINITY),
                ..AnalysisConfig::default()
            },
            "deployment start inf",
        ),
    ];
    for (cfg, fragment) in table {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(fragment), "{err}");
    }
}
