use super::*;
use crate::artifacts::tests_support::report_with;
use rollout::report::VersionReport;

fn version(requests: u64, errors: u64, cold: u64, p50: f64) -> VersionReport {
    let mut v = VersionReport {
        requests,
        errors,
        cold_starts: cold,
        ..Default::default()
    };
    v.latency_ms = LatencySummary {
        count: requests,
        mean: p50,
        p50,
        p90: p50 * 2.0,
        p99: p50 * 4.0,
        p999: p50 * 5.0,
        max: p50 * 8.0,
    };
    v
}

fn sample() -> Report {
    let mut r = report_with(
        rollout::Timeline::new(0.1),
        Some("1"),
        Some("2"),
        Some(4.2),
        30.0,
    );
    r.config.url = "http://127.0.0.1:4000/hello".into();
    r.config.method = "GET".into();
    r.config.schedule = Some("canary:10%:10s".into());
    r.config.time_scale = 1.0;
    r.versions.insert("1".into(), version(1350, 0, 2, 1.234));
    r.versions.insert("2".into(), version(148, 3, 1, 12.5));
    r.untagged = 2;
    r.totals.sent = 1500;
    r.totals.planned = 1500;
    r.totals.achieved_rps = 50.0;
    r.totals.error_rate = 0.002;
    r.totals.errors_by_kind = [("5xx".to_owned(), 3), ("timeout".to_owned(), 0)].into();
    r.latency_comparison = Some(LatencyComparison {
        old_count: 1350,
        new_count: 148,
        u: 1.0,
        prob_new_slower: 0.999,
        p_value: 0.0,
        old_p50_ms: 1.234,
        new_p50_ms: 12.5,
        new_slower: true,
    });
    r.steps = vec![StepReport {
        index: 0,
        start: 4.2,
        end: 14.2,
        expected_share: 0.1,
        observed_share: Some(0.098),
        ci_low: Some(0.081),
        ci_high: Some(0.115),
        requests: 500,
        new_requests: 49,
        verdict: StepVerdict::Followed,
        min_detectable_deviation: Some(0.071),
    }];
    r.completed_at = Some(14.3);
    r.verdict_reason = "all 1 judged steps followed the schedule; deployment start aligned at \
                        4.2 s from the data, 95% interval [4.1, 4.3] s, and the new version \
                        took all traffic at 14.3 s."
        .into();
    r
}

fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
}

#[test]
fn summary_has_every_section_in_80_columns() {
    let text = render(&sample(), Some(Path::new("/tmp/run")));
    assert_fits(&text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "GET http://127.0.0.1:4000/hello: 1500 requests in 30.0 s, 50.0 rps"
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "version", "requests", "share", "errors", "cold", "p50", "p90", "p99", "max"
        ]
    );
    let row = |v: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(v))
            .unwrap_or_else(|| panic!("row {v} in {text}"))
            .split_whitespace()
            .collect()
    };
    assert_eq!(
        row("1"),
        [
            "1", "1350", "90.1%", "0", "2", "1.23ms", "2.47ms", "4.94ms", "9.87ms"
        ]
    );
    assert_eq!(
        row("2"),
        [
            "2", "148", "9.9%", "3", "1", "12.5ms", "25.0ms", "50.0ms", "100ms"
        ]
    );
    assert_eq!(row("untagged")[1], "2");
    assert!(text.contains("errors: error rate 0.20% (transport errors and 5xx); by kind: 5xx 3\n"));
    assert!(text.contains("p < 1e-16: slower"), "{text}");
    assert!(
        text.contains("rollout: schedule canary:10%:10s, deployment start 4.2s"),
        "{text}"
    );
    assert!(
        text.contains(
            "  step 1/1: 10% from 4.2s to 14.2s, observed 9.8% [8.1-11.5] n=500 followed"
        ),
        "{text}"
    );
    assert!(
        text.contains("verdict: followed (exit 0): all 1 judged steps"),
        "{text}"
    );
    assert!(
        text.contains("artifacts: /tmp/run\n  report.json timeline.csv"),
        "{text}"
    );
}

#[test]
fn hostile_and_long_versions_are_escaped_and_cut() {
    let mut r = sample();
    let hostile = format!("9\u{1b}[2J{}", "x".repeat(300));
    r.versions.insert(hostile.clone(), version(7, 0, 0, 1.0));
    r.verdict_reason = format!("version {hostile} appeared");
    let text = render(&r, None);
    assert_fits(&text);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains("  9\\u{1b}[2Jxxx… "), "{text}");
    assert!(!text.contains("artifacts"), "no --out, no artifact line");
}

