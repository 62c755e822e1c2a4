//! The rehearsal end to end (issue 10, item 8): `rollcall-lab rehearse` runs the lab, the real
//! prober, `hello` behind the rollcall layer, and a CodeDeploy deployment through the lab's
//! APIs. For a linear, a canary and an all-at-once deployment, a rollback by alarm, a rollback
//! by a failed hook (the Rust hook) and a stop on request, the prober's report (start, per-step shares, rollback and completion times)
//! agrees with the lab's event log within bounds derived from the sample sizes, and the
//! extension's EMF counts per version agree with the prober's.

#[path = "rehearsal/support.rs"]
mod support;

use std::process::Command;

use serde_json::Value;
use support::*;

/// The first and last weight change (seconds since the prober's origin), the rollback's if
/// any, and the deployment's final status, from the event log.
struct GroundTruth {
    changes: Vec<(f64, f64)>,
    status: String,
}

impl GroundTruth {
    fn of(rehearsal: &Rehearsal, report: &Value) -> Self {
        let events = rehearsal.events();
        let origin_ms = report["started_at_unix_ms"].as_f64().unwrap();
        let status = events
            .iter()
            .rev()
            .find(|e| e["type"] == "deploymentStatus")
            .map(|e| e["status"].as_str().unwrap().to_owned())
            .expect("a deployment status in the event log");
        Self {
            changes: weight_changes(&events, origin_ms),
            status,
        }
    }

    fn first_shift(&self) -> f64 {
        self.changes.first().expect("a weight change").0
    }

    /// When version 2 took all traffic.
    fn full_shift(&self) -> Option<f64> {
        self.changes.iter().find(|(_, w)| *w == 1.0).map(|c| c.0)
    }

    /// When version 2's weight went back to 0 after it had been positive.
    fn rollback(&self) -> Option<f64> {
        rollback_at(&self.changes)
    }
}

/// The prober's instants are resolved to its 1 s bins; the lab's are exact.
const BIN_SLACK: f64 = 1.05;

fn assert_close(what: &str, prober: f64, lab: f64, slack: f64) {
    assert!(
        (prober - lab).abs() <= slack,
        "{what}: the prober says {prober:.3} s, the lab {lab:.3} s (slack {slack} s)"
    );
}

