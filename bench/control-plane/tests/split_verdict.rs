//! The split verdict: Holm's procedure over the steps decides, and the verdict names the
//! weight and path that deviate. Counts are built around each weight's expectation with
//! deviations in standard deviations of the binomial share, so nothing depends on a run.

use control_plane_bench::split_verdict::{Path, SplitJudgement, StepCount};

const N: u64 = 10_000;
const WEIGHTS: [f64; 8] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/// A step whose version-2 count lies `sigmas` binomial standard deviations from the weight.
fn step(weight: f64, sigmas: f64) -> StepCount {
    let n = N as f64;
    let sd = (n * weight * (1.0 - weight)).sqrt();
    StepCount {
        weight,
        path: Path::Sdk,
        n: N,
        new_version: (n * weight + sigmas * sd).round() as u64,
    }
}

#[test]
fn counts_at_the_weights_are_consistent_and_each_interval_holds_its_share() {
    let counts: Vec<StepCount> = WEIGHTS.iter().map(|&w| step(w, 0.5)).collect();
    let judgement = SplitJudgement::of(&counts, 0.01, 0.99);
    assert!(judgement.consistent(), "{}", judgement.table());
    assert!(
        judgement.verdict().starts_with("verdict: consistent"),
        "{}",
        judgement.verdict()
    );
    for s in &judgement.steps {
        assert!(s.p_value > 0.01, "{s:?}");
        let (low, high) = s.interval;
        assert!(low < s.observed && s.observed < high, "{s:?}");
        assert!(low < s.count.weight && s.count.weight < high, "{s:?}");
    }
}

#[test]
fn a_step_six_sigmas_off_is_rejected_and_named() {
    let mut counts: Vec<StepCount> = WEIGHTS.iter().map(|&w| step(w, 0.0)).collect();
    counts[4] = StepCount {
        path: Path::FrontDoor,
        ..step(0.5, 6.0)
    };
    let judgement = SplitJudgement::of(&counts, 0.01, 0.99);
    assert!(!judgement.consistent());
    let rejected: Vec<_> = judgement.steps.iter().filter(|s| s.rejected).collect();
    assert_eq!(rejected.len(), 1, "{}", judgement.table());
    assert_eq!(rejected[0].count.weight, 0.5);
    let (low, high) = rejected[0].interval;
    assert!(!(low..=high).contains(&0.5), "{:?}", rejected[0]);
    let verdict = judgement.verdict();
    assert!(verdict.contains("NOT consistent"), "{verdict}");
    assert!(verdict.contains("weight 0.5 (front-door)"), "{verdict}");
    assert!(judgement.table().contains("REJECTED"));
}

#[test]
fn holm_keeps_a_deviation_that_only_one_test_alone_would_reject() {
    // About 2.8 sigmas: p near 0.005, under alpha but over alpha / 8.
    let off = step(0.5, 2.8);
    let alone = SplitJudgement::of(&[off], 0.01, 0.99);
    let p = alone.steps[0].p_value;
    assert!(0.01 / 8.0 < p && p < 0.01, "p {p}");
    assert!(!alone.consistent(), "{}", alone.table());
    let mut counts: Vec<StepCount> = WEIGHTS.iter().map(|&w| step(w, 0.0)).collect();
    counts[4] = off;
    let family = SplitJudgement::of(&counts, 0.01, 0.99);
    assert!(family.consistent(), "{}", family.table());
    assert_eq!(family.steps[4].holm_level, 0.01 / 8.0);
}