#[test]
fn many_versions_are_counted_not_listed() {
    let mut r = sample();
    for k in 0..20u64 {
        r.versions.insert(format!("v{k}"), version(1, 0, 0, 1.0));
    }
    let text = render(&r, None);
    assert!(
        text.contains(&format!("{} more versions with", 22 - MAX_VERSION_ROWS)),
        "{text}"
    );
}

#[test]
fn p_values_never_print_as_zero() {
    assert_eq!(p_value_text(0.0), "p < 1e-16");
    assert_eq!(p_value_text(3e-20), "p < 1e-16");
    assert_eq!(p_value_text(2.4e-7), "p = 2.4e-7");
    assert_eq!(p_value_text(0.1536), "p = 0.154");
}

#[test]
fn step_labels_are_one_based_with_boundaries() {
    let s = sample().steps[0].clone();
    assert_eq!(step_label(&s, 4), "step 1/4: 10% from 4.2s to 14.2s");
    assert_eq!(seconds(60.0), "60s");
    assert_eq!(percent(0.125), "12.5%");
}

#[test]
fn wrapping_keeps_words_and_cuts_only_what_cannot_fit() {
    let mut out = String::new();
    let long = "y".repeat(100);
    wrap(&mut out, "reason:", "  ", &format!("a b {long} c"));
    assert_fits(&out);
    let joined: String = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(joined.starts_with("reason: a b yyy"), "{out}");
    assert_eq!(out.matches('y').count(), 100, "nothing lost: {out}");
    assert!(out.ends_with(" c\n"), "{out}");
}

#[test]
fn rollout_facts_that_do_not_fit_one_line_get_one_line_each() {
    let mut r = sample();
    r.config.schedule = Some("Linear10PercentEvery10Minutes".into());
    r.config.time_scale = 60.0;
    r.deployment_start_ci = Some([4.1, 4.3]);
    r.rollback_at = Some(20.0);
    let text = render(&r, None);
    assert_fits(&text);
    assert!(
        text.contains(
            "rollout:\n  schedule Linear10PercentEvery10Minutes (time scale x60)\n  \
             deployment start 4.2s [4.1s, 4.3s]\n  completed at 14.3s\n  rolled back at 20s\n"
        ),
        "{text}"
    );
}

#[test]
fn each_step_says_the_smallest_deviation_it_could_see() {
    let text = render(&sample(), None);
    assert_fits(&text);
    assert!(text.contains("(sees ≥7.1 pts)"), "{text}");
}

#[test]
fn versions_beyond_the_cap_and_the_causes_of_failures_are_shown() {
    let mut report = sample();
    report.other_versions.max_versions = 16;
    report.other_versions.requests = 9_984;
    report.other_versions.errors = 3;
    report
        .totals
        .failure_causes
        .insert("connection refused".to_owned(), 150);
    report
        .totals
        .errors_by_kind
        .insert("connect".to_owned(), 150);
    let text = render(&report, None);
    assert_fits(&text);
    let others = text
        .lines()
        .find(|l| l.trim_start().starts_with("(others)"))
        .unwrap_or_else(|| panic!("no (others) row in:\n{text}"));
    assert!(others.contains("9984"), "{others}");
    assert!(text.contains("first 16 seen"), "{text}");
    assert!(text.contains("connection refused 150"), "{text}");
}

#[test]
fn function_errors_are_named_in_the_error_line() {
    let mut r = sample();
    r.totals.errors_by_kind = [("function_error".to_owned(), 3)].into();
    let text = render(&r, None);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("(transport errors, 5xx and function errors); by kind: function_error 3"),
        "{text}"
    );
    assert_fits(&text);
}

