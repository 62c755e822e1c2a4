//! Turning a run's aggregate and split analysis into the `report.json` model.

use std::collections::BTreeMap;

use rollout::analysis::{AnalysisConfig, SplitAnalysis, overall};
use rollout::configured::ConfiguredRouting;
use rollout::control_plane::ScheduleConformance;
use rollout::report::{EncodedHistograms, OtherVersions, RunConfig, Totals, VersionReport};
use rollout::stats::{encode_histogram, summarize};
use rollout::{FORMAT_VERSION, Report, Timeline};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Interrupt;
use crate::aggregate::{Aggregate, Compared, VersionAgg};
use crate::client::FailKind;
use crate::config::{Config, DEFAULT_MAX_ERROR_RATE};
use crate::record::ERROR_KINDS;
use crate::worker::LATE_THRESHOLD;

/// Name and version of this tool, as written in reports.
pub fn tool() -> String {
    format!("prober {}", env!("CARGO_PKG_VERSION"))
}

/// The analysis settings of a run; `deployment_start` already resolved to seconds.
pub fn analysis_config(config: &Config, deployment_start: Option<f64>) -> AnalysisConfig {
    AnalysisConfig {
        schedule: config.schedule.clone(),
        old_version: config.from_version.clone(),
        new_version: config.to_version.clone(),
        deployment_start,
        ..AnalysisConfig::default()
    }
}

/// `base` with the alias's routing so far (`--alias`): the expected share is the configured
/// one and, when no start was given, the deployment starts when the alias first moved. Cheap
/// (a clone of the routing's changes); rebuilt when the routing changed.
pub fn with_configured(
    base: &AnalysisConfig,
    configured: Option<&ConfiguredRouting>,
    polled_until: Option<f64>,
) -> AnalysisConfig {
    let alias_start = configured.and_then(crate::aws::alias::alias_start);
    AnalysisConfig {
        deployment_start: base.deployment_start.or(alias_start),
        configured: configured.cloned(),
        polled_until: configured.and(polled_until),
        ..base.clone()
    }
}

/// With `--alias` and a schedule (`--schedule`, or the followed deployment's configuration):
/// whether the alias's weights followed the schedule (`None` otherwise, or before the new
/// version is known).
pub fn schedule_conformance(
    config: &Config,
    configured: Option<&ConfiguredRouting>,
    split: &SplitAnalysis,
    run_end: f64,
) -> Option<ScheduleConformance> {
    let configured = configured.filter(|c| !c.changes.is_empty())?;
    let schedule = config.schedule.as_ref()?;
    let text = config.schedule_text.as_deref().unwrap_or(schedule.name());
    let new = split.new_version.as_deref()?;
    Some(rollout::configured::conformance(
        schedule, text, configured, new, run_end,
    ))
}

/// The verdict with the alias's conformance to the schedule taken into account
/// ([`rollout::analysis::overall_with_conformance`]): a run the clients followed but whose alias
/// did not follow the schedule is `deviated`. Verdicts that take precedence (rollback, error
/// budget, clients against the alias, interruption) are left as they are.
pub fn judge_conformance(
    report: &mut Report,
    split: &SplitAnalysis,
    conformance: &ScheduleConformance,
) {
    use rollout::Verdict;
    if !matches!(
        report.verdict,
        Verdict::Followed | Verdict::Completed | Verdict::Inconclusive
    ) {
        return;
    }
    let any_tagged = report.versions.values().any(|v| v.requests > 0);
    let (verdict, reason) =
        rollout::analysis::overall_with_conformance(split, Some(conformance), false, any_tagged);
    if verdict != report.verdict {
        report.verdict = verdict;
        report.verdict_reason = reason;
        report.exit_code = verdict.exit_code();
    }
}

