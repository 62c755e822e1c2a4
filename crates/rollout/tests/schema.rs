//! The checked-in JSON Schema of `report.json` matches the model, and real reports validate.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use rollout::analysis::{AnalysisConfig, analyze, overall};
use rollout::report::{EncodedHistograms, RunConfig, Totals, VersionReport, schema_text};
use rollout::{
    FORMAT_VERSION, Report, Schedule, compare_latency, encode_histogram, sim, summarize,
};

#[test]
fn checked_in_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == schema_text(),
        "{} is missing or stale: regenerate it with `cargo run -p rollout --example write-schema`",
        path.display()
    );
}

fn latency_histogram(rng: &mut ChaCha8Rng, n: usize, base_us: u64) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
    for _ in 0..n {
        h.record(base_us + rng.random_range(0..base_us)).unwrap();
    }
    h
}

/// A report as the prober writes it, from a simulated compressed rollout.
fn realistic_report() -> Report {
    let schedule: Schedule = "Linear10PercentEvery1Minute"
        .parse::<Schedule>()
        .unwrap()
        .time_scaled(6.0)
        .unwrap();
    let timeline = sim::simulate(&schedule, 10.0, 50.0, 120.0, 1, 0.1);
    let split = analyze(
        &timeline,
        &AnalysisConfig {
            schedule: Some(schedule.clone()),
            ..AnalysisConfig::default()
        },
    );
    let (verdict, verdict_reason) = overall(&split, false, true);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let totals = timeline.totals();
    let mut versions = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    let mut raw = Vec::new();
    for (label, &n) in timeline.versions.iter().zip(&totals) {
        let h = latency_histogram(
            &mut rng,
            n as usize,
            if label == sim::NEW_VERSION {
                12_000
            } else {
                10_000
            },
        );
        versions.insert(
            label.clone(),
            VersionReport {
                requests: n,
                errors: 0,
                cold_starts: 3,
                status_codes: BTreeMap::from([("200".to_owned(), n)]),
                latency_ms: summarize(&h),
                latency_uncorrected_ms: summarize(&h),
                ttfb_ms: summarize(&h),
                body_truncated: 1,
            },
        );
        histograms.insert(
            label.clone(),
            EncodedHistograms {
                corrected: encode_histogram(&h),
                uncorrected: encode_histogram(&h),
                ttfb: Some(encode_histogram(&h)),
            },
        );
        raw.push(h);
    }
    let sent: u64 = totals.iter().sum();
    Report {
        format_version: FORMAT_VERSION,
        tool: "prober 0.1.0".to_owned(),
        started_at: "2026-11-26T04:00:00Z".to_owned(),
        started_at_unix_ms: 1_795_665_600_000,
        duration_secs: timeline.span_secs(),
        interrupted: false,
        config: RunConfig {
            url: "http://127.0.0.1:3000/hello".to_owned(),
            method: "GET".to_owned(),
            rps: 50.0,
            duration_secs: Some(120.0),
            schedule: Some(schedule.name().to_owned()),
            time_scale: 6.0,
            max_in_flight: 256,
            timeout_secs: 10.0,
            version_source: vec!["header:x-rollcall-version".to_owned()],
            from_version: None,
            to_version: None,
            max_error_rate: Some(0.01),
            max_body: Some(10 << 20),
            ..RunConfig::default()
        },
        merged_runs: 1,
        verdict,
        verdict_reason,
        exit_code: verdict.exit_code(),
        old_version: split.old_version.clone(),
        new_version: split.new_version.clone(),
        deployment_start: split.deployment_start,
        deployment_start_ci: split.deployment_start_ci,
        rollback_at: split.rollback_at,
        completed_at: split.completed_at,
        steps: split.steps.clone(),
        sensitivity: split.sensitivity.clone(),
        versions,
        untagged: 0,
        totals: Totals {
            planned: sent,
            sent,
            responses: sent,
            late_sends: 0,
            late_threshold_ms: 10.0,
            achieved_rps: 50.0,
            send_lag_ms: Default::default(),
            errors_by_kind: BTreeMap::new(),
            status_codes: BTreeMap::from([("200".to_owned(), sent)]),
            error_rate: 0.0,
            failure_causes: BTreeMap::new(),
            body_truncated: 2,
            version_unread_truncated: 0,
        },
        latency_comparison: compare_latency(&raw[0], &raw[1]),
        ttfb_comparison: compare_latency(&raw[0], &raw[1]),
        timeline,
        histograms,
        other_versions: Default::default(),
        latency_files: BTreeMap::new(),
        deployment_start_source: None,
        control_plane: None,
    }
}

#[test]
fn a_realistic_report_validates_against_the_schema() {
    let schema = Report::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let report = realistic_report();
    assert_eq!(
        report.verdict,
        rollout::Verdict::Followed,
        "{}",
        report.verdict_reason
    );
    assert!(
        report
            .latency_comparison
            .as_ref()
            .is_some_and(|c| c.new_slower)
    );
    let json = serde_json::to_value(&report).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Reads back (floats may differ in the last bit: serde_json without `float_roundtrip`).
    let back: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert!(
        back.timeline == report.timeline
            && back.histograms == report.histograms
            && back.verdict == report.verdict
    );

    // What the run could have caught is in the document, per step and for the run.
    assert!(
        json["steps"][0]["min_detectable_deviation"].is_f64(),
        "{}",
        json["steps"][0]
    );
    assert!(
        json["sensitivity"]["insufficient"].is_boolean(),
        "{}",
        json["sensitivity"]
    );
    // A report written before those fields existed still reads.
    let mut older = json.clone();
    older.as_object_mut().unwrap().remove("sensitivity");
    older["steps"][0]
        .as_object_mut()
        .unwrap()
        .remove("min_detectable_deviation");
    let older: Report = serde_json::from_value(older).expect("an older report reads");
    assert!(older.sensitivity.is_none() && older.steps[0].min_detectable_deviation.is_none());

    // The validator does reject what the model rejects.
    let table: [(&str, serde_json::Value); 5] = [
        ("/verdict", serde_json::json!("maybe")),
        ("/steps/0/verdict", serde_json::json!("ok")),
        ("/format_version", serde_json::json!("1")),
        (
            "/steps/0/min_detectable_deviation",
            serde_json::json!("5 points"),
        ),
        ("/sensitivity/insufficient", serde_json::json!("yes")),
    ];
    for (pointer, bad) in table {
        let mut broken = json.clone();
        *broken.pointer_mut(pointer).unwrap() = bad;
        assert!(!validator.is_valid(&broken), "{pointer} accepted");
    }
}
