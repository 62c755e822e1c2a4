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

    /// Version 2's weight after each change.
    fn weights(&self) -> Vec<f64> {
        self.changes.iter().map(|c| c.1).collect()
    }

    /// The prober's `field` (`completed_at`, `rollback_at`) against the lab's instant.
    fn instant_agrees(&self, report: &Value, field: &str, lab: Option<f64>) {
        let lab = lab.unwrap_or_else(|| panic!("the lab has no {field}: {:?}", self.changes));
        let prober = report[field]
            .as_f64()
            .unwrap_or_else(|| panic!("the prober has no {field}: {report}"));
        assert_close(field, prober, lab, BIN_SLACK);
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

/// The flags of a rehearsal of `config` at `time_scale`, 50 rps after a 3 s baseline, then
/// `more`.
fn flags<'a>(config: &'a str, time_scale: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec![
        "--deployment-config",
        config,
        "--time-scale",
        time_scale,
        "--rps",
        "50",
        "--baseline",
        "3s",
    ];
    flags.extend_from_slice(more);
    flags
}

/// The prober's report and the lab's ground truth of a rehearsal that exited with `code`.
fn finished(
    rehearsal: &Rehearsal,
    output: &std::process::Output,
    code: i32,
) -> (Value, GroundTruth) {
    assert_eq!(exit_code(output), code, "{}", explain(output));
    let report = rehearsal.report();
    let truth = GroundTruth::of(rehearsal, &report);
    (report, truth)
}

/// Every judged step and the extension's counts agree with the lab; how many steps were
/// checked.
fn both_sides_agree(rehearsal: &Rehearsal, report: &Value, truth: &GroundTruth) -> usize {
    let checked = steps_agree_with_the_lab(report, &truth.changes);
    emf_counts_agree(rehearsal, report, 50.0);
    checked
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
    let output = rehearsal.run(&flags("linear:25%:1m", "20", &["--estimate-start"]));
    let (report, truth) = finished(&rehearsal, &output, 0);
    assert_eq!(report["verdict"], "followed");
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
    truth.instant_agrees(&report, "completed_at", truth.full_shift());
    assert!(report["rollback_at"].is_null());
    let checked = both_sides_agree(&rehearsal, &report, &truth);
    assert!(checked >= 3, "{checked} steps checked: {report}");
    assert_eq!(rehearsal.result()["agreement"], "agree");
}

#[test]
fn a_canary_deployment() {
    let rehearsal = Rehearsal::new();
    // 10 % for five minutes at a time scale of 60: 5 s, then all.
    let output = rehearsal.run(&flags("Canary10Percent5Minutes", "60", &[]));
    let (report, truth) = finished(&rehearsal, &output, 0);
    assert_eq!(truth.status, "Succeeded");
    assert_eq!(truth.weights(), [0.1, 1.0]);
    assert_close(
        "deployment start",
        report["deployment_start"].as_f64().unwrap(),
        truth.first_shift(),
        0.1,
    );
    truth.instant_agrees(&report, "completed_at", truth.full_shift());
    assert!(both_sides_agree(&rehearsal, &report, &truth) >= 1);
}

#[test]
fn an_all_at_once_deployment() {
    let rehearsal = Rehearsal::new();
    let output = rehearsal.run(&flags("AllAtOnce", "1", &[]));
    let (report, truth) = finished(&rehearsal, &output, 0);
    assert_eq!(truth.status, "Succeeded");
    assert_eq!(truth.weights(), [1.0]);
    truth.instant_agrees(&report, "completed_at", truth.full_shift());
    both_sides_agree(&rehearsal, &report, &truth);
}

#[test]
fn a_bad_release_is_rolled_back_by_the_alarm_on_the_extension_s_metrics() {
    let rehearsal = Rehearsal::new();
    // A 3 s alarm period (60 s at 20); version 2 fails half of its requests.
    let output = rehearsal.run(&flags("linear:25%:1m", "20", &["--bad-release", "0.5"]));
    let (report, truth) = finished(&rehearsal, &output, 2);
    assert_eq!(report["verdict"], "rollback");
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
    truth.instant_agrees(&report, "rollback_at", truth.rollback());
    both_sides_agree(&rehearsal, &report, &truth);
    let result = rehearsal.result();
    assert_eq!(result["agreement"], "agree");
    assert_eq!(result["lab"]["rolled_back"], true);
}

/// `--template` and the repository's template.yaml.
fn from_template<'a>(template: &'a str, mut flags: Vec<&'a str>) -> Vec<&'a str> {
    flags.extend(["--template", template]);
    flags
}