#[test]
fn the_control_plane_block_lists_the_alias_s_changes_failures_and_gaps() {
    use rollout::configured::{Routing, RoutingChange};
    use rollout::control_plane::{AliasReport, CallFailure, ControlPlaneReport};
    let change = |at: f64, weight: f64| RoutingChange {
        at,
        not_before: at - 0.1,
        not_after: at + 0.1,
        routing: Routing {
            primary: "1".into(),
            additional: if weight > 0.0 {
                [("2".to_owned(), weight)].into()
            } else {
                Default::default()
            },
        },
        revision_id: None,
    };
    let mut r = sample();
    r.deployment_start_source = Some("alias".into());
    r.control_plane = Some(ControlPlaneReport {
        alias: Some(AliasReport {
            alias_arn: "arn:aws:lambda:us-east-1:123456789012:function:hello:live".into(),
            poll_secs: 0.2,
            polls: 140,
            changes: vec![change(0.1, 0.0), change(4.2, 0.1)],
            seen_at_unix_ms: vec![],
            gaps: vec![[10.0, 12.5]],
            max_answer_secs: 0.01,
            max_send_delay_secs: 0.0,
        }),
        failures: vec![CallFailure {
            at: 11.0,
            call: "lambda:GetAlias".into(),
            error: "ThrottlingException: Rate exceeded".into(),
        }],
        ..ControlPlaneReport::default()
    });
    let text = render(&r, None);
    assert_fits(&text);
    for needle in [
        "control plane:",
        "function:hello:live (140 polls,",
        "every 0.2s)",
        "weights at 0.1s: 1 100%",
        "changed 4.2s [4.1s, 4.3s]: 1 90% · 2 10%",
        "!! 1 control-plane call failed (the probe went on); last at 11s:",
        "lambda:GetAlias ThrottlingException: Rate exceeded",
        "no successful poll from 10s to 12.5s",
        "(alias)",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(!render(&sample(), None).contains("control plane"));
}

#[test]
fn the_control_plane_block_gives_codedeploy_s_account_and_flags_a_contradiction() {
    use rollout::control_plane::{
        Agreement, ControlPlaneReport, DeploymentReport, LifecycleEventReport, ScheduleConformance,
        StatusSeen, StepConformance,
    };
    let mut r = sample();
    r.control_plane = Some(ControlPlaneReport {
        deployment: Some(DeploymentReport {
            deployment_id: "d-ABCDEF123".into(),
            application: "rollcall-demo".into(),
            deployment_group: "hello".into(),
            deployment_config: "CodeDeployDefault.LambdaCanary10Percent5Minutes".into(),
            status: "Succeeded".into(),
            status_history: vec![
                StatusSeen {
                    status: "InProgress".into(),
                    at: 0.2,
                },
                StatusSeen {
                    status: "Succeeded".into(),
                    at: 300.4,
                },
            ],
            current_version: Some("1".into()),
            target_version: Some("2".into()),
            lifecycle_events: vec![LifecycleEventReport {
                name: "BeforeAllowTraffic".into(),
                status: "Succeeded".into(),
                start: Some(0.3),
                end: Some(1.0),
                diagnostics: None,
            }],
            ..DeploymentReport::default()
        }),
        schedule_conformance: Some(ScheduleConformance {
            schedule: "canary:10%:5m".into(),
            followed: false,
            reason: "1 of 2 steps late".into(),
            steps: vec![StepConformance {
                index: 0,
                expected_share: 0.1,
                expected_at: 1.0,
                applied_at: Some(9.0),
                applied_share: Some(0.1),
                lateness_secs: Some(8.0),
                tolerance_secs: Some(2.0),
                verdict: "late".into(),
            }],
        }),
        agreement: Some(Agreement {
            agree: false,
            reason: "CodeDeploy marks the deployment Succeeded while the clients' split deviated"
                .into(),
        }),
        ..ControlPlaneReport::default()
    });
    let text = render(&r, None);
    assert_fits(&text);
    for needle in [
        "control plane:",
        "deployment d-ABCDEF123 (rollcall-demo/hello,",
        "1 -> 2): Succeeded",
        "statuses InProgress 0.2s · Succeeded 300.4s",
        "lifecycle BeforeAllowTraffic Succeeded",
        "!! the alias did not follow the schedule canary:10%:5m: 1 of 2 steps late",
        "step 1: 10.0% due at 1s, set to 10.0% at 9s (late)",
        "!! CodeDeploy marks the deployment Succeeded",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    assert!(!text.contains("alias arn"), "no alias was polled:\n{text}");
}

#[test]
fn streamed_responses_show_their_first_byte_and_cut_bodies() {
    let mut r = sample();
    let plain = render(&r, None);
    assert!(!plain.contains("first byte"), "not streamed: {plain}");
    for v in r.versions.values_mut() {
        v.ttfb_ms = LatencySummary {
            count: v.requests,
            p50: v.latency_ms.p50 / 4.0,
            p99: v.latency_ms.p99 / 4.0,
            ..LatencySummary::default()
        };
    }
    r.ttfb_comparison = r.latency_comparison.clone();
    r.totals.body_truncated = 7;
    r.totals.version_unread_truncated = 2;
    r.config.max_body = Some(10 << 20);
    let text = render(&r, None);
    assert!(text.contains("first byte: 1 p50 0.31ms p99"), "{text}");
    assert!(text.contains("2 p50 3.1"), "{text}");
    assert!(
        text.contains("7 bodies longer than --max-body 10 MiB"),
        "{text}"
    );
    assert!(text.contains("2 of them named no version"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("first byte:"))
            .count(),
        2,
        "the version table's line and the comparison: {text}"
    );
    for line in text.lines() {
        assert!(line.chars().count() <= WIDTH, "{line}");
    }
}