/// Where the report's deployment start came from: `given` (`--deployment-start`), `alias`
/// (the alias's first move, seen by the polls), `estimated` (aligned on the observed split).
pub fn deployment_start_source(
    config: &Config,
    configured: Option<&ConfiguredRouting>,
    split: &SplitAnalysis,
) -> Option<String> {
    let source = if config.deployment_start.is_some() {
        "given"
    } else if configured
        .and_then(crate::aws::alias::alias_start)
        .is_some()
    {
        "alias"
    } else if split.deployment_start.is_some() {
        "estimated"
    } else {
        return None;
    };
    Some(source.to_owned())
}

/// Facts about the run that the aggregate does not hold.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Wall-clock time of slot 0.
    pub started_at: OffsetDateTime,
    /// Observed period, seconds.
    pub duration_secs: f64,
    /// Interrupted by Ctrl-C / the shutdown future (for a merge: any input was).
    pub interrupted: bool,
    /// The signal that interrupted this run (never set for a merge).
    pub signal: Option<Interrupt>,
    /// Stopped early because every request of the first seconds failed.
    pub stopped_early: bool,
    /// Tickets the pacer issued.
    pub planned: u64,
}

/// RFC 3339 and Unix milliseconds of an instant.
pub fn wall_clock(at: OffsetDateTime) -> (String, u64) {
    let text = at.format(&Rfc3339).unwrap_or_else(|_| at.to_string());
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    (text, ms)
}

/// Per-version report entry.
fn version_report(v: &VersionAgg) -> VersionReport {
    VersionReport {
        requests: v.requests,
        errors: v.errors,
        cold_starts: v.cold_starts,
        status_codes: v
            .statuses
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        latency_ms: summarize(&v.corrected),
        latency_uncorrected_ms: summarize(&v.uncorrected),
        ttfb_ms: summarize(&v.ttfb),
        body_truncated: v.body_truncated,
    }
}

/// The verdict fields: the split's verdict combined with the error budget (default
/// [`DEFAULT_MAX_ERROR_RATE`]), the diagnosis of a target that never answered, and the
/// interruption. Returns the verdict, its reason and the exit code.
pub fn verdict(
    split: &SplitAnalysis,
    totals: &Totals,
    max_error_rate: Option<f64>,
    any_tagged: bool,
    facts: &RunFacts,
    http2: bool,
) -> (rollout::Verdict, String, i32) {
    let max = max_error_rate.unwrap_or(DEFAULT_MAX_ERROR_RATE);
    let exceeded = totals.error_rate > max;
    let (verdict, reason) = if !any_tagged && totals.responses == 0 && totals.sent > 0 {
        (
            rollout::Verdict::Inconclusive,
            unanswered(totals, http2, facts),
        )
    } else {
        let (verdict, reason) = overall(split, exceeded, any_tagged);
        match verdict {
            rollout::Verdict::ErrorBudget => (
                verdict,
                format!(
                    "error rate {:.2}% exceeded the budget {:.2}% (--max-error-rate{}); split: {}",
                    totals.error_rate * 100.0,
                    max * 100.0,
                    if max_error_rate.is_none() {
                        ", default"
                    } else {
                        ""
                    },
                    split.reason
                ),
            ),
            rollout::Verdict::Inconclusive if !any_tagged => (
                verdict,
                format!(
                    "{reason} ({} responses, none named a version)",
                    totals.responses
                ),
            ),
            _ => (verdict, reason),
        }
    };
    match facts.signal {
        Some(signal) => {
            let when = format!(
                "interrupted by {} after {:.1} s",
                signal.name(),
                facts.duration_secs
            );
            match verdict {
                rollout::Verdict::Followed
                | rollout::Verdict::Completed
                | rollout::Verdict::Inconclusive => (
                    rollout::Verdict::Interrupted,
                    format!("{when}, before the run's end; so far: {reason}"),
                    signal.exit_code(),
                ),
                // A finding made before the interruption stands.
                _ => (
                    verdict,
                    format!("{reason} (then {when})"),
                    verdict.exit_code(),
                ),
            }
        }
        None => (verdict, reason.clone(), verdict.exit_code()),
    }
}

