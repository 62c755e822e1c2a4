use super::*;
use crate::artifacts::tests_support::report_with;
use rollout::report::VersionReport;

fn hist(values_us: &[u64]) -> Histogram<u64> {
    let mut h = record::new_histogram(1_000_000);
    for v in values_us {
        h.record(*v).unwrap();
    }
    h
}

fn run(started_ms: u64, version: &str, at: f64, latencies: &[u64]) -> RunInput {
    let mut tl = Timeline::new(0.1);
    for _ in latencies {
        tl.record(at, version);
    }
    let mut report = report_with(tl, None, None, None, 5.0);
    report.started_at_unix_ms = started_ms;
    let h = hist(latencies);
    report.versions.insert(
        version.to_owned(),
        VersionReport {
            requests: latencies.len() as u64,
            status_codes: [("200".to_owned(), latencies.len() as u64)].into(),
            ..VersionReport::default()
        },
    );
    report.histograms.insert(
        version.to_owned(),
        EncodedHistograms {
            corrected: encode_histogram(&h),
            uncorrected: encode_histogram(&h),
            ttfb: Some(encode_histogram(&h)),
        },
    );
    report.totals.sent = latencies.len() as u64;
    report.totals.planned = latencies.len() as u64;
    report.totals.responses = latencies.len() as u64;
    report.totals.errors_by_kind = [("timeout".to_owned(), 1), ("4xx".to_owned(), 2)].into();
    RunInput {
        path: PathBuf::from(format!("run-{started_ms}")),
        report,
        seconds: vec![SecondRow {
            untagged: 1,
            errors: 1,
        }],
    }
}

#[test]
fn merges_histograms_timelines_and_counters_exactly() {
    let a = run(10_000, "1", 0.25, &[1000, 2000, 3000]);
    let b = run(11_040, "1", 0.25, &[4000, 5000]); // starts 1.04 s later: 10 bins after rounding
    let c = run(10_000, "2", 2.05, &[9000]);
    let mut written = None;
    let merged = merge_inputs(&[a, b, c], |report, hists, seconds| {
        written = Some((report.clone(), hists.len(), seconds.to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(merged.merged_runs, 3);
    assert_eq!(merged.started_at_unix_ms, 10_000);
    assert_eq!(merged.versions["1"].requests, 5);
    assert_eq!(merged.versions["1"].status_codes["200"], 5);
    let h1 = decode_histogram(&merged.histograms["1"].corrected).unwrap();
    assert_eq!(h1.len(), 5);
    assert_eq!(h1.max(), h1.highest_equivalent(5000));
    assert_eq!(merged.timeline.counts[2][0], 3);
    assert_eq!(
        merged.timeline.counts[12][0], 2,
        "second run shifted by 10 bins"
    );
    assert_eq!(merged.timeline.counts[20][1], 1);
    assert_eq!(merged.totals.sent, 6);
    assert_eq!(merged.totals.errors_by_kind["timeout"], 3);
    assert!(
        (merged.totals.error_rate - 0.5).abs() < 1e-12,
        "4xx excluded: {}",
        merged.totals.error_rate
    );
    assert!((merged.duration_secs - 6.0).abs() < 1e-9);
    let (report, n_hists, seconds) = written.unwrap();
    assert_eq!(report, merged);
    assert_eq!(n_hists, 2);
    assert_eq!(
        seconds[0],
        SecondRow {
            untagged: 2,
            errors: 2
        }
    );
    assert_eq!(
        seconds[1],
        SecondRow {
            untagged: 1,
            errors: 1
        }
    );
}

#[test]
fn bad_inputs_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_input(&dir.path().join("nope")).unwrap_err();
    assert_eq!(missing.exit_code(), 64);
    std::fs::write(dir.path().join("report.json"), "{not json").unwrap();
    let garbage = read_input(dir.path()).unwrap_err();
    assert_eq!(garbage.exit_code(), 64);
    assert!(
        garbage.to_string().contains("not a prober report.json"),
        "{garbage}"
    );
    let mut r = run(0, "1", 0.0, &[1]).report;
    r.format_version = 99;
    std::fs::write(
        dir.path().join("report.json"),
        serde_json::to_string(&r).unwrap(),
    )
    .unwrap();
    let version = read_input(dir.path()).unwrap_err();
    assert!(
        version.to_string().contains("format_version 99"),
        "{version}"
    );
    assert!(merge_inputs(&[], |_, _, _| Ok(())).unwrap_err().is_usage());
}

#[test]
fn seconds_come_from_timeline_csv() {
    let rows = parse_seconds(
        "second,version_1,untagged,errors,observed_share,expected_share\n0,5,1,2,,\n1,5,0,3,,\n",
    )
    .unwrap();
    assert_eq!(
        rows,
        [
            SecondRow {
                untagged: 1,
                errors: 2
            },
            SecondRow {
                untagged: 0,
                errors: 3
            }
        ]
    );
    assert!(parse_seconds("second,x\n").is_err());
}

/// Writes `report` as `dir/report.json`.
fn write_report(dir: &Path, report: &Report) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string(report).unwrap(),
    )
    .unwrap();
}

#[test]
fn an_absurd_duration_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_report(&a, &run(10_000, "1", 0.25, &[1000]).report);
    let mut damaged = run(10_000, "1", 0.25, &[1000]).report;
    damaged.duration_secs = 1e12;
    write_report(&b, &damaged);
    let args = MergeArgs {
        inputs: vec![a, b.clone()],
        out: dir.path().join("merged"),
    };
    let err = merge(&args).unwrap_err();
    assert!(err.is_usage(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&b.display().to_string()) && text.contains("duration_secs"),
        "{text}"
    );
    assert!(!dir.path().join("merged/report.json").exists());
}