#[test]
fn from_the_template_a_linear_release_is_seen_alike_by_both_sides() {
    let template = rollcall_e2e::workspace_root().join("template.yaml");
    let template = template.to_str().unwrap();
    let rehearsal = Rehearsal::new();
    // The template's DeploymentType, ten 1-minute steps at a time scale of 60: 1 s each.
    let output = rehearsal.run(&from_template(
        template,
        flags("Linear10PercentEvery1Minute", "60", &[]),
    ));
    let (report, truth) = finished(&rehearsal, &output, 0);
    assert_eq!(truth.status, "Succeeded");
    assert_eq!(truth.changes.len(), 10, "{:?}", truth.changes);
    // CloudFormation published version 2 before the shift: the deployment starts on time.
    assert_close(
        "deployment start",
        report["deployment_start"].as_f64().unwrap(),
        truth.first_shift(),
        0.1,
    );
    both_sides_agree(&rehearsal, &report, &truth);
    assert_eq!(rehearsal.result()["agreement"], "agree");
    let build = rehearsal.out().join("build/template-v2.json");
    let built: Value = serde_json::from_str(&std::fs::read_to_string(build).unwrap()).unwrap();
    assert_eq!(
        built["Resources"]["HelloFunction"]["Properties"]["Environment"]["Variables"]["HELLO_LATENCY_MS"],
        "2..6",
        "version 2 is the template with hello's literal values changed"
    );
}

#[test]
fn from_the_template_a_bad_release_is_rolled_back_by_the_template_s_alarm() {
    let template = rollcall_e2e::workspace_root().join("template.yaml");
    let template = template.to_str().unwrap();
    let rehearsal = Rehearsal::new();
    let output = rehearsal.run(&from_template(
        template,
        flags(
            "Linear10PercentEvery1Minute",
            "20",
            &["--bad-release", "0.5"],
        ),
    ));
    let (report, truth) = finished(&rehearsal, &output, 2);
    assert_eq!(report["verdict"], "rollback");
    assert_eq!(truth.status, "Stopped");
    let alarm = rehearsal
        .events()
        .into_iter()
        .find(|e| e["type"] == "alarmTransition" && e["to"] == "ALARM")
        .expect("an alarm went to ALARM");
    assert!(
        alarm["alarm"]
            .as_str()
            .unwrap()
            .contains("NewVersionErrorRateAlarm"),
        "the template's own alarm: {alarm}"
    );
    truth.instant_agrees(&report, "rollback_at", truth.rollback());
    assert_eq!(rehearsal.result()["agreement"], "agree");
}

#[test]
fn a_deployment_stopped_on_request_rolls_back_and_the_prober_sees_it() {
    let aws = rollcall_e2e::tool::AWS_CLI
        .locate()
        .unwrap_or_else(|e| panic!("{e}"));
    let rehearsal = Rehearsal::new();
    let child = rehearsal.spawn(&flags("linear:10%:1m", "12", &[]));
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
    let (report, truth) = finished(&rehearsal, &output, 2);
    assert_eq!(truth.status, "Stopped");
    truth.instant_agrees(&report, "rollback_at", truth.rollback());
    assert!(both_sides_agree(&rehearsal, &report, &truth) >= 1);
}

#[test]
fn a_failed_post_traffic_hook_rolls_back_from_all_traffic_and_the_prober_sees_it() {
    let rehearsal = Rehearsal::new();
    // Canary 10 % for 5 minutes at 60: 5 s, then 100 %; the Rust hook's check then fails.
    let hook = exe("rollcall-hook");
    let output = rehearsal.run(&flags(
        "Canary10Percent5Minutes",
        "60",
        &[
            "--post-traffic-hook",
            "fail",
            "--hook",
            hook.to_str().unwrap(),
        ],
    ));
    let (report, truth) = finished(&rehearsal, &output, 2);
    assert_eq!(report["verdict"], "rollback");
    assert_eq!(truth.status, "Failed");
    assert_eq!(truth.weights(), [0.1, 1.0, 0.0], "all traffic, then back");
    let events = rehearsal.events();
    let result = events
        .iter()
        .find(|e| e["type"] == "hookResult")
        .expect("the hook's result");
    assert_eq!(result["lifecycleEvent"], "AfterAllowTraffic");
    assert_eq!(result["status"], "Failed");
    truth.instant_agrees(&report, "rollback_at", truth.rollback());
    assert!(both_sides_agree(&rehearsal, &report, &truth) >= 1);
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
