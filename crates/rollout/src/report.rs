//! The `report.json` model: a stable, versioned contract read by CI and acceptance tests.
//!
//! Times are seconds since the first scheduled request of the run (the timeline's origin) unless
//! a field says otherwise. Shares are fractions in `[0, 1]` of the *tagged* responses (those
//! that named a version). Bump [`FORMAT_VERSION`] on any incompatible change.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::control_plane::ControlPlaneReport;
use crate::timeline::Timeline;

/// Version of the `report.json` format.
pub const FORMAT_VERSION: u32 = 1;

/// Exit code of a run interrupted by SIGINT (Ctrl-C), as shells report it (128 + 2).
pub const EXIT_SIGINT: i32 = 130;
/// Exit code of a run interrupted by SIGTERM (CI cancellation), as shells report it (128 + 15).
pub const EXIT_SIGTERM: i32 = 143;

/// The overall verdict of a run, and the process exit code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The observed split followed the schedule (exit 0).
    Followed,
    /// No schedule was given and the run completed (exit 0).
    Completed,
    /// At least one step's observed share was incompatible with the schedule, or a step stalled
    /// (exit 1).
    Deviated,
    /// The new version's share fell back to zero after rising (exit 2).
    Rollback,
    /// Too little data to judge, or no second version was seen when one was expected (exit 3).
    Inconclusive,
    /// The error rate exceeded `--max-error-rate` (exit 4).
    ErrorBudget,
    /// The run was stopped by a signal before its end and nothing conclusive was found by then
    /// (exit 130 after SIGINT, 143 after SIGTERM: the report's `exit_code` says which).
    Interrupted,
}

impl Verdict {
    /// The process exit code for this verdict (DESIGN.md "Exit codes").
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Followed | Verdict::Completed => 0,
            Verdict::Deviated => 1,
            Verdict::Rollback => 2,
            Verdict::Inconclusive => 3,
            Verdict::ErrorBudget => 4,
            Verdict::Interrupted => EXIT_SIGINT,
        }
    }
}

/// The verdict on one schedule step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    /// The expected share lies within the step's (corrected) confidence interval.
    Followed,
    /// The expected share lies outside the interval (by more than the tolerance).
    Deviated,
    /// Too few requests in the step (outside the guard bands) to judge.
    Insufficient,
    /// The step lies outside the observed period.
    NotObserved,
}

/// Latency percentiles of one distribution, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    /// Number of recorded values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest recorded value.
    pub max: f64,
}

/// One schedule step as observed; with the alias's configured routing (`--alias`), one window
/// of constant configured share instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepReport {
    /// Position of the step in the schedule (of the window in the run), from 0.
    pub index: usize,
    /// Start of the step (aligned), seconds since the run's origin.
    pub start: f64,
    /// End of the step (aligned), seconds since the run's origin.
    pub end: f64,
    /// Share of the new version the schedule prescribes during the step (the alias's weight of
    /// the new version among the old and new ones during the window).
    pub expected_share: f64,
    /// Observed share of the new version among tagged responses, outside the guard bands;
    /// `null` when no request fell in the step.
    pub observed_share: Option<f64>,
    /// Lower bound of the exact (Clopper-Pearson) interval on the observed share, at the level
    /// Holm's procedure over the judged steps tested this step at.
    pub ci_low: Option<f64>,
    /// Upper bound of that interval.
    pub ci_high: Option<f64>,
    /// The smallest deviation from `expected_share` (a share: 0.05 = 5 percentage points) this
    /// step's test would have flagged with 95% probability, in the harder direction; `null` when
    /// the step was not judged. Absent in reports written before it existed.
    #[serde(default)]
    pub min_detectable_deviation: Option<f64>,
    /// Tagged responses counted in the step (outside the guard bands).
    pub requests: u64,
    /// Of those, responses of the new version.
    pub new_requests: u64,
    /// The step's verdict.
    pub verdict: StepVerdict,
}

