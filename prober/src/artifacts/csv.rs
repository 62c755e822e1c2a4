//! `timeline.csv`: one row per second of send time.
//!
//! Columns: `second` (since the first request), `time_utc` (its wall-clock start, RFC 3339
//! UTC), one `version_<label>` column per version (tagged responses), `untagged`,
//! `errors` (transport failures, 5xx and function errors), `observed_share` (new version among tagged responses;
//! empty without a new version or without tagged responses), `expected_share` (the aligned
//! schedule; empty without a schedule or an aligned start) and `configured_share` (the new
//! version's weight in the alias's routing at the middle of the second, as `--alias` polled it;
//! empty without `--alias`, before the first poll and in gaps without a successful poll).

use std::fmt::Write as _;

use rollout::Timeline;
use rollout::configured::ConfiguredRouting;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Inputs;

/// Tagged responses per second and version, from a timeline of any bin width.
pub fn per_second(timeline: &Timeline) -> Vec<Vec<u64>> {
    let mut rows: Vec<Vec<u64>> = Vec::new();
    let width = timeline.versions.len();
    for (bin, counts) in timeline.counts.iter().enumerate() {
        let second = ((bin as f64 + 0.5) * timeline.bin_secs) as usize;
        if rows.len() <= second {
            rows.resize(second + 1, vec![0; width]);
        }
        for (slot, c) in rows[second].iter_mut().zip(counts) {
            *slot += u64::from(*c);
        }
    }
    rows
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The CSV text.
pub fn timeline_csv(inputs: &Inputs<'_>) -> String {
    let report = inputs.report;
    let tl = &report.timeline;
    let counts = per_second(tl);
    let rows = counts
        .len()
        .max(inputs.seconds.len())
        .max(report.duration_secs.ceil() as usize);
    let new_index = report
        .new_version
        .as_ref()
        .and_then(|n| tl.versions.iter().position(|v| v == n));
    let origin = OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(report.started_at_unix_ms) * 1_000_000,
    )
    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut out = String::from("second,time_utc");
    for v in &tl.versions {
        out.push(',');
        out.push_str(&csv_field(&format!("version_{v}")));
    }
    out.push_str(",untagged,errors,observed_share,expected_share,configured_share\n");
    let configured = report
        .control_plane
        .as_ref()
        .and_then(|c| c.alias.as_ref())
        .map(|a| ConfiguredRouting {
            changes: a.changes.clone(),
            gaps: a.gaps.clone(),
        });
    let configured_new = configured.as_ref().and_then(|c| {
        report
            .new_version
            .clone()
            .or_else(|| crate::aws::alias::shifted_to(c))
    });
    let zero = vec![0; tl.versions.len()];
    for second in 0..rows {
        let row = counts.get(second).unwrap_or(&zero);
        let at = origin + time::Duration::seconds(second as i64);
        let _ = write!(out, "{second},{}", at.format(&Rfc3339).unwrap_or_default());
        for c in row {
            let _ = write!(out, ",{c}");
        }
        let extra = inputs.seconds.get(second).copied().unwrap_or_default();
        let _ = write!(out, ",{},{},", extra.untagged, extra.errors);
        let tagged: u64 = row.iter().sum();
        if let (Some(i), true) = (new_index, tagged > 0) {
            let _ = write!(out, "{:.4}", row[i] as f64 / tagged as f64);
        }
        out.push(',');
        if let (Some(s), Some(start)) = (inputs.schedule, report.deployment_start) {
            let _ = write!(out, "{:.4}", s.expected_share(second as f64 + 0.5 - start));
        }
        out.push(',');
        if let (Some(c), Some(new)) = (&configured, &configured_new) {
            if let Some(share) = crate::aws::alias::configured_share(c, new, second as f64 + 0.5) {
                let _ = write!(out, "{share:.4}");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::SecondRow;
    use crate::artifacts::tests_support::report_with;

    #[test]
    fn each_row_has_its_wall_clock_time() {
        let mut tl = Timeline::new(0.1);
        tl.record(0.5, "1");
        let report = report_with(tl, Some("1"), None, None, 3.0);
        let inputs = Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        let text = timeline_csv(&inputs);
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
        let column = rows[0]
            .iter()
            .position(|h| *h == "time_utc")
            .expect("a time_utc column");
        // report_with starts at 2026-11-26T04:30:00Z.
        let times: Vec<&str> = rows[1..].iter().map(|r| r[column]).collect();
        assert_eq!(
            times,
            [
                "2026-11-26T04:30:00Z",
                "2026-11-26T04:30:01Z",
                "2026-11-26T04:30:02Z"
            ]
        );
    }

    #[test]
    fn bins_roll_up_into_seconds() {
        let mut tl = Timeline::new(0.1);
        tl.record(0.05, "1");
        tl.record(0.95, "1");
        tl.record(1.05, "2");
        assert_eq!(per_second(&tl), vec![vec![2, 0], vec![0, 1]]);
    }

    #[test]
    fn csv_has_one_row_per_second_with_shares() {
        let mut tl = Timeline::new(0.1);
        for _ in 0..3 {
            tl.record(0.5, "1");
        }
        tl.record(0.6, "2");
        tl.record(1.5, "2");
        let report = report_with(tl, Some("1"), Some("2"), Some(1.0), 3.0);
        let schedule = rollout::schedule::Schedule::parse("canary:10%:1s").unwrap();
        let seconds = [SecondRow {
            untagged: 2,
            errors: 1,
        }];
        let inputs = Inputs {
            report: &report,
            schedule: Some(&schedule),
            histograms: Default::default(),
            seconds: &seconds,
            intervals: &[],
        };
        let text = timeline_csv(&inputs);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines[0],
            "second,time_utc,version_1,version_2,untagged,errors,observed_share,expected_share,\
             configured_share"
        );
        assert_eq!(lines[1], "0,2026-11-26T04:30:00Z,3,1,2,1,0.2500,0.0000,");
        assert_eq!(lines[2], "1,2026-11-26T04:30:01Z,0,1,0,0,1.0000,0.1000,");
        assert_eq!(lines[3], "2,2026-11-26T04:30:02Z,0,0,0,0,,1.0000,");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn the_alias_s_weight_is_a_column_with_its_gaps_empty() {
        use rollout::configured::{Routing, RoutingChange};
        use rollout::control_plane::{AliasReport, ControlPlaneReport};
        let mut tl = Timeline::new(0.1);
        tl.record(0.5, "1");
        let mut report = report_with(tl, Some("1"), Some("2"), None, 4.0);
        let change = |at: f64, weight: f64| RoutingChange {
            at,
            not_before: at - 0.1,
            not_after: at + 0.1,
            routing: Routing {
                primary: "1".into(),
                additional: [("2".to_owned(), weight)].into(),
            },
            revision_id: None,
        };
        report.control_plane = Some(ControlPlaneReport {
            alias: Some(AliasReport {
                alias_arn: "arn".into(),
                poll_secs: 0.2,
                polls: 9,
                changes: vec![change(0.1, 0.0), change(1.2, 0.25)],
                seen_at_unix_ms: vec![],
                gaps: vec![[2.2, 3.1]],
                max_answer_secs: 0.01,
                max_send_delay_secs: 0.0,
            }),
            ..ControlPlaneReport::default()
        });
        let inputs = Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        let text = timeline_csv(&inputs);
        let column: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap())
            .collect();
        assert_eq!(column, ["0.0000", "0.2500", "", "0.2500"]);
    }
}
