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
