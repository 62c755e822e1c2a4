//! Assertions shared by the test binaries: the prober's report against the server's ground truth.

use std::path::Path;

use rollout::Report;
use rollout::report::StepVerdict;

use super::{GroundTruth, read_json, wilson, z_for};

/// Alignment error allowed for `deployment_start`, seconds.
///
/// Derivation: shifting the aligned start by `d` seconds misattributes about `rps·d` requests
/// at every share change of size `Δ`; each costs about `Δ²/(2·w·(1−w)) ≥ 2·Δ²` nats of
/// log-likelihood. At 200 rps and `Δ = 0.1` (one linear step), 10 boundaries and `d = 0.25 s`
/// that is ≥ 10 nats: the maximum-likelihood start lands within a few 0.1 s timeline bins of the
/// truth. Twice that covers the bin quantisation and the scheduling jitter of a loaded host.
pub const START_TOLERANCE_SECS: f64 = 0.5;

/// Every request that reached the server is counted as sent, every response the server
/// returned is in the report (attributed to the same version, with its 5xx and cold mark), and
/// every request sent got exactly one of those responses.
pub fn assert_accounted(truth: &GroundTruth, report: &Report) {
    for (version, served) in &truth.by_version {
        let seen = report.versions.get(version).map_or(0, |v| v.requests);
        assert_eq!(
            seen, served.tagged,
            "version {version}: prober counted {seen}, server tagged {}",
            served.tagged
        );
        let errors = report.versions.get(version).map_or(0, |v| v.errors);
        assert_eq!(
            errors, served.tagged_errors,
            "version {version}: 5xx counted vs served"
        );
        let cold = report.versions.get(version).map_or(0, |v| v.cold_starts);
        assert_eq!(
            cold, served.cold,
            "version {version}: cold starts counted vs marked"
        );
    }
    for version in report.versions.keys() {
        assert!(
            truth.by_version.contains_key(version),
            "the prober saw version {version} the server never served"
        );
    }
    assert_eq!(report.untagged, truth.untagged(), "untagged responses");
    assert_eq!(
        report.totals.responses, truth.responses,
        "responses received vs served"
    );
    assert_eq!(
        report.totals.sent, truth.requests,
        "requests sent vs received by the server"
    );
    assert_eq!(
        report.totals.sent, report.totals.responses,
        "every request sent got a response: {:?}",
        report.totals.errors_by_kind
    );
    let tagged: u64 = report.versions.values().map(|v| v.requests).sum();
    assert_eq!(
        tagged + report.untagged,
        report.totals.responses,
        "tagged + untagged = responses"
    );
    let timeline: u64 = report.timeline.totals().iter().sum();
    assert_eq!(timeline, tagged, "the timeline holds every tagged response");
    for (version, v) in &report.versions {
        assert_eq!(
            v.latency_ms.count, v.requests,
            "version {version}: one latency per response"
        );
    }
}

/// `deployment_start` lies within [`START_TOLERANCE_SECS`] of `truth` (seconds since the origin).
pub fn assert_start_near(report: &Report, truth: f64) {
    let estimated = report
        .deployment_start
        .expect("a deployment start was estimated");
    assert!(
        (estimated - truth).abs() <= START_TOLERANCE_SECS,
        "deployment_start {estimated:.3} s, truth {truth:.3} s (ci {:?})",
        report.deployment_start_ci
    );
}

/// Each judged step's observed share is compatible with the share the schedule (which the
/// server followed) prescribes: Wilson interval at a Bonferroni-corrected family-wise 1e-4.
pub fn assert_step_shares(report: &Report, schedule: &rollout::schedule::Schedule) {
    assert_eq!(
        report.steps.len(),
        schedule.steps().len(),
        "one report step per schedule step"
    );
    let judged: Vec<_> = report.steps.iter().filter(|s| s.requests > 0).collect();
    let z = z_for(judged.len());
    for step in &report.steps {
        let truth = schedule.steps()[step.index].share;
        assert!(
            (step.expected_share - truth).abs() < 1e-9,
            "step {}: expected share {} vs schedule {truth}",
            step.index,
            step.expected_share
        );
    }
    for step in judged {
        let (lo, hi) = wilson(step.new_requests, step.requests, z);
        assert!(
            lo - 1e-9 <= step.expected_share && step.expected_share <= hi + 1e-9,
            "step {}: {}/{} new is incompatible with {} (Wilson z={z}: [{lo:.3}, {hi:.3}])",
            step.index,
            step.new_requests,
            step.requests,
            step.expected_share
        );
    }
}

/// Every step was judged and followed.
pub fn assert_all_steps_followed(report: &Report) {
    for step in &report.steps {
        assert_eq!(step.verdict, StepVerdict::Followed, "step {step:?}");
    }
}

/// The schema checked in with the report model, or the one the model generates.
pub fn report_schema() -> serde_json::Value {
    let checked_in =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/rollout/schema/report.schema.json");
    if checked_in.is_file() {
        read_json(&checked_in)
    } else {
        Report::json_schema()
    }
}

/// The file at `path` validates against [`report_schema`].
pub fn assert_valid_report(path: &Path) {
    let schema = report_schema();
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let instance = read_json(path);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{} violates the schema:\n{}",
        path.display(),
        errors.join("\n")
    );
}