fn exit_code(output: &std::process::Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn explain(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_linear_deployment_seen_by_a_prober_that_estimates_its_start() {
    let rehearsal = Rehearsal::new();
    // Four 25 % steps of one minute at a time scale of 20: 3 s each.
    let output = rehearsal.run(&[
        "--deployment-config",
        "linear:25%:1m",
        "--time-scale",
        "20",
        "--rps",
        "50",
        "--baseline",
        "3s",
        "--estimate-start",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", explain(&output));
    let report = rehearsal.report();
    assert_eq!(report["verdict"], "followed");
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Succeeded");
    assert_eq!(truth.changes.len(), 4, "{:?}", truth.changes);
    // The prober was not told the start: its estimate holds the lab's first shift.
    let estimated = report["deployment_start"].as_f64().unwrap();
    assert_close(
        "deployment start",
        estimated,
        truth.first_shift(),
        BIN_SLACK,
    );
    assert_close(
        "completion",
        report["completed_at"].as_f64().unwrap(),
        truth.full_shift().unwrap(),
        BIN_SLACK,
    );
    assert!(report["rollback_at"].is_null());
    let checked = steps_agree_with_the_lab(&report, &truth.changes);
    assert!(checked >= 3, "{checked} steps checked: {report}");
    emf_counts_agree(&rehearsal, &report, 50.0);
    assert_eq!(rehearsal.result()["agreement"], "agree");
}

#[test]
fn a_canary_deployment() {
    let rehearsal = Rehearsal::new();
    // 10 % for five minutes at a time scale of 60: 5 s, then all.
    let output = rehearsal.run(&[
        "--deployment-config",
        "Canary10Percent5Minutes",
        "--time-scale",
        "60",
        "--rps",
        "50",
        "--baseline",
        "3s",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", explain(&output));
    let report = rehearsal.report();
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Succeeded");
    let weights: Vec<f64> = truth.changes.iter().map(|c| c.1).collect();
    assert_eq!(weights, [0.1, 1.0]);
    assert_close(
        "deployment start",
        report["deployment_start"].as_f64().unwrap(),
        truth.first_shift(),
        0.1,
    );
    assert_close(
        "completion",
        report["completed_at"].as_f64().unwrap(),
        truth.full_shift().unwrap(),
        BIN_SLACK,
    );
    assert!(steps_agree_with_the_lab(&report, &truth.changes) >= 1);
    emf_counts_agree(&rehearsal, &report, 50.0);
}

#[test]
fn an_all_at_once_deployment() {
    let rehearsal = Rehearsal::new();
    let output = rehearsal.run(&[
        "--deployment-config",
        "AllAtOnce",
        "--rps",
        "50",
        "--baseline",
        "3s",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", explain(&output));
    let report = rehearsal.report();
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Succeeded");
    let weights: Vec<f64> = truth.changes.iter().map(|c| c.1).collect();
    assert_eq!(weights, [1.0]);
    assert_close(
        "completion",
        report["completed_at"].as_f64().unwrap(),
        truth.full_shift().unwrap(),
        BIN_SLACK,
    );
    steps_agree_with_the_lab(&report, &truth.changes);
    emf_counts_agree(&rehearsal, &report, 50.0);
}

#[test]
fn a_bad_release_is_rolled_back_by_the_alarm_on_the_extension_s_metrics() {
    let rehearsal = Rehearsal::new();
    // A 3 s alarm period (60 s at 20); version 2 fails half of its requests.
    let output = rehearsal.run(&[
        "--deployment-config",
        "linear:25%:1m",
        "--time-scale",
        "20",
        "--rps",
        "50",
        "--baseline",
        "3s",
        "--bad-release",
        "0.5",
    ]);
    assert_eq!(exit_code(&output), 2, "{}", explain(&output));
    let report = rehearsal.report();
    assert_eq!(report["verdict"], "rollback");
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Stopped");
    let events = rehearsal.events();
    let alarm = events
        .iter()
        .find(|e| e["type"] == "alarmTransition" && e["to"] == "ALARM")
        .expect("the alarm went to ALARM");
    assert!(
        alarm["datapoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["breaching"] == true)
    );
    let rollback = truth.rollback().expect("the lab rolled back");
    assert_close(
        "rollback",
        report["rollback_at"].as_f64().unwrap(),
        rollback,
        BIN_SLACK,
    );
    steps_agree_with_the_lab(&report, &truth.changes);
    emf_counts_agree(&rehearsal, &report, 50.0);
    let result = rehearsal.result();
    assert_eq!(result["agreement"], "agree");
    assert_eq!(result["lab"]["rolled_back"], true);
}

#[test]
fn a_deployment_stopped_on_request_rolls_back_and_the_prober_sees_it() {
    let aws = rollcall_e2e::tool::AWS_CLI
        .locate()
        .unwrap_or_else(|e| panic!("{e}"));
    let rehearsal = Rehearsal::new();
    let child = rehearsal.spawn(&[
        "--deployment-config",
        "linear:10%:1m",
        "--time-scale",
        "12",
        "--rps",
        "50",
        "--baseline",
        "3s",
    ]);
    // Once the second step is applied, a user stops the deployment with the AWS CLI.
    rehearsal.wait_for_event("second step", |e| {
        e["type"] == "deploymentProgress" && e["step"].as_u64() >= Some(2)
    });
    let ready: Value = serde_json::from_str(
        &std::fs::read_to_string(rehearsal.out().join("lab.ready.json")).unwrap(),
    )
    .unwrap();
    let id = rehearsal
        .events()
        .iter()
        .find_map(|e| e["deploymentId"].as_str().map(str::to_owned))
        .unwrap();
    let stop =
        rollcall_e2e::tool::aws_command(&aws, "deploy", ready["lambda_url"].as_str().unwrap())
            .args([
                "stop-deployment",
                "--deployment-id",
                &id,
                "--auto-rollback-enabled",
            ])
            .output()
            .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let output = child.wait();
    assert_eq!(exit_code(&output), 2, "{}", explain(&output));
    let report = rehearsal.report();
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Stopped");
    assert_close(
        "rollback",
        report["rollback_at"].as_f64().unwrap(),
        truth.rollback().unwrap(),
        BIN_SLACK,
    );
    assert!(steps_agree_with_the_lab(&report, &truth.changes) >= 1);
    emf_counts_agree(&rehearsal, &report, 50.0);
}

#[test]
fn a_failed_post_traffic_hook_rolls_back_from_all_traffic_and_the_prober_sees_it() {
    let rehearsal = Rehearsal::new();
    // Canary 10 % for 5 minutes at 60: 5 s, then 100 %; the Rust hook's check then fails.
    let hook = exe("rollcall-hook");
    let output = rehearsal.run(&[
        "--deployment-config",
        "Canary10Percent5Minutes",
        "--time-scale",
        "60",
        "--rps",
        "50",
        "--baseline",
        "3s",
        "--post-traffic-hook",
        "fail",
        "--hook",
        hook.to_str().unwrap(),
    ]);
    assert_eq!(exit_code(&output), 2, "{}", explain(&output));
    let report = rehearsal.report();
    assert_eq!(report["verdict"], "rollback");
    let truth = GroundTruth::of(&rehearsal, &report);
    assert_eq!(truth.status, "Failed");
    let weights: Vec<f64> = truth.changes.iter().map(|c| c.1).collect();
    assert_eq!(weights, [0.1, 1.0, 0.0], "all traffic, then back");
    let events = rehearsal.events();
    let result = events
        .iter()
        .find(|e| e["type"] == "hookResult")
        .expect("the hook's result");
    assert_eq!(result["lifecycleEvent"], "AfterAllowTraffic");
    assert_eq!(result["status"], "Failed");
    assert_close(
        "completion",
        report["completed_at"]
            .as_f64()
            .unwrap_or(truth.full_shift().unwrap()),
        truth.full_shift().unwrap(),
        BIN_SLACK,
    );
    assert_close(
        "rollback",
        report["rollback_at"].as_f64().unwrap(),
        truth.rollback().unwrap(),
        BIN_SLACK,
    );
    assert!(steps_agree_with_the_lab(&report, &truth.changes) >= 1);
    emf_counts_agree(&rehearsal, &report, 50.0);
    assert_eq!(rehearsal.result()["agreement"], "agree");
}

#[test]
fn bad_flags_are_refused_before_anything_starts() {
    let rehearsal = Rehearsal::new();
    for (args, needle) in [
        (
            &["--deployment-config", "linear:10%:30s"][..],
            "whole minutes",
        ),
        (&["--time-scale", "0"], "--time-scale"),
        (&["--bad-release", "2"], "--bad-release"),
    ] {
        let output = rehearsal.run(args);
        assert_eq!(exit_code(&output), 64, "{args:?}: {}", explain(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line, no backtrace: {stderr}"
        );
        assert!(!rehearsal.out().join("lab.yaml").exists());
    }
    // A code dir that is not there: the lab's spec names it.
    let output = Command::new(exe("rollcall-lab"))
        .args([
            "rehearse",
            "--code",
            "/nonexistent/code",
            "--layer",
            "/nonexistent/layer",
        ])
        .arg("--prober")
        .arg(exe("prober"))
        .arg("--out")
        .arg(rehearsal.out())
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 64, "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/"));
}