/// What a run could have caught: its least sensitive judged step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sensitivity {
    /// The judged step with the largest `min_detectable_deviation`.
    pub step: usize,
    /// That step's `min_detectable_deviation` (a share: 0.05 = 5 percentage points).
    pub min_detectable_deviation: f64,
    /// Probability with which a deviation of that size would have been flagged.
    pub power: f64,
    /// The largest `min_detectable_deviation` a run may have and still be sensitive enough.
    pub threshold: f64,
    /// True when `min_detectable_deviation` exceeds `threshold`: a `followed` verdict says
    /// nothing about smaller deviations; run longer or at a higher rate.
    pub insufficient: bool,
    /// Requests that step would have needed (outside the guard bands) to detect `threshold`.
    pub requests_needed: u64,
}

/// Mann-Whitney U comparison of the new version's latency with the old one's, over the time
/// windows in which both versions served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyComparison {
    /// Responses of the old version in the compared windows.
    pub old_count: u64,
    /// Responses of the new version in the compared windows.
    pub new_count: u64,
    /// The U statistic of the new version's sample.
    pub u: f64,
    /// Probability that a random new-version latency exceeds a random old-version one
    /// (U / (n_old * n_new); 0.5 = no difference).
    pub prob_new_slower: f64,
    /// Two-sided p-value (normal approximation with tie correction).
    pub p_value: f64,
    /// Median latency of the old version in the compared windows, ms.
    pub old_p50_ms: f64,
    /// Median latency of the new version in the compared windows, ms.
    pub new_p50_ms: f64,
    /// True when the new version is significantly slower (p < 0.01 and `prob_new_slower` > 0.5
    /// by more than a small effect size).
    pub new_slower: bool,
}

/// Everything observed of one version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VersionReport {
    /// Responses tagged with this version.
    pub requests: u64,
    /// Of those, error responses (status >= 500).
    pub errors: u64,
    /// Responses marked as an environment's first invocation (`x-rollcall-cold: 1`).
    pub cold_starts: u64,
    /// Responses by HTTP status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Latency from the intended send time (corrected for coordinated omission), ms.
    pub latency_ms: LatencySummary,
    /// Latency from the actual send time (uncorrected), ms.
    pub latency_uncorrected_ms: LatencySummary,
    /// Time to first byte from the intended send time (corrected like `latency_ms`), ms: until
    /// the first byte of the body, or until the response's head for an empty body. Absent in
    /// reports written before it existed.
    #[serde(default)]
    pub ttfb_ms: LatencySummary,
    /// Of the responses, bodies cut at `--max-body` (read no further; not errors). Absent in
    /// reports written before it existed.
    #[serde(default)]
    pub body_truncated: u64,
}

/// Requests and errors over the whole run, tagged or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Requests the schedule planned up to the end of the run.
    pub planned: u64,
    /// Requests actually sent.
    pub sent: u64,
    /// Requests that got an HTTP response (any status).
    pub responses: u64,
    /// Requests sent more than `late_threshold_ms` after their intended time.
    pub late_sends: u64,
    /// The threshold used for `late_sends`, ms.
    pub late_threshold_ms: f64,
    /// Achieved send rate over the run, requests per second.
    pub achieved_rps: f64,
    /// Lag between intended and actual send, ms.
    pub send_lag_ms: LatencySummary,
    /// Failed requests by kind: `timeout`, `connect`, `reset`, `tls`, `5xx`, `4xx`, `other`,
    /// `interrupted`, `function_error` (an Invoke answer with `X-Amz-Function-Error`).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Responses by HTTP status code, all versions and untagged together.
    pub status_codes: BTreeMap<String, u64>,
    /// Error rate used for the error budget: (transport errors + 5xx + function errors) / sent.
    pub error_rate: f64,
    /// Requests that got no HTTP response, by precise cause (`connection refused`,
    /// `host not found`, `not TLS`, `timeout`, ...): the diagnosis when a target never answers.
    #[serde(default)]
    pub failure_causes: BTreeMap<String, u64>,
    /// Responses whose body was cut at `--max-body` (tagged or not; not errors: the body was
    /// read no further and the connection closed). Absent in reports written before it existed.
    #[serde(default)]
    pub body_truncated: u64,
    /// Of the untagged responses, those whose version could not be read because `--version-json`
    /// needed a body that was cut (at `--max-body`, or past the 1 MiB kept for the pointer).
    /// Absent in reports written before it existed.
    #[serde(default)]
    pub version_unread_truncated: u64,
}

