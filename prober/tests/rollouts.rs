//! Compressed rollouts with an unknown start: the prober must align the schedule, follow it, and
//! tell a stall and a rollback apart, against a server whose ground truth we know.

mod common;

use std::time::Duration;

use common::checks::{
    START_TOLERANCE_SECS, assert_accounted, assert_all_steps_followed, assert_start_near,
    assert_step_shares,
};
use common::{ServerConfig, TestServer, WeightPlan, base_args, run_prober, truth_deployment_start};
use rollout::Verdict;
use rollout::report::StepVerdict;
use rollout::schedule::Schedule;

/// Seconds between the server's start and the deployment's: the prober sees the old version
/// alone first, and must find the start by itself.
const DEPLOYMENT_DELAY: Duration = Duration::from_secs(2);

/// A seeded server whose deployment of `spec` starts [`DEPLOYMENT_DELAY`] after it does.
fn deploying(spec: &str, seed: u64) -> ServerConfig {
    ServerConfig {
        plan: WeightPlan::from_schedule(spec),
        deployment_delay: DEPLOYMENT_DELAY,
        seed,
        ..Default::default()
    }
}

/// The prober at 200 rps against `server` for `duration`, told the schedule `spec`.
fn rollout_args(server: &TestServer, duration: &str, spec: &str) -> Vec<String> {
    let mut args = base_args(&server.url("/"), 200, duration);
    args.extend(["--schedule".to_owned(), spec.to_owned()]);
    args
}