/// Why no request got an HTTP response, with counts per cause and a hint for the largest.
/// Requests abandoned in flight at the end (`interrupted`) are counted apart: they say nothing
/// about the target.
fn unanswered(totals: &Totals, http2: bool, facts: &RunFacts) -> String {
    let interrupted = FailKind::Interrupted.cause();
    let abandoned = totals.failure_causes.get(interrupted).copied().unwrap_or(0);
    let completed = totals.sent.saturating_sub(abandoned);
    let mut causes: Vec<(&String, &u64)> = totals
        .failure_causes
        .iter()
        .filter(|(c, _)| c.as_str() != interrupted)
        .collect();
    causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut counts = causes
        .iter()
        .map(|(cause, n)| format!("{cause}: {n}/{completed}"))
        .collect::<Vec<_>>()
        .join(", ");
    if abandoned > 0 {
        if !counts.is_empty() {
            counts.push_str(", ");
        }
        counts.push_str(&format!("{abandoned} more abandoned in flight at the end"));
    }
    let top = causes
        .first()
        .and_then(|(c, _)| FailKind::ALL.into_iter().find(|k| k.cause() == c.as_str()));
    let hint = match top {
        Some(FailKind::Refused) => {
            "nothing listens on the target's port: check --url and that the service is up"
        }
        Some(FailKind::Dns) => "the host name does not resolve: check the host in --url",
        Some(FailKind::NotTls) => "the port does not speak TLS: use http:// or the HTTPS port",
        Some(FailKind::Tls) => "check the server's certificate (or --insecure for a test server)",
        Some(FailKind::Timeout) => "the target never answered within --timeout",
        Some(FailKind::Connect) => {
            "the host is unreachable: check --url, the network and any firewall"
        }
        Some(FailKind::Reset | FailKind::Other) if http2 => {
            "the server may not speak HTTP/2 with prior knowledge: drop --http2"
        }
        Some(FailKind::Reset | FailKind::Other) => {
            "the server closed connections without answering: is it an HTTP server?"
        }
        Some(FailKind::Interrupted) | None => "the run ended before any answer",
    };
    let stopped = if facts.stopped_early {
        format!(
            "; stopped after {:.1} s, since every request failed",
            facts.duration_secs
        )
    } else {
        String::new()
    };
    format!("no request got an HTTP response ({counts}): {hint}{stopped}")
}

/// Assembles `report.json` from the pieces every report has.
#[derive(Debug)]
pub struct ReportParts {
    /// The run configuration.
    pub config: RunConfig,
    /// Facts of the run.
    pub facts: RunFacts,
    /// Number of runs merged.
    pub merged_runs: u32,
    /// Split analysis.
    pub split: SplitAnalysis,
    /// Per-version entries.
    pub versions: BTreeMap<String, VersionReport>,
    /// Untagged responses.
    pub untagged: u64,
    /// Totals.
    pub totals: Totals,
    /// Latency comparison.
    pub latency_comparison: Option<rollout::report::LatencyComparison>,
    /// Timeline.
    pub timeline: Timeline,
    /// Encoded histograms.
    pub histograms: BTreeMap<String, EncodedHistograms>,
    /// Responses of versions beyond `--max-versions`.
    pub other_versions: OtherVersions,
    /// The run used HTTP/2 (for the diagnosis of a target that never answered).
    pub http2: bool,
}