#[test]
fn runs_minutes_apart_are_refused() {
    let a = run(10_000, "1", 0.25, &[1000]);
    let b = run(10_000 + 300_000, "1", 0.25, &[1000]); // 5 min later; each run lasts 5 s
    let err = merge_inputs(&[a, b], |_, _, _| Ok(())).unwrap_err();
    let text = err.to_string();
    assert!(err.is_usage(), "{text}");
    assert!(
        text.contains("run-310000") && text.contains("after every earlier run had ended"),
        "{text}"
    );
}

#[test]
fn runs_of_different_deployments_are_refused() {
    let a = run(10_000, "1", 0.25, &[1000]);
    let mut b = run(10_000, "1", 0.25, &[1000]);
    b.report.config.schedule = Some("Canary10Percent5Minutes".into());
    let err = merge_inputs(&[a, b], |_, _, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("schedule"), "{err}");

    let mut a = run(10_000, "1", 0.25, &[1000]);
    let mut b = run(10_000, "1", 0.25, &[1000]);
    a.report.config.to_version = Some("8".into());
    b.report.config.to_version = Some("9".into());
    let err = merge_inputs(&[a, b], |_, _, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("--to-version"), "{err}");
}

#[test]
fn a_malformed_timeline_is_refused() {
    let mut a = run(10_000, "1", 0.25, &[1000]);
    a.report.timeline.counts[0].push(7); // a count for a version not listed
    let err = merge_inputs(&[a], |_, _, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("more counts"), "{err}");
    let mut b = run(10_000, "1", 0.25, &[1000]);
    b.report.timeline.bin_secs = 0.0;
    let err = merge_inputs(&[b], |_, _, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("bin_secs"), "{err}");
    // A narrower bin than the prober writes (1 ms over days would be billions of bins).
    let mut c = run(10_000, "1", 0.25, &[1000]);
    c.report.timeline.bin_secs = 0.001;
    let err = merge_inputs(&[c], |_, _, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("bin width"), "{err}");
}

#[test]
fn merged_error_rates_count_the_kinds_a_run_counts() {
    // The merge recomputes the error rate from `errors_by_kind`; it must count exactly the
    // kinds a run counts (`record::ERROR_RATE_KINDS`), function errors included.
    use crate::record::{ERROR_KINDS, ERROR_RATE_KINDS};
    for (i, kind) in ERROR_KINDS.iter().enumerate() {
        let mut a = run(10_000, "1", 0.25, &[1000]);
        a.report.totals.errors_by_kind = [((*kind).to_owned(), 1)].into();
        let merged = merge_inputs(&[a], |_, _, _| Ok(())).unwrap();
        let counted = ERROR_RATE_KINDS.contains(&i);
        assert_eq!(
            merged.totals.error_rate,
            if counted { 1.0 } else { 0.0 },
            "{kind}"
        );
    }
}