/// Responses whose version was not among the first `max_versions` distinct versions seen: they
/// are counted here, together, so that memory and artifacts stay bounded whatever a server
/// sends. They are not in the timeline, the split analysis or `versions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OtherVersions {
    /// The cap in force (`--max-versions`).
    pub max_versions: usize,
    /// Responses of versions beyond the cap.
    pub requests: u64,
    /// Of those, error responses (status >= 500).
    pub errors: u64,
    /// Their latency from the intended send time, ms, all such versions together.
    pub latency_ms: LatencySummary,
}

/// What the run was asked to do (secrets redacted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunConfig {
    /// Target URL, with any user info removed.
    pub url: String,
    /// HTTP method.
    pub method: String,
    /// Target rate, requests per second.
    pub rps: f64,
    /// Duration limit, seconds (`null`: until the deployment completed or rolled back).
    pub duration_secs: Option<f64>,
    /// Schedule as given (`null`: none).
    pub schedule: Option<String>,
    /// Time-scale factor applied to the schedule.
    pub time_scale: f64,
    /// Cap on requests in flight.
    pub max_in_flight: usize,
    /// Per-request timeout, seconds.
    pub timeout_secs: f64,
    /// Where the version is read from, e.g. `header:x-rollcall-version`.
    pub version_source: Vec<String>,
    /// `--from-version`, when given.
    pub from_version: Option<String>,
    /// `--to-version`, when given.
    pub to_version: Option<String>,
    /// `--max-error-rate`, when given.
    pub max_error_rate: Option<f64>,
    /// `--alias` (the alias's ARN), when given or found through `--stack`.
    #[serde(default)]
    pub alias: Option<String>,
    /// `--deployment`, when given (`latest` or a deployment id).
    #[serde(default)]
    pub deployment: Option<String>,
    /// `--invoke` (the function and qualifier), when the run probed through Lambda's Invoke API.
    #[serde(default)]
    pub invoke: Option<String>,
    /// `--sigv4` (the service requests were signed for), when given.
    #[serde(default)]
    pub sigv4: Option<String>,
    /// `--stack`, when given.
    #[serde(default)]
    pub stack: Option<String>,
    /// `--poll`, seconds, when the control plane was polled.
    #[serde(default)]
    pub poll_secs: Option<f64>,
    /// `--max-body`, bytes: response bodies are read to their end up to this size. Absent in
    /// reports written before it existed.
    #[serde(default)]
    pub max_body: Option<u64>,
}

/// Lossless histograms of one version, for `prober merge`: HdrHistogram V2 (deflate) encodings,
/// base64, values in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EncodedHistograms {
    /// Corrected latency (from the intended send time).
    pub corrected: String,
    /// Uncorrected latency (from the actual send time).
    pub uncorrected: String,
    /// Time to first byte (from the intended send time). Absent in reports written before it
    /// existed.
    #[serde(default)]
    pub ttfb: Option<String>,
}

