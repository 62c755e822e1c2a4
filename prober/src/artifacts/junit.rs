//! `junit.xml`: one testsuite `rollout` with one testcase per schedule step (named like the live
//! line, one-based with its share and boundaries: `step 2/4: 20% from 60s to 120s`),
//! `error_budget` and `overall`. Deviated steps, an exceeded budget and a non-zero exit fail;
//! steps without enough data and an absent budget are skipped.

use std::fmt::Write as _;

use rollout::report::StepVerdict;
use rollout::{Report, Verdict};

use crate::printable::printable;
use crate::summary::step_label;

/// Escapes text for XML attributes and content; characters XML cannot carry, and controls,
/// become visible `\u{..}` escapes ([`crate::printable`]).
pub fn escape(s: &str) -> String {
    let s = printable(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

enum CaseResult {
    Pass,
    Fail { kind: &'static str, message: String },
    Skip(String),
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// The control plane's cases (`--alias`, `--deployment`): whether the alias followed the
/// schedule (one failure listing the steps it did not apply on time) and whether CodeDeploy's
/// account agrees with the probes'.
fn control_plane_cases(report: &Report, cases: &mut Vec<(String, f64, CaseResult)>) {
    let Some(plane) = &report.control_plane else {
        return;
    };
    if let Some(c) = &plane.schedule_conformance {
        let result = if c.followed {
            CaseResult::Pass
        } else {
            let late: Vec<String> = c
                .steps
                .iter()
                .filter(|s| !matches!(s.verdict.as_str(), "on_time" | "not_observed"))
                .map(|s| format!("step {} {}", s.index + 1, s.verdict))
                .collect();
            CaseResult::Fail {
                kind: "schedule_conformance",
                message: format!("{} ({})", c.reason, late.join(", ")),
            }
        };
        cases.push((
            format!("alias follows schedule {}", c.schedule),
            0.0,
            result,
        ));
    }
    if let Some(a) = &plane.agreement {
        let result = if a.agree {
            CaseResult::Pass
        } else {
            CaseResult::Fail {
                kind: "control_plane_disagrees",
                message: a.reason.clone(),
            }
        };
        cases.push((
            "control plane agrees with the probes".to_owned(),
            0.0,
            result,
        ));
    }
}

/// The JUnit XML text.
pub fn junit_xml(report: &Report) -> String {
    let mut cases: Vec<(String, f64, CaseResult)> = Vec::new();
    let step_count = report.steps.len();
    for s in &report.steps {
        let name = step_label(s, step_count);
        let detail = format!(
            "{name}: expected {}, observed {} (interval {} - {}) over {} requests",
            pct(Some(s.expected_share)),
            pct(s.observed_share),
            pct(s.ci_low),
            pct(s.ci_high),
            s.requests
        );
        let result = match s.verdict {
            StepVerdict::Followed => CaseResult::Pass,
            StepVerdict::Deviated => CaseResult::Fail {
                kind: "deviated",
                message: detail,
            },
            StepVerdict::Insufficient => CaseResult::Skip(format!("too few requests: {detail}")),
            StepVerdict::NotObserved => CaseResult::Skip(format!("not observed: {detail}")),
        };
        cases.push((name, (s.end - s.start).max(0.0), result));
    }
    let rate = report.totals.error_rate;
    let budget = match report.config.max_error_rate {
        None => CaseResult::Skip(format!(
            "no --max-error-rate given; error rate {:.3}%",
            rate * 100.0
        )),
        Some(max) if rate > max => CaseResult::Fail {
            kind: "error_budget",
            message: format!(
                "error rate {:.3}% exceeds the budget {:.3}%",
                rate * 100.0,
                max * 100.0
            ),
        },
        Some(_) => CaseResult::Pass,
    };
    cases.push(("error_budget".to_owned(), 0.0, budget));
    control_plane_cases(report, &mut cases);
    let overall = if report.exit_code == 0 {
        CaseResult::Pass
    } else {
        let kind = match report.verdict {
            Verdict::Deviated => "deviated",
            Verdict::Rollback => "rollback",
            Verdict::Inconclusive => "inconclusive",
            Verdict::ErrorBudget => "error_budget",
            Verdict::Interrupted => "interrupted",
            Verdict::Followed | Verdict::Completed => "failed",
        };
        CaseResult::Fail {
            kind,
            message: report.verdict_reason.clone(),
        }
    };
    cases.push(("overall".to_owned(), report.duration_secs, overall));

    let failures = cases
        .iter()
        .filter(|c| matches!(c.2, CaseResult::Fail { .. }))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.2, CaseResult::Skip(_)))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"prober\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        cases.len(),
        report.duration_secs
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"rollout\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" \
         time=\"{:.3}\" timestamp=\"{}\">",
        cases.len(),
        report.duration_secs,
        escape(&report.started_at)
    );
    out.push_str("    <properties>\n");
    let props = [
        ("url", report.config.url.clone()),
        (
            "schedule",
            report.config.schedule.clone().unwrap_or_default(),
        ),
        ("verdict", format!("{:?}", report.verdict).to_lowercase()),
        (
            "old_version",
            report.old_version.clone().unwrap_or_default(),
        ),
        (
            "new_version",
            report.new_version.clone().unwrap_or_default(),
        ),
        ("interrupted", report.interrupted.to_string()),
    ];
    let plane = report.control_plane.as_ref();
    let deployment = plane.and_then(|c| c.deployment.as_ref());
    let control_props = [
        (
            "alias",
            plane
                .and_then(|c| c.alias.as_ref())
                .map(|a| a.alias_arn.clone()),
        ),
        ("deployment_id", deployment.map(|d| d.deployment_id.clone())),
        ("deployment_status", deployment.map(|d| d.status.clone())),
        (
            "control_plane_failures",
            plane.map(|c| c.failures.len().to_string()),
        ),
    ];
    let props = props
        .into_iter()
        .chain(control_props.into_iter().filter_map(|(n, v)| Some((n, v?))));
    for (name, value) in props {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    out.push_str("    </properties>\n");
    for (name, time, result) in &cases {
        let _ = write!(
            out,
            "    <testcase classname=\"rollout\" name=\"{}\" time=\"{time:.3}\"",
            escape(name)
        );
        match result {
            CaseResult::Pass => out.push_str("/>\n"),
            CaseResult::Fail { kind, message } => {
                let m = escape(message);
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{kind}\" message=\"{m}\">{m}</failure>\n    </testcase>"
                );
            }
            CaseResult::Skip(message) => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(message)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::tests_support::report_with;
    use rollout::report::StepReport;

    fn step(index: usize, verdict: StepVerdict) -> StepReport {
        StepReport {
            index,
            start: index as f64 * 10.0,
            end: index as f64 * 10.0 + 10.0,
            expected_share: 0.1,
            observed_share: Some(0.3),
            ci_low: Some(0.25),
            ci_high: Some(0.35),
            min_detectable_deviation: Some(0.08),
            requests: 500,
            new_requests: 150,
            verdict,
        }
    }

    #[test]
    fn escapes_xml() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\\u{1}"
        );
    }

    #[test]
    fn any_version_bytes_keep_junit_well_formed_and_visible() {
        let hostile = "2\u{1b}[31m\u{0}\u{7}\r\n<&\u{ffff}\u{fffe}\u{9b}";
        let mut report = report_with(
            rollout::Timeline::new(0.1),
            Some("1"),
            Some(hostile),
            Some(0.0),
            30.0,
        );
        report.verdict_reason = format!("version {hostile} deviated");
        report.verdict = Verdict::Deviated;
        report.exit_code = 1;
        let xml = junit_xml(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        let new_version = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("new_version"))
            .and_then(|n| n.attribute("value"))
            .expect("a new_version property");
        assert_eq!(
            new_version, "2\\u{1b}[31m\\u{0}\\u{7}\\u{d}\\u{a}<&\\u{ffff}\\u{fffe}\\u{9b}",
            "every control and non-character shown as an escape, nothing dropped"
        );
    }

    #[test]
    fn steps_are_named_one_based_with_their_boundaries() {
        let mut report = report_with(
            rollout::Timeline::new(0.1),
            Some("1"),
            Some("2"),
            Some(0.0),
            30.0,
        );
        report.steps = vec![
            step(0, StepVerdict::Followed),
            step(1, StepVerdict::Deviated),
        ];
        let xml = junit_xml(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let names: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .filter_map(|n| n.attribute("name"))
            .collect();
        assert_eq!(
            names,
            [
                "step 1/2: 10% from 0s to 10s",
                "step 2/2: 10% from 10s to 20s",
                "error_budget",
                "overall"
            ]
        );
        assert!(
            xml.contains("message=\"step 2/2: 10% from 10s to 20s: expected"),
            "{xml}"
        );
    }

    #[test]
    fn one_case_per_step_plus_budget_and_overall() {
        let mut report = report_with(
            rollout::Timeline::new(0.1),
            Some("1"),
            Some("2"),
            Some(0.0),
            30.0,
        );
        report.steps = vec![
            step(0, StepVerdict::Followed),
            step(1, StepVerdict::Deviated),
            step(2, StepVerdict::Insufficient),
        ];
        report.verdict = Verdict::Deviated;
        report.exit_code = 1;
        report.verdict_reason = "step 1 <deviated>".into();
        report.config.max_error_rate = Some(0.01);
        report.totals.error_rate = 0.05;
        let xml = junit_xml(&report);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
        assert!(
            xml.contains(
                "<testsuite name=\"rollout\" tests=\"5\" failures=\"3\" errors=\"0\" skipped=\"1\""
            ),
            "{xml}"
        );
        for name in [
            "step 1/3: 10% from 0s to 10s",
            "step 2/3: 10% from 10s to 20s",
            "step 3/3: 10% from 20s to 30s",
            "error_budget",
            "overall",
        ] {
            assert!(xml.contains(&format!("name=\"{name}\"")), "{name} in {xml}");
        }
        assert!(xml.contains(
            "<failure type=\"deviated\" message=\"step 2/3: 10% from 10s to 20s: expected 10.0%"
        ));
        assert!(xml.contains("message=\"step 1 &lt;deviated&gt;\""));
        assert!(xml.contains("<failure type=\"error_budget\""));
        assert_eq!(xml.matches("<testcase").count(), 5);
        assert_eq!(
            xml.matches("</testcase>").count(),
            4,
            "step 1 passes as an empty element"
        );
    }

    #[test]
    fn the_control_plane_s_findings_are_cases_and_properties() {
        use rollout::control_plane::{
            Agreement, ControlPlaneReport, DeploymentReport, ScheduleConformance, StepConformance,
        };
        let mut report = report_with(
            rollout::Timeline::new(0.1),
            Some("1"),
            Some("2"),
            None,
            10.0,
        );
        assert!(
            !junit_xml(&report).contains("control plane"),
            "none without one"
        );
        report.control_plane = Some(ControlPlaneReport {
            deployment: Some(DeploymentReport {
                deployment_id: "d-ABC".into(),
                status: "Succeeded".into(),
                ..DeploymentReport::default()
            }),
            schedule_conformance: Some(ScheduleConformance {
                schedule: "canary:10%:5s".into(),
                followed: false,
                reason: "1 of 1 steps late".into(),
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
                reason: "CodeDeploy marks the deployment Succeeded while the split deviated".into(),
            }),
            ..ControlPlaneReport::default()
        });
        let xml = junit_xml(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        let failure_of = |case: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(case))
                .unwrap_or_else(|| panic!("no case {case}: {xml}"))
                .children()
                .find(|n| n.has_tag_name("failure"))
                .map(|f| {
                    (
                        f.attribute("type").unwrap().to_owned(),
                        f.attribute("message").unwrap().to_owned(),
                    )
                })
        };
        let (kind, message) = failure_of("alias follows schedule canary:10%:5s").expect("fails");
        assert_eq!(kind, "schedule_conformance");
        assert!(message.contains("step 1 late"), "{message}");
        let (kind, message) = failure_of("control plane agrees with the probes").expect("fails");
        assert_eq!(kind, "control_plane_disagrees");
        assert!(message.starts_with("CodeDeploy marks"), "{message}");
        for (name, value) in [
            ("deployment_id", "d-ABC"),
            ("deployment_status", "Succeeded"),
        ] {
            assert!(
                doc.descendants().any(|n| n.has_tag_name("property")
                    && n.attribute("name") == Some(name)
                    && n.attribute("value") == Some(value)),
                "property {name}: {xml}"
            );
        }
        let plane = report.control_plane.as_mut().unwrap();
        plane.agreement.as_mut().unwrap().agree = true;
        plane.schedule_conformance.as_mut().unwrap().followed = true;
        let xml = junit_xml(&report);
        assert!(
            !xml.contains("schedule_conformance") && !xml.contains("control_plane_disagrees"),
            "{xml}"
        );
    }
}