/// The server's ground truth is the routing the deployment model applies: the schedule's
/// shares from each step's start, and the old version alone from a rollback on.
#[test]
fn the_servers_plan_is_the_deployment_models_routing() {
    for spec in [
        "linear:10%:1s",
        "canary:20%:3s",
        "linear:25%:3s",
        "Canary10Percent5Minutes",
        "AllAtOnce",
    ] {
        let plan = WeightPlan::from_schedule(spec);
        let schedule = Schedule::parse(spec).unwrap();
        assert_eq!(plan.weight(-0.001), 0.0, "{spec}: nothing before the start");
        let mut before = 0.0;
        for step in schedule.steps() {
            assert_eq!(plan.weight(step.start - 0.001), before, "{spec}: {step:?}");
            assert_eq!(plan.weight(step.start), step.share, "{spec}: {step:?}");
            before = step.share;
        }
        assert_eq!(plan.weight(schedule.total_duration() + 60.0), 1.0, "{spec}");
    }
    let rolled = WeightPlan::from_schedule("linear:10%:1s").rolled_back_at(4.5);
    assert_eq!(rolled.weight(4.499), 0.5);
    assert_eq!(rolled.weight(4.5), 0.0, "back to the old version at once");
    assert_eq!(rolled.weight(60.0), 0.0, "and for good");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_rollout_with_unknown_start_is_followed() {
    let spec = "linear:10%:1s";
    let schedule = Schedule::parse(spec).unwrap();
    let server = TestServer::start(ServerConfig {
        cold_marks: true,
        ..deploying(spec, 1)
    })
    .await;
    // 2 s of old only, the 10 s deployment, 2 s of new only.
    let run = run_prober(&rollout_args(&server, "14s", spec)).await;
    let report = run.report();
    let truth = server.truth();

    run.assert_verdict(Verdict::Followed, 0);
    assert_eq!(report.old_version.as_deref(), Some("7"));
    assert_eq!(report.new_version.as_deref(), Some("8"));
    assert_start_near(report, truth_deployment_start(&server, report));
    assert_accounted(&truth, report);
    assert_eq!(
        truth.by_version["8"].cold, 1,
        "the server marked one cold start per version"
    );
    assert_step_shares(report, &schedule);
    assert_all_steps_followed(report);
    assert!(
        report.rollback_at.is_none(),
        "no rollback: {:?}",
        report.rollback_at
    );
    // The run ends ~3 s after the shift to 100%: shorter than the 5 s stretch the analysis
    // requires to call the deployment complete (the canary test covers completion).
    run.assert_written_report_is_returned();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_rollout_read_from_the_body_is_followed() {
    let spec = "canary:20%:3s";
    let schedule = Schedule::parse(spec).unwrap();
    let server = TestServer::start(ServerConfig {
        version_in_body: true,
        ..deploying(spec, 2)
    })
    .await;
    // 2 s of old only, the 3 s canary, then 6 s at 100%: long enough (> 5 s) to call it complete.
    let mut args = rollout_args(&server, "11s", spec);
    args.extend(
        [
            "--version-json",
            "/version",
            "--from-version",
            "7",
            "--to-version",
            "8",
        ]
        .map(String::from),
    );
    let run = run_prober(&args).await;
    let report = run.report();
    let truth = server.truth();

    run.assert_verdict(Verdict::Followed, 0);
    assert_eq!(report.old_version.as_deref(), Some("7"));
    assert_eq!(report.new_version.as_deref(), Some("8"));
    assert_start_near(report, truth_deployment_start(&server, report));
    assert_accounted(&truth, report);
    assert_step_shares(report, &schedule);
    let canary = &report.steps[0];
    assert_eq!(canary.verdict, StepVerdict::Followed, "{canary:?}");
    assert!(
        canary.requests >= 300,
        "3 s at 200 rps minus guard bands: {canary:?}"
    );
    let completed = report.completed_at.expect("the shift to 100% was seen");
    let truth_full = truth_deployment_start(&server, report) + schedule.full_shift_at();
    assert!(
        (completed - truth_full).abs() <= START_TOLERANCE_SECS,
        "completed_at {completed:.3} s, truth {truth_full:.3} s"
    );
    assert!(
        report.rollback_at.is_none(),
        "no rollback: {:?}",
        report.rollback_at
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_step_is_flagged_as_deviated() {
    // 3 s steps of 25%: outside the guard bands (~0.5 s each side) a step holds ~400 responses at
    // 200 rps. The prober's interval (family-wise 0.999 over ~4 judged steps: z ~ 3.7) on a 50%
    // share is then +-0.09, plus its 0.02 tolerance: 75% lies > 5 standard errors beyond it.
    let spec = "linear:25%:3s";
    let schedule = Schedule::parse(spec).unwrap();
    // The alias reaches 50% (step 1) and stays there: step 2 (75%) is the first one missed.
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_schedule(spec).stalled_at(3.0),
        ..deploying(spec, 3)
    })
    .await;
    // 2 s of old only, then steps 0..=2 (9 s).
    let run = run_prober(&rollout_args(&server, "11s", spec)).await;
    let report = run.report();
    let truth = server.truth();

    run.assert_verdict(Verdict::Deviated, 1);
    assert_accounted(&truth, report);
    assert_start_near(report, truth_deployment_start(&server, report));
    for step in &report.steps[..2] {
        assert_eq!(
            step.verdict,
            StepVerdict::Followed,
            "steps up to the stall follow: {step:?}"
        );
    }
    let first_missed = report
        .steps
        .iter()
        .find(|s| s.verdict == StepVerdict::Deviated)
        .unwrap_or_else(|| panic!("a deviated step: {:?}", report.steps));
    assert_eq!(
        first_missed.index, 2,
        "the step after the stall is flagged: {:?}",
        report.steps
    );
    assert!((first_missed.expected_share - schedule.steps()[2].share).abs() < 1e-9);
    let (lo, hi) = (first_missed.ci_low.unwrap(), first_missed.ci_high.unwrap());
    assert!(
        lo <= 0.5 && 0.5 <= hi,
        "the interval holds the stalled 50%: [{lo}, {hi}]"
    );
    assert!(report.rollback_at.is_none(), "a stall is no rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_midway_is_detected_near_its_time() {
    let spec = "linear:10%:1s";
    let rollback_after = 4.5; // seconds into the deployment, at 50%
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_schedule(spec).rolled_back_at(rollback_after),
        ..deploying(spec, 4)
    })
    .await;
    // 2 s of old only, 4.5 s of the deployment, then 5.5 s back on the old version: the
    // analysis calls a zero stretch a rollback once it lasts 5 s.
    let run = run_prober(&rollout_args(&server, "12s", spec)).await;
    let report = run.report();
    let truth = server.truth();

    run.assert_verdict(Verdict::Rollback, 2);
    assert_accounted(&truth, report);
    let truth_at = truth_deployment_start(&server, report) + rollback_after;
    let rollback_at = report.rollback_at.expect("rollback_at is set");
    // After the rollback every 0.1 s bin (20 requests) holds no new version; just before it, at
    // 50% new, a bin holds none with probability 0.5^20 ~ 1e-6: the last bin with the new version
    // is within a bin or two of the truth.
    assert!(
        (rollback_at - truth_at).abs() <= START_TOLERANCE_SECS,
        "rollback_at {rollback_at:.3} s, truth {truth_at:.3} s"
    );
    assert!(
        report.completed_at.is_none(),
        "a rolled-back deployment never completes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_start_given_as_an_instant_is_used_as_is() {
    let spec = "canary:30%:2s";
    let schedule = Schedule::parse(spec).unwrap();
    let server = TestServer::start(ServerConfig {
        deployment_delay: Duration::from_secs(1),
        ..deploying(spec, 15)
    })
    .await;
    let nanos = (server.deployment_start_unix_ms() * 1e6) as i128;
    let instant = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut args = rollout_args(&server, "5s", spec);
    args.extend(["--deployment-start".to_owned(), instant]);
    let run = run_prober(&args).await;
    let report = run.report();

    let truth = truth_deployment_start(&server, report);
    let given = report.deployment_start.expect("the given start");
    // Only the report's millisecond origin separates the two.
    assert!(
        (given - truth).abs() < 0.002,
        "deployment_start {given} vs given {truth}"
    );
    assert_eq!(
        report.verdict,
        Verdict::Followed,
        "{}",
        report.verdict_reason
    );
    assert_accounted(&server.truth(), report);
    assert_step_shares(report, &schedule);
    let canary = &report.steps[0];
    assert!(
        (canary.start - truth).abs() < 0.002,
        "steps are placed from the given start: {canary:?}"
    );
}