impl ReportParts {
    /// The report, with the verdict combined from the split and the error budget.
    pub fn into_report(self, max_error_rate: Option<f64>) -> Report {
        let any_tagged = self.versions.values().any(|v| v.requests > 0);
        let (verdict, verdict_reason, exit_code) = verdict(
            &self.split,
            &self.totals,
            max_error_rate,
            any_tagged,
            &self.facts,
            self.http2,
        );
        let latency_files = crate::artifacts::latency_file_names(self.histograms.keys());
        let (started_at, started_at_unix_ms) = wall_clock(self.facts.started_at);
        Report {
            format_version: FORMAT_VERSION,
            tool: tool(),
            started_at,
            started_at_unix_ms,
            duration_secs: self.facts.duration_secs,
            interrupted: self.facts.interrupted,
            config: self.config,
            merged_runs: self.merged_runs,
            verdict,
            verdict_reason,
            exit_code,
            old_version: self.split.old_version,
            new_version: self.split.new_version,
            deployment_start: self.split.deployment_start,
            deployment_start_ci: self.split.deployment_start_ci,
            rollback_at: self.split.rollback_at,
            completed_at: self.split.completed_at,
            steps: self.split.steps,
            sensitivity: self.split.sensitivity,
            versions: self.versions,
            untagged: self.untagged,
            totals: self.totals,
            latency_comparison: self.latency_comparison,
            ttfb_comparison: None,
            timeline: self.timeline,
            histograms: self.histograms,
            other_versions: self.other_versions,
            latency_files,
            deployment_start_source: None,
            control_plane: None,
        }
    }
}

