//! The rehearsal's pure parts: flags to plan, the files it writes, the agreement of both sides.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use super::*;

#[derive(Debug, Parser)]
struct Wrapper {
    #[command(flatten)]
    args: RehearseArgs,
}

fn plan(extra: &[&str]) -> Result<Plan, PlanError> {
    let mut argv = vec![
        "rehearse",
        "--code",
        "code",
        "--layer",
        "layer",
        "--prober",
        "/bin/prober",
    ];
    argv.extend_from_slice(extra);
    Plan::from_args(&Wrapper::parse_from(argv).args)
}

#[test]
fn the_default_is_linear_10_percent_every_minute_in_about_a_minute() {
    let plan = plan(&[]).unwrap();
    assert_eq!(
        plan.config,
        DeploymentConfig::Predefined("CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into())
    );
    assert_eq!(plan.time_scale, 10.0);
    assert_eq!(plan.shift_duration(), Duration::from_secs(60));
    assert_eq!(plan.fail_rate, None);
    assert_eq!(plan.added_latency_ms.as_deref(), Some("2..6"));
    assert_eq!(plan.prober, PathBuf::from("/bin/prober"));
}

#[test]
fn the_default_time_scale_makes_any_schedule_last_about_a_minute_and_never_slows_it() {
    for (config, scale) in [
        ("Canary10Percent30Minutes", 30.0),
        (
            "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
            100.0,
        ),
        ("AllAtOnce", 1.0),
        ("canary:25%:1m", 1.0),
    ] {
        assert_eq!(
            plan(&["--deployment-config", config]).unwrap().time_scale,
            scale,
            "{config}"
        );
    }
    assert_eq!(plan(&["--time-scale", "60"]).unwrap().time_scale, 60.0);
}

#[test]
fn custom_configurations_become_codedeploy_custom_configs_in_whole_minutes() {
    let p = plan(&["--deployment-config", "linear:20%:2m"]).unwrap();
    assert_eq!(
        p.config,
        DeploymentConfig::Custom {
            linear: true,
            percentage: 20,
            interval_minutes: 2
        }
    );
    assert_eq!(
        p.config.name(),
        "Rollcall.LambdaLinear20PercentEvery2Minutes"
    );
    assert_eq!(
        plan(&["--deployment-config", "AllAtOnce"]).unwrap().config,
        DeploymentConfig::Predefined("CodeDeployDefault.LambdaAllAtOnce".into())
    );
}

#[test]
fn bad_flags_are_refused_naming_the_flag_and_the_fix() {
    for (args, flag, needle) in [
        (
            &["--deployment-config", "linear:20%:30s"][..],
            "--deployment-config",
            "whole minutes",
        ),
        (
            &["--deployment-config", "canary:12.5%:5m"],
            "--deployment-config",
            "whole percentage",
        ),
        (
            &["--deployment-config", "Slowly"],
            "--deployment-config",
            "unknown schedule",
        ),
        (&["--time-scale", "0.5"], "--time-scale", ">= 1"),
        (&["--time-scale", "NaN"], "--time-scale", ">= 1"),
        (&["--rps", "0"], "--rps", "1..=10000"),
        (&["--bad-release", "1.5"], "--bad-release", "(0, 1]"),
        (&["--v2-latency-ms", "fast"], "--v2-latency-ms", "range"),
    ] {
        let e = plan(args).unwrap_err();
        assert_eq!(e.flag, flag, "{args:?}");
        assert!(e.to_string().contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn a_bad_release_without_a_rate_fails_a_quarter_of_its_requests_with_500s() {
    let p = plan(&["--bad-release"]).unwrap();
    assert_eq!(p.fail_rate, Some(DEFAULT_BAD_RELEASE_RATE));
    let env = release_environment(&p);
    assert_eq!(env["HELLO_FAIL_RATE"], "0.25");
    assert_eq!(env["HELLO_ERROR_MODE"], "status500");
    assert_eq!(env["ROLLCALL_FLUSH_INTERVAL"], "100ms");
    let p = plan(&["--bad-release", "0.5", "--v2-latency-ms", ""]).unwrap();
    let env = release_environment(&p);
    assert_eq!(env["HELLO_FAIL_RATE"], "0.5");
    assert!(!env.contains_key("HELLO_LATENCY_MS"));
}

#[test]
fn the_spec_is_a_lab_the_spec_parser_accepts_with_quoted_paths() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a dir: with 'quotes' and \"more\"");
    std::fs::create_dir_all(odd.join("layer")).unwrap();
    std::fs::create_dir_all(odd.join("code")).unwrap();
    let mut p = plan(&[]).unwrap();
    p.code = odd.join("code");
    p.layer = odd.join("layer");
    let yaml = lab_spec_yaml(&p, None);
    let spec = crate::spec::LabSpec::from_yaml(&yaml, dir.path())
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let hello = &spec.functions[&FUNCTION.parse().unwrap()];
    assert_eq!(hello.versions.len(), 1);
    assert_eq!(hello.layers.len(), 1);
    assert_eq!(spec.routes.len(), 1);
}

#[test]
fn the_alarm_is_on_the_new_version_s_error_rate_from_the_extension_s_metrics() {
    let alarm = error_rate_alarm("2");
    let parsed = cloudwatch::PutMetricAlarm::from_json(&alarm.to_string()).unwrap();
    parsed.validate().expect("CloudWatch's rules");
    assert_eq!(parsed.alarm_name, alarm_name("2"));
    let dims = &alarm["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"];
    assert_eq!(dims[1], json!({"Name": "Version", "Value": "2"}));
}

fn lab(status: &str, rolled_back: bool, steps_applied: usize) -> LabResult {
    LabResult {
        deployment_id: "d-LAB000001".into(),
        status: status.into(),
        error: None,
        rolled_back,
        final_version: if rolled_back { "1" } else { "2" }.into(),
        steps_applied,
        lateness: vec![Duration::from_millis(2)],
        duration: None,
        shortest_step: Some(Duration::from_secs(6)),
    }
}

fn outcome(lab: LabResult, verdict: Option<&str>, code: i32) -> Outcome {
    Outcome {
        lab,
        prober: ProberResult {
            exit_code: Some(code),
            report: verdict.map(|v| json!({"verdict": v, "verdict_reason": "because"})),
        },
        interrupted: None,
        out: PathBuf::from("out"),
    }
}

#[test]
fn both_sides_agree_on_a_success_a_rollback_and_a_release_that_never_shifted() {
    for (o, code) in [
        (outcome(lab("Succeeded", false, 10), Some("followed"), 0), 0),
        (outcome(lab("Stopped", true, 1), Some("rollback"), 2), 2),
        (outcome(lab("Failed", true, 10), Some("rollback"), 2), 2),
        (outcome(lab("Failed", true, 0), Some("inconclusive"), 3), 3),
    ] {
        assert!(matches!(o.agreement(), Agreement::Agree(_)), "{o:?}");
        assert_eq!(o.exit_code(), code);
        assert_eq!(o.to_json()["agreement"], "agree");
    }
}

#[test]
fn a_verdict_that_contradicts_the_ground_truth_exits_5() {
    for o in [
        outcome(lab("Succeeded", false, 10), Some("rollback"), 2),
        outcome(lab("Succeeded", false, 10), Some("deviated"), 1),
        outcome(lab("Stopped", true, 3), Some("followed"), 0),
        outcome(lab("Failed", true, 0), Some("followed"), 0),
    ] {
        assert!(matches!(o.agreement(), Agreement::Disagree(_)), "{o:?}");
        assert_eq!(o.exit_code(), EXIT_DISAGREE);
        assert!(o.summary().contains("agreement: NO"));
    }
}

#[test]
fn a_deviation_the_lab_caused_by_shifting_late_is_agreement() {
    let mut late = lab("Succeeded", false, 10);
    late.lateness.push(Duration::from_millis(400));
    let o = outcome(late, Some("deviated"), 1);
    assert!(
        matches!(o.agreement(), Agreement::Agree(ref why) if why.contains("400 ms")),
        "{o:?}"
    );
    assert_eq!(o.exit_code(), 1);
    // 250 ms is within a twentieth of a 6 s step: the lab kept to the schedule.
    let mut on_time = lab("Succeeded", false, 10);
    on_time.lateness.push(Duration::from_millis(250));
    let o = outcome(on_time, Some("deviated"), 1);
    assert!(matches!(o.agreement(), Agreement::Disagree(_)), "{o:?}");
}

#[test]
fn no_verdict_on_the_split_is_not_judged_and_keeps_the_prober_s_code() {
    let o = outcome(lab("Succeeded", false, 10), Some("error_budget"), 4);
    assert!(matches!(o.agreement(), Agreement::NotJudged(_)));
    assert_eq!(o.exit_code(), 4);
    let mut o = outcome(lab("Stopped", true, 2), None, 130);
    assert!(matches!(o.agreement(), Agreement::NotJudged(_)));
    o.interrupted = Some(2);
    assert_eq!(o.exit_code(), 130);
}

#[test]
fn the_post_traffic_hook_is_a_function_of_the_spec_with_its_check_event() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["code", "layer", "hook"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let mut p = plan(&[
        "--post-traffic-hook",
        "pass",
        "--hook",
        "/bin/rollcall-hook",
    ])
    .unwrap();
    assert_eq!(
        p.post_traffic_hook,
        Some((PathBuf::from("/bin/rollcall-hook"), HookCheck::Pass))
    );
    p.code = dir.path().join("code");
    p.layer = dir.path().join("layer");
    let yaml = lab_spec_yaml(&p, Some(&dir.path().join("hook")));
    let spec = crate::spec::LabSpec::from_yaml(&yaml, dir.path())
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let hook = &spec.functions[&HOOK_FUNCTION.parse().unwrap()];
    let event: serde_json::Value =
        serde_json::from_str(&hook.environment["ROLLCALL_HOOK_EVENT"]).unwrap();
    assert_eq!(event["routeKey"], "GET /hello");
    assert_ne!(hook_check_event(HookCheck::Fail)["routeKey"], "GET /hello");
}
