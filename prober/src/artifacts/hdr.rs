//! HdrHistogram text formats: the percentile distribution (`.hgrm`, what HdrHistogram's plotter
//! reads) and the interval logs (`latency.hlog`, `ttfb.hlog`: one tag per version, one interval
//! per second).

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::Inputs;
use crate::aggregate::decode;

/// The percentile distribution of `h` in the layout of HdrHistogram's
/// `outputPercentileDistribution` (5 ticks per half distance), values divided by `scale`
/// (1000: microseconds shown as milliseconds).
pub fn percentile_distribution(h: &Histogram<u64>, scale: f64) -> String {
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let value = h.highest_equivalent(v.value_iterated_to()) as f64 / scale;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.3} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
            }
        }
    }
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (h.mean() / scale, h.stdev() / scale, h.max() as f64 / scale)
    };
    let _ = writeln!(
        out,
        "#[Mean    = {mean:12.3}, StdDeviation   = {stdev:12.3}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:12.3}, Total count    = {:12}]",
        h.len()
    );
    let sub_buckets = 2u64.pow((2.0 * 10f64.powi(i32::from(h.sigfig()))).log2().ceil() as u32);
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {sub_buckets:12}]",
        h.buckets()
    );
    out
}

/// A version label as an interval-log tag (no commas or spaces).
pub fn tag_text(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// What an interval log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// The corrected latency (`latency.hlog`).
    Latency,
    /// The time to first byte (`ttfb.hlog`).
    TimeToFirstByte,
}

/// The interval log of `measure`: one interval per version per second (from the run's
/// one-second records), or, for a merged report without them, one interval per version
/// spanning the run. Timestamps are seconds since the origin (`StartTime`/`BaseTime`); values
/// in µs, the max column in ms.
pub fn interval_log(inputs: &Inputs<'_>, measure: Measure) -> Vec<u8> {
    let report = inputs.report;
    let start = UNIX_EPOCH + Duration::from_millis(report.started_at_unix_ms);
    let secs = start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut buf = Vec::new();
    let _ = write!(
        TextSink(&mut buf),
        "#[{} of each version, microseconds, written by {}]\n\
         #[Histogram log format version 1.3]\n\
         #[StartTime: {secs:.3} (seconds since epoch), {}]\n\
         #[BaseTime: {secs:.3} (seconds since epoch)]\n\
         \"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        match measure {
            Measure::Latency => "Latency",
            Measure::TimeToFirstByte => "Time to first byte",
        },
        report.tool,
        report.started_at
    );
    let mut serializer = V2DeflateSerializer::new();
    let Ok(mut writer) = IntervalLogWriterBuilder::new()
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut buf, &mut serializer)
    else {
        return Vec::new();
    };
    let one = Duration::from_secs(1);
    if inputs.intervals.is_empty() {
        let span = Duration::from_secs_f64(report.duration_secs.max(0.0));
        match measure {
            Measure::Latency => {
                for (version, h) in &inputs.histograms {
                    let tag = tag_text(version);
                    let _ = writer.write_histogram(h, Duration::ZERO, span, Tag::new(&tag));
                }
            }
            Measure::TimeToFirstByte => {
                for (version, encoded) in &report.histograms {
                    let Some(Ok(h)) = encoded
                        .ttfb
                        .as_deref()
                        .map(rollout::stats::decode_histogram)
                    else {
                        continue;
                    };
                    let tag = tag_text(version);
                    let _ = writer.write_histogram(&h, Duration::ZERO, span, Tag::new(&tag));
                }
            }
        }
    } else {
        for i in inputs.intervals {
            let tag = tag_text(&i.version);
            let h = decode(match measure {
                Measure::Latency => &i.encoded,
                Measure::TimeToFirstByte => &i.ttfb_encoded,
            });
            let _ = writer.write_histogram(
                &h,
                Duration::from_secs(u64::from(i.second)),
                one,
                Tag::new(&tag),
            );
        }
    }
    drop(writer);
    buf
}

struct TextSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for TextSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::IntervalRecord;
    use crate::artifacts::tests_support::report_with;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn hist(values_us: &[u64]) -> Histogram<u64> {
        let mut h = crate::record::new_histogram(10_000_000);
        for v in values_us {
            h.record(*v).unwrap();
        }
        h
    }

    #[test]
    fn percentile_distribution_has_the_hgrm_layout() {
        let h = hist(&(1..=1000).map(|i| i * 1000).collect::<Vec<_>>()); // 1..1000 ms
        let text = percentile_distribution(&h, 1000.0);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        let first: Vec<_> = lines[2].split_whitespace().collect();
        assert_eq!(first[0], "1.000");
        assert_eq!(first[1], "0.000000000000");
        let last_data = lines[lines.len() - 4];
        let cols: Vec<_> = last_data.split_whitespace().collect();
        assert_eq!(cols.len(), 3, "the 100% line has no 1/(1-p): {last_data}");
        assert_eq!(cols[1], "1.000000000000");
        assert_eq!(cols[2], "1000");
        assert!(
            lines[lines.len() - 2].starts_with("#[Max     =     1000."),
            "{}",
            lines[lines.len() - 2]
        );
        assert!(lines[lines.len() - 2].ends_with("Total count    =         1000]"));
    }

    #[test]
    fn interval_log_has_one_tagged_interval_per_record_and_parses() {
        let report = report_with(rollout::Timeline::new(0.1), None, None, None, 2.0);
        let h = hist(&[1500, 2500]);
        let mut encoded = Vec::new();
        hdrhistogram::serialization::Serializer::serialize(
            &mut V2DeflateSerializer::new(),
            &h,
            &mut encoded,
        )
        .unwrap();
        let records = [
            IntervalRecord {
                second: 0,
                version: "1".into(),
                count: 2,
                p50_ms: 1.5,
                p99_ms: 2.5,
                encoded: encoded.clone(),
                ttfb_encoded: encoded.clone(),
            },
            IntervalRecord {
                second: 1,
                version: "$LATEST".into(),
                count: 2,
                p50_ms: 1.5,
                p99_ms: 2.5,
                ttfb_encoded: encoded.clone(),
                encoded,
            },
        ];
        let inputs = super::super::Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &records,
        };
        let log = interval_log(&inputs, Measure::Latency);
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(
            text.contains("\"StartTimestamp\",\"Interval_Length\""),
            "{text}"
        );
        let mut tags = Vec::new();
        for entry in IntervalLogIterator::new(&log) {
            if let Ok(LogEntry::Interval(i)) = entry {
                tags.push((
                    i.tag().map(|t| t.as_str().to_owned()),
                    i.start_timestamp().as_secs(),
                ));
                assert!((i.max() - 2.5).abs() < 0.01, "max in ms: {}", i.max());
            }
        }
        assert_eq!(
            tags,
            [(Some("1".to_owned()), 0), (Some("$LATEST".to_owned()), 1)]
        );
    }
}
