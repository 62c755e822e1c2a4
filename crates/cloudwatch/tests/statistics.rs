//! One test per statistic, end to end: EMF documents in, the alarm's datapoint value out.

mod common;

use cloudwatch::{CloudWatch, Samples, Statistic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const P: i64 = 60_000;
const BASE: i64 = 28_333_334 * P;

/// The value the alarm computed for the one period holding `docs` (as `(offset, member)`),
/// read from the transition it causes.
fn alarm_value(stat: Value, docs: &[(i64, Value)]) -> f64 {
    let mut cw = CloudWatch::new(1.0).unwrap();
    for (offset, v) in docs {
        let report = cw.ingest(&common::plain_doc(BASE + offset, "M", v.clone()));
        assert!(report.skipped.is_empty(), "{report:?}");
    }
    let mut fields = json!({"Statistic": null, "Threshold": -1e300});
    for (k, v) in stat.as_object().unwrap() {
        fields[k] = v.clone();
    }
    cw.put_metric_alarm(&common::alarm(fields), BASE).unwrap();
    let t = cw.evaluate(BASE + P);
    assert_eq!(t.len(), 1, "{t:?}");
    t[0].datapoints.last().unwrap().value.expect("a datapoint")
}

fn docs() -> Vec<(i64, Value)> {
    // Three documents in the same minute: a number, an array, a histogram.
    vec![
        (0, json!(4)),
        (20_000, json!([1, 9, 2])),
        (59_999, json!({"Values": [3, 7], "Counts": [2, 1]})),
    ]
}
// Samples: 4, 1, 9, 2, 3, 3, 7 -> n 7, sum 29, min 1, max 9.

#[test]
fn sample_count_counts_histogram_counts() {
    assert_eq!(
        alarm_value(json!({"Statistic": "SampleCount"}), &docs()),
        7.0
    );
}

#[test]
fn sum() {
    assert_eq!(alarm_value(json!({"Statistic": "Sum"}), &docs()), 29.0);
}

#[test]
fn average() {
    assert_eq!(
        alarm_value(json!({"Statistic": "Average"}), &docs()),
        29.0 / 7.0
    );
}

#[test]
fn minimum() {
    assert_eq!(alarm_value(json!({"Statistic": "Minimum"}), &docs()), 1.0);
}

#[test]
fn maximum() {
    assert_eq!(alarm_value(json!({"Statistic": "Maximum"}), &docs()), 9.0);
}

#[test]
fn percentiles_by_nearest_rank() {
    // Sorted: 1 2 3 3 4 7 9. p50: rank ceil(3.5) = 4 -> 3; p90: rank ceil(6.3) = 7 -> 9;
    // p85.7: rank ceil(5.999) = 6 -> 7; p0 -> the minimum.
    for (p, want) in [
        ("p50", 3.0),
        ("p90", 9.0),
        ("p85.7", 7.0),
        ("p0", 1.0),
        ("p100", 9.0),
    ] {
        assert_eq!(
            alarm_value(json!({"ExtendedStatistic": p}), &docs()),
            want,
            "{p}"
        );
    }
}

#[test]
fn a_document_outside_the_period_does_not_count() {
    let mut d = docs();
    d.push((P, json!(1000)));
    d.push((-1, json!(1000)));
    assert_eq!(alarm_value(json!({"Statistic": "Maximum"}), &d), 9.0);
}

/// Percentiles and aggregates against a plain sort of the expanded samples, over seeded random
/// value arrays and histograms.
#[test]
fn statistics_agree_with_the_expanded_sample() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_c10d);
    for _ in 0..200 {
        let mut samples = Samples::new();
        let mut expanded = Vec::new();
        for _ in 0..rng.random_range(1..40) {
            let v = (rng.random_range(0.0..1000.0_f64) * 8.0).round() / 8.0;
            let c = rng.random_range(1..5u32);
            samples.push(v, f64::from(c));
            expanded.extend(std::iter::repeat_n(v, c as usize));
        }
        expanded.sort_by(f64::total_cmp);
        let n = expanded.len();
        for p in [0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0] {
            let rank = ((p / 100.0 * n as f64).ceil() as usize).max(1);
            assert_eq!(
                samples.statistic(Statistic::Percentile(p)),
                Some(expanded[rank - 1]),
                "p{p} of {expanded:?}"
            );
        }
        let sum: f64 = expanded.iter().sum();
        assert_eq!(samples.statistic(Statistic::SampleCount), Some(n as f64));
        assert!((samples.statistic(Statistic::Sum).unwrap() - sum).abs() < 1e-6);
        assert_eq!(samples.statistic(Statistic::Minimum), Some(expanded[0]));
        assert_eq!(samples.statistic(Statistic::Maximum), Some(expanded[n - 1]));
    }
    assert_eq!(
        Samples::new().statistic(Statistic::Sum),
        None,
        "no samples: missing"
    );
}

#[test]
fn statistic_names_are_parsed_or_refused_by_field() {
    for (s, want) in [
        ("SampleCount", Statistic::SampleCount),
        ("p99", Statistic::Percentile(99.0)),
        ("p99.9", Statistic::Percentile(99.9)),
        ("p0", Statistic::Percentile(0.0)),
        ("p100", Statistic::Percentile(100.0)),
    ] {
        assert_eq!(Statistic::parse("Stat", s), Ok(want), "{s}");
    }
    for bad in ["p101", "p", "p99.", "tm99", "Avg", "P99", "p-1", "p1e2"] {
        let err = Statistic::parse("Metrics[0].MetricStat.Stat", bad).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("Metrics[0].MetricStat.Stat:") && text.contains("p99"),
            "{bad}: {text}"
        );
    }
}

/// A histogram's own `Sum`/`Min`/`Max` win over the bucket values (awsemfexporter's values are
/// bucket representatives); SampleCount comes from `Counts`.
#[test]
fn a_histogram_s_own_aggregates_are_used() {
    let h = json!({"Values": [10, 20], "Counts": [1, 3], "Sum": 61.5, "Min": 9.5, "Max": 21, "Count": 99});
    let docs = [(0, h)];
    assert_eq!(alarm_value(json!({"Statistic": "Sum"}), &docs), 61.5);
    assert_eq!(alarm_value(json!({"Statistic": "Minimum"}), &docs), 9.5);
    assert_eq!(alarm_value(json!({"Statistic": "Maximum"}), &docs), 21.0);
    assert_eq!(alarm_value(json!({"Statistic": "SampleCount"}), &docs), 4.0);
    assert_eq!(
        alarm_value(json!({"ExtendedStatistic": "p50"}), &docs),
        20.0
    );
}