/// The `report.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Format version of this document ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Name and version of the tool that wrote it.
    pub tool: String,
    /// Wall-clock time of the run's origin (first scheduled request), RFC 3339.
    pub started_at: String,
    /// The same instant, Unix epoch milliseconds (used to align merged runs).
    pub started_at_unix_ms: u64,
    /// Length of the observed period, seconds.
    pub duration_secs: f64,
    /// True when the run was interrupted (SIGINT or SIGTERM) before its end; for a merged
    /// report, when any input was.
    pub interrupted: bool,
    /// The inputs of the run; for a merged report, the first input's.
    pub config: RunConfig,
    /// Number of prober runs merged into this report (1 for a single run).
    pub merged_runs: u32,
    /// The overall verdict.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub verdict_reason: String,
    /// The exit code of the verdict (`verdict.exit_code()`; for `interrupted`, 130 after SIGINT
    /// and 143 after SIGTERM). The process exits 74 instead when it could not write this file.
    pub exit_code: i32,
    /// The version traffic shifted away from.
    pub old_version: Option<String>,
    /// The version traffic shifted to.
    pub new_version: Option<String>,
    /// Aligned start of the deployment, seconds since the origin (negative: before the run);
    /// `null` when no shift was seen.
    pub deployment_start: Option<f64>,
    /// Confidence interval of `deployment_start`, `[low, high]`.
    pub deployment_start_ci: Option<[f64; 2]>,
    /// When the new version's share fell back to zero after rising, seconds since the origin.
    pub rollback_at: Option<f64>,
    /// When the new version started serving all traffic for good, seconds since the origin.
    pub completed_at: Option<f64>,
    /// Schedule steps as observed, or with `--alias` the windows of constant configured share
    /// (empty without either).
    pub steps: Vec<StepReport>,
    /// The least sensitive judged step: the smallest deviation the run could have caught there;
    /// `null` when no step was judged. Absent in reports written before it existed.
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    /// Per version, keyed by the version label.
    pub versions: BTreeMap<String, VersionReport>,
    /// Responses that carried no version.
    pub untagged: u64,
    /// Whole-run counters.
    pub totals: Totals,
    /// New vs old latency over the windows where both served; `null` with fewer than two versions.
    pub latency_comparison: Option<LatencyComparison>,
    /// The same comparison on the time to first byte (`ttfb_ms`): what a client of a streamed
    /// response waits before it sees anything. `null` with fewer than two versions; absent in
    /// reports written before it existed.
    #[serde(default)]
    pub ttfb_comparison: Option<LatencyComparison>,
    /// The split timeline (tagged responses per version per bin).
    pub timeline: Timeline,
    /// Lossless per-version histograms, for merging.
    pub histograms: BTreeMap<String, EncodedHistograms>,
    /// Responses of versions beyond `--max-versions`.
    #[serde(default)]
    pub other_versions: OtherVersions,
    /// The `latency-*.hgrm` file written for each version label: safe and unique file names
    /// whatever the label holds (a label changed to fit gets a hash of the original).
    #[serde(default)]
    pub latency_files: BTreeMap<String, String>,
    /// Where `deployment_start` came from: `given` (`--deployment-start`), `alias` (the first
    /// weight change GetAlias showed), `codedeploy` (the deployment's AllowTraffic start) or
    /// `estimated` (aligned on the observed split); `null` when there is none.
    #[serde(default)]
    pub deployment_start_source: Option<String>,
    /// The control plane's account (`--alias`, `--deployment`, `--stack`); `null` without.
    #[serde(default)]
    pub control_plane: Option<ControlPlaneReport>,
}

impl Report {
    /// The JSON Schema of `report.json`, as checked in under `schema/report.schema.json`.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Report)).expect("schema serializes")
    }
}

/// The checked-in text of `schema/report.schema.json`: [`Report::json_schema`], pretty-printed,
/// with a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&Report::json_schema()).expect("schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design() {
        let table = [
            (Verdict::Followed, 0),
            (Verdict::Completed, 0),
            (Verdict::Deviated, 1),
            (Verdict::Rollback, 2),
            (Verdict::Inconclusive, 3),
            (Verdict::ErrorBudget, 4),
            (Verdict::Interrupted, 130),
        ];
        for (verdict, code) in table {
            assert_eq!(verdict.exit_code(), code, "{verdict:?}");
        }
    }

    #[test]
    fn verdicts_serialize_in_snake_case() {
        let s = serde_json::to_string(&Verdict::ErrorBudget).unwrap();
        assert_eq!(s, "\"error_budget\"");
    }
}