/// `report.json` of a single run.
pub fn build_report(
    config: &Config,
    agg: &Aggregate,
    split: SplitAnalysis,
    facts: RunFacts,
) -> Report {
    let errors_by_kind: BTreeMap<String, u64> = ERROR_KINDS
        .iter()
        .zip(agg.errors)
        .map(|(k, n)| ((*k).to_owned(), n))
        .collect();
    let totals = Totals {
        planned: facts.planned,
        sent: agg.sent,
        responses: agg.responses,
        late_sends: agg.late,
        late_threshold_ms: LATE_THRESHOLD.as_secs_f64() * 1000.0,
        achieved_rps: if facts.duration_secs > 0.0 {
            agg.sent as f64 / facts.duration_secs
        } else {
            0.0
        },
        send_lag_ms: summarize(&agg.lag),
        errors_by_kind,
        status_codes: agg
            .statuses
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        error_rate: agg.error_rate(),
        failure_causes: FailKind::ALL
            .iter()
            .zip(agg.causes)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.cause().to_owned(), n))
            .collect(),
        body_truncated: agg.body_truncated,
        version_unread_truncated: agg.version_cut,
    };
    let versions = (split.old_version.clone(), split.new_version.clone());
    let compare = |what| match &versions {
        (Some(old), Some(new)) => agg.windowed_comparison_of(what, old, new),
        _ => None,
    };
    let latency_comparison = compare(Compared::Total);
    let ttfb_comparison = compare(Compared::Ttfb);
    let parts = ReportParts {
        config: config.run_config(),
        facts,
        merged_runs: 1,
        split,
        versions: agg
            .versions
            .iter()
            .map(|(k, v)| (k.clone(), version_report(v)))
            .collect(),
        untagged: agg.untagged.requests,
        totals,
        latency_comparison,
        timeline: agg.timeline.clone(),
        histograms: agg
            .versions
            .iter()
            .map(|(k, v)| {
                let e = EncodedHistograms {
                    corrected: encode_histogram(&v.corrected),
                    uncorrected: encode_histogram(&v.uncorrected),
                    ttfb: Some(encode_histogram(&v.ttfb)),
                };
                (k.clone(), e)
            })
            .collect(),
        other_versions: OtherVersions {
            max_versions: config.max_versions,
            requests: agg.other.requests,
            errors: agg.other.errors,
            latency_ms: summarize(&agg.other.corrected),
        },
        http2: config.http2,
    };
    let mut report = parts.into_report(config.max_error_rate);
    report.ttfb_comparison = ttfb_comparison;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(signal: Option<Interrupt>) -> RunFacts {
        RunFacts {
            started_at: OffsetDateTime::UNIX_EPOCH,
            duration_secs: 5.0,
            interrupted: signal.is_some(),
            signal,
            stopped_early: signal.is_none(),
            planned: 251,
        }
    }

    fn split() -> SplitAnalysis {
        rollout::analysis::analyze(&Timeline::new(0.1), &AnalysisConfig::default())
    }

    #[test]
    fn requests_abandoned_at_the_stop_are_not_the_diagnosis() {
        let totals = Totals {
            sent: 251,
            failure_causes: [("host not found".into(), 64), ("interrupted".into(), 187)].into(),
            error_rate: 64.0 / 251.0,
            ..Totals::default()
        };
        let (v, reason, code) = verdict(&split(), &totals, None, false, &facts(None), false);
        assert_eq!((v, code), (rollout::Verdict::Inconclusive, 3));
        assert!(reason.contains("host not found: 64/64"), "{reason}");
        assert!(reason.contains("187 more abandoned"), "{reason}");
        assert!(reason.contains("does not resolve"), "{reason}");
        assert!(reason.contains("stopped after 5.0 s"), "{reason}");
    }

    #[test]
    fn an_interrupt_overrides_only_what_is_not_a_finding() {
        let quiet = Totals {
            sent: 10,
            responses: 10,
            ..Totals::default()
        };
        for (signal, code) in [(Interrupt::Sigint, 130), (Interrupt::Sigterm, 143)] {
            let (v, reason, c) = verdict(&split(), &quiet, None, true, &facts(Some(signal)), false);
            assert_eq!((v, c), (rollout::Verdict::Interrupted, code), "{reason}");
            assert!(reason.contains(signal.name()), "{reason}");
        }
        let failing = Totals {
            sent: 10,
            responses: 10,
            error_rate: 0.6,
            ..Totals::default()
        };
        let (v, reason, c) = verdict(
            &split(),
            &failing,
            None,
            true,
            &facts(Some(Interrupt::Sigterm)),
            false,
        );
        assert_eq!((v, c), (rollout::Verdict::ErrorBudget, 4), "{reason}");
        assert!(reason.contains("SIGTERM"), "{reason}");
    }

    /// Found by use (tests/tests/prober_control_plane.rs): the alias's start was the middle of
    /// its bracket, so responses of the new version between the real change and that middle
    /// read as "served before the deployment's start" and the run as deviated.
    #[test]
    fn the_alias_s_bracket_is_the_start_s_interval() {
        use rollout::configured::{Routing, RoutingChange};
        let routing = |w: f64| Routing {
            primary: "1".into(),
            additional: if w > 0.0 {
                [("2".to_owned(), w)].into()
            } else {
                Default::default()
            },
        };
        let change = |not_before: f64, not_after: f64, w: f64| RoutingChange {
            at: (not_before + not_after) / 2.0,
            not_before,
            not_after,
            routing: routing(w),
            revision_id: None,
        };
        // The alias moved at 1.02 s; polls a second apart bracket it in [1.0, 2.0].
        let configured = ConfiguredRouting {
            changes: vec![
                change(0.0, 0.0, 0.0),
                change(1.0, 2.0, 0.1),
                change(6.0, 7.0, 1.0),
            ],
            gaps: vec![],
        };
        let mut timeline = Timeline::new(0.1);
        let mut n = 0u32;
        for i in 0..1200 {
            let t = f64::from(i) * 0.01;
            let new = if t < 1.02 {
                false
            } else if t < 6.02 {
                n += 1;
                n % 10 == 0
            } else {
                true
            };
            timeline.record(t, if new { "2" } else { "1" });
        }
        let base = AnalysisConfig {
            schedule: Some(rollout::schedule::Schedule::parse("canary:10%:5s").unwrap()),
            ..AnalysisConfig::default()
        };
        let split =
            rollout::analysis::analyze(&timeline, &with_configured(&base, Some(&configured), None));
        assert_ne!(
            split.verdict,
            rollout::Verdict::Deviated,
            "{}",
            split.reason
        );
        // The start is the bracket's (rollout's analysis against the alias): its interval is
        // the bracket, so the answers of version 2 from 1.02 s are not "before the start".
        let start = split.deployment_start.expect("a start from the alias");
        assert!((1.0..=2.0).contains(&start), "{start}");
        assert_eq!(split.deployment_start_ci, Some([1.0, 2.0]));
    }
}