fn alias_plane(arn: &str, weight_at: f64) -> rollout::control_plane::ControlPlaneReport {
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
    ControlPlaneReport {
        alias: Some(AliasReport {
            alias_arn: arn.into(),
            poll_secs: 1.0,
            polls: 5,
            changes: vec![change(0.2, 0.0), change(weight_at, 0.5)],
            seen_at_unix_ms: vec![],
            gaps: vec![[3.0, 3.5]],
            max_answer_secs: 0.0,
            max_send_delay_secs: 0.0,
        }),
        failures: vec![CallFailure {
            at: 3.2,
            call: "lambda:GetAlias".into(),
            error: "ThrottlingException".into(),
        }],
        ..ControlPlaneReport::default()
    }
}

#[test]
fn runs_that_watched_different_aliases_or_deployments_are_refused() {
    let a = run(10_000, "1", 0.25, &[1000]);
    let mut b = run(10_000, "1", 0.25, &[1000]);
    b.report.control_plane = Some(alias_plane(
        "arn:aws:lambda:us-east-1:1:function:f:live",
        1.0,
    ));
    let mut c = run(10_000, "1", 0.25, &[1000]);
    c.report.config.alias = Some("arn:aws:lambda:us-east-1:1:function:f:beta".into());
    let e = merge_inputs(&[a, b, c], |_, _, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run-10000")
            && e.contains("function:f:beta")
            && e.contains("function:f:live")
            && e.contains("same deployment"),
        "{e}"
    );
    let mut d = run(10_000, "1", 0.25, &[1000]);
    d.report.config.deployment = Some("d-AAAAAAAAA".into());
    let mut f = run(10_000, "1", 0.25, &[1000]);
    f.report.config.deployment = Some("d-BBBBBBBBB".into());
    let mut g = run(10_000, "1", 0.25, &[1000]);
    g.report.config.deployment = Some("latest".into());
    let e = merge_inputs(&[g, d, f], |_, _, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("deployment \"d-BBBBBBBBB\""), "{e}");
}

#[test]
fn the_merged_report_keeps_the_control_plane_on_the_merged_origin() {
    let a = run(10_000, "1", 0.25, &[1000]);
    let mut b = run(12_000, "1", 0.25, &[1000]);
    b.report.control_plane = Some(alias_plane(
        "arn:aws:lambda:us-east-1:1:function:f:live",
        1.0,
    ));
    b.report.config.alias = Some("arn:aws:lambda:us-east-1:1:function:f:live".into());
    let merged = merge_inputs(&[a, b], |report, _, _| {
        assert!(
            report.control_plane.is_some(),
            "written with its control plane"
        );
        Ok(())
    })
    .unwrap();
    let plane = merged.control_plane.expect("kept");
    let alias = plane.alias.expect("the alias's polls");
    let ats: Vec<f64> = alias.changes.iter().map(|c| c.at).collect();
    assert!(
        (ats[0] - 2.2).abs() < 1e-9 && (ats[1] - 3.0).abs() < 1e-9,
        "moved by the run's 2 s offset: {ats:?}"
    );
    assert!((alias.gaps[0][0] - 5.0).abs() < 1e-9, "{:?}", alias.gaps);
    assert!((plane.failures[0].at - 5.2).abs() < 1e-9);
    assert_eq!(
        merged.deployment_start_source.as_deref(),
        Some("alias"),
        "the alias's first move starts the deployment"
    );
    // Within the shifted change's bracket [2.9, 3.1]:
    assert!(
        merged
            .deployment_start
            .is_some_and(|s| (2.9 - 1e-9..=3.1 + 1e-9).contains(&s)),
        "{:?}",
        merged.deployment_start
    );
}
