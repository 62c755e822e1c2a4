//! `prober merge` for what streamed responses add to a report: the time-to-first-byte
//! histograms (added losslessly, like the latency ones), their comparison, and the counts of
//! cut bodies. Inputs written before TTFB was measured contribute nothing to it.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use rollout::Report;
use rollout::stats::{compare_latency, decode_histogram, encode_histogram, summarize};

use crate::error::ProberError;
use crate::merge::RunInput;
use crate::record::new_histogram;

/// Adds the inputs' TTFB histograms and cut-body counts into `merged` (a report merged from
/// `inputs` by [`crate::merge::merge_inputs`]): per-version `ttfb_ms`, `body_truncated` and
/// encoded `ttfb`, the totals' counts, and `ttfb_comparison` between the merged old and new
/// versions over the whole runs (as the merged latency comparison is).
pub fn merge_into(merged: &mut Report, inputs: &[RunInput]) -> Result<(), ProberError> {
    let mut ttfb: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    merged.totals.body_truncated = 0;
    merged.totals.version_unread_truncated = 0;
    for v in merged.versions.values_mut() {
        v.body_truncated = 0;
    }
    for input in inputs {
        let r = &input.report;
        merged.totals.body_truncated += r.totals.body_truncated;
        merged.totals.version_unread_truncated += r.totals.version_unread_truncated;
        for (label, v) in &r.versions {
            if let Some(m) = merged.versions.get_mut(label) {
                m.body_truncated += v.body_truncated;
            }
        }
        for (label, encoded) in &r.histograms {
            let Some(text) = &encoded.ttfb else { continue };
            let h = decode_histogram(text).map_err(|e| ProberError::BadMergeInput {
                path: input.path.clone(),
                reason: format!("time-to-first-byte histogram of version {label}: {e}"),
            })?;
            let into = ttfb
                .entry(label.clone())
                .or_insert_with(|| new_histogram(1_000_000));
            into.add(&h).map_err(|e| ProberError::BadMergeInput {
                path: input.path.clone(),
                reason: format!("time-to-first-byte histogram of version {label}: {e:?}"),
            })?;
        }
    }
    for (label, h) in &ttfb {
        if let Some(v) = merged.versions.get_mut(label) {
            v.ttfb_ms = summarize(h);
        }
        if let Some(e) = merged.histograms.get_mut(label) {
            e.ttfb = Some(encode_histogram(h));
        }
    }
    merged.ttfb_comparison = match (&merged.old_version, &merged.new_version) {
        (Some(o), Some(n)) => match (ttfb.get(o), ttfb.get(n)) {
            (Some(a), Some(b)) => compare_latency(a, b),
            _ => None,
        },
        _ => None,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::tests_support::report_with;
    use rollout::report::{EncodedHistograms, VersionReport};

    fn hist(us: u64, n: u64) -> Histogram<u64> {
        let mut h = new_histogram(1_000_000);
        h.record_n(us, n).unwrap();
        h
    }

    /// A run in which version 1 answered its first byte after 2 ms and version 2 after
    /// 40 ms, `cut` bodies of version 2 cut.
    fn input(cut: u64) -> RunInput {
        let mut report = report_with(rollout::Timeline::new(0.1), Some("1"), Some("2"), None, 5.0);
        for (label, us) in [("1", 2_000), ("2", 40_000)] {
            let h = hist(us, 30);
            report.versions.insert(
                label.into(),
                VersionReport {
                    requests: 30,
                    body_truncated: if label == "2" { cut } else { 0 },
                    ..VersionReport::default()
                },
            );
            report.histograms.insert(
                label.into(),
                EncodedHistograms {
                    corrected: encode_histogram(&h),
                    uncorrected: encode_histogram(&h),
                    ttfb: Some(encode_histogram(&h)),
                },
            );
        }
        report.totals.body_truncated = cut;
        RunInput {
            path: "run".into(),
            report,
            seconds: Vec::new(),
        }
    }

    #[test]
    fn ttfb_histograms_and_cut_bodies_add_up() {
        let inputs = [input(3), input(4)];
        let mut merged = report_with(rollout::Timeline::new(0.1), Some("1"), Some("2"), None, 5.0);
        for label in ["1", "2"] {
            merged
                .versions
                .insert(label.into(), VersionReport::default());
            merged
                .histograms
                .insert(label.into(), EncodedHistograms::default());
        }
        merge_into(&mut merged, &inputs).unwrap();
        let v2 = &merged.versions["2"];
        assert_eq!((v2.ttfb_ms.count, v2.body_truncated), (60, 7));
        assert!((39.9..40.1).contains(&v2.ttfb_ms.p50), "{v2:?}");
        assert_eq!(merged.totals.body_truncated, 7);
        let encoded = merged.histograms["1"].ttfb.as_deref().unwrap();
        assert_eq!(decode_histogram(encoded).unwrap().len(), 60);
        let cmp = merged.ttfb_comparison.expect("a TTFB comparison");
        assert!(cmp.new_slower, "{cmp:?}");
    }

    #[test]
    fn a_damaged_ttfb_histogram_names_its_input() {
        let mut bad = input(0);
        bad.report.histograms.get_mut("1").unwrap().ttfb = Some("not base64!".into());
        let mut merged = report_with(rollout::Timeline::new(0.1), None, None, None, 5.0);
        let err = merge_into(&mut merged, &[bad]).unwrap_err().to_string();
        assert!(
            err.contains("run") && err.contains("time-to-first-byte"),
            "{err}"
        );
    }
}
