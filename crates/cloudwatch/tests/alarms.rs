//! Comparisons, period alignment, the time scale, catching up, units, dimensions and the
//! refusals of bad alarm definitions.

mod common;

use cloudwatch::{AlarmError, AlarmState, CloudWatch, PutMetricAlarm};
use serde_json::{Value, json};

const P: i64 = 60_000;
const BASE: i64 = 28_333_334 * P;

/// The state after one evaluation of a period holding `value`, for `fields`.
fn state_for(value: f64, fields: Value) -> AlarmState {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.ingest(&common::plain_doc(BASE + 5, "M", json!(value)));
    cw.put_metric_alarm(&common::alarm(fields), BASE).unwrap();
    cw.evaluate(BASE + P);
    cw.state("a").unwrap()
}

fn comparison(op: &str, below: AlarmState, equal: AlarmState, above: AlarmState) {
    for (v, want) in [(4.0, below), (5.0, equal), (6.0, above)] {
        assert_eq!(
            state_for(v, json!({"ComparisonOperator": op})),
            want,
            "{op} with {v} against 5"
        );
    }
}

use AlarmState::{Alarm, Ok as Good};

#[test]
fn greater_than_threshold() {
    comparison("GreaterThanThreshold", Good, Good, Alarm);
}

#[test]
fn greater_than_or_equal_to_threshold() {
    comparison("GreaterThanOrEqualToThreshold", Good, Alarm, Alarm);
}

#[test]
fn less_than_threshold() {
    comparison("LessThanThreshold", Alarm, Good, Good);
}

#[test]
fn less_than_or_equal_to_threshold() {
    comparison("LessThanOrEqualToThreshold", Alarm, Alarm, Good);
}

fn refusal(fields: Value) -> String {
    let request = common::alarm(fields);
    let err = request.validate().unwrap_err();
    let mut cw = CloudWatch::new(1.0).unwrap();
    assert_eq!(cw.put_metric_alarm(&request, BASE), Err(err.clone()));
    assert_eq!(cw.states().count(), 0, "a refused alarm is not created");
    err.to_string()
}

fn assert_refused(fields: Value, field: &str, hint: &str) {
    let text = refusal(fields.clone());
    assert!(
        text.starts_with(&format!("{field}:")) && text.contains(hint),
        "{fields}: {text}"
    );
}

#[test]
fn anomaly_detection_comparisons_are_refused_with_the_alternatives() {
    for op in [
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    ] {
        assert_refused(
            json!({"ComparisonOperator": op}),
            "ComparisonOperator",
            "GreaterThanThreshold",
        );
    }
    assert_refused(
        json!({"ComparisonOperator": "Above"}),
        "ComparisonOperator",
        "not a comparison",
    );
}

#[test]
fn bad_single_metric_alarms_are_refused_by_field() {
    let cases = [
        (
            json!({"Period": 45}),
            "Period",
            "10, 20, 30 or a multiple of 60",
        ),
        (json!({"Period": 0}), "Period", "multiple of 60"),
        (json!({"Period": null}), "Period", "required"),
        (json!({"Statistic": "Median"}), "Statistic", "p99"),
        (
            json!({"Statistic": "p99"}),
            "Statistic",
            "ExtendedStatistic",
        ),
        (
            json!({"Statistic": null, "ExtendedStatistic": "Sum"}),
            "ExtendedStatistic",
            "Statistic",
        ),
        (
            json!({"ExtendedStatistic": "p99"}),
            "Statistic",
            "exactly one",
        ),
        (json!({"Statistic": null}), "Statistic", "exactly one"),
        (
            json!({"EvaluationPeriods": 0}),
            "EvaluationPeriods",
            "at least 1",
        ),
        (
            json!({"EvaluationPeriods": 2, "DatapointsToAlarm": 3}),
            "DatapointsToAlarm",
            "between 1 and",
        ),
        (
            json!({"DatapointsToAlarm": 0}),
            "DatapointsToAlarm",
            "between 1 and",
        ),
        (
            json!({"EvaluationPeriods": 1441}),
            "EvaluationPeriods",
            "one day",
        ),
        (
            json!({"TreatMissingData": "zero"}),
            "TreatMissingData",
            "notBreaching",
        ),
        (
            json!({"EvaluateLowSampleCountPercentile": "skip"}),
            "EvaluateLowSampleCountPercentile",
            "ignore",
        ),
        (json!({"Threshold": null}), "Threshold", "required"),
        (json!({"AlarmName": ""}), "AlarmName", "1 to 255"),
        (json!({"Namespace": null}), "Namespace", "required"),
        (json!({"MetricName": ""}), "MetricName", "required"),
        (
            json!({"ThresholdMetricId": "ad1"}),
            "ThresholdMetricId",
            "static comparison",
        ),
        (
            json!({"EvaluationInterval": 60}),
            "EvaluationInterval",
            "not supported",
        ),
        (
            json!({"Dimensions": [{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}]}),
            "Dimensions",
            "appears twice",
        ),
        (json!({"Metrics": []}), "Metrics", "not both"),
    ];
    for (fields, field, hint) in cases {
        assert_refused(fields, field, hint);
    }
}

fn stat(id: &str, name: &str, period: u32, return_data: bool) -> Value {
    json!({"Id": id, "ReturnData": return_data, "MetricStat": {
        "Metric": {"Namespace": "Test", "MetricName": name}, "Period": period, "Stat": "Sum"}})
}

fn math_alarm(metrics: Value) -> Value {
    json!({"Namespace": null, "MetricName": null, "Statistic": null, "Period": null, "Metrics": metrics})
}

#[test]
fn bad_metric_queries_are_refused_by_field() {
    let e = |expr: &str| json!({"Id": "e1", "Expression": expr});
    let cases = [
        (
            json!([stat("a", "A", 60, false), e("100 * a / b")]),
            "Metrics[1].Expression",
            "\"b\", which is no query's Id",
        ),
        (
            json!([stat("a", "A", 60, true), e("a * 2")]),
            "Metrics",
            "2 queries have ReturnData true (a, e1",
        ),
        (
            json!([
                stat("a", "A", 60, false),
                json!({"Id": "e1", "Expression": "a", "ReturnData": false})
            ]),
            "Metrics",
            "no query has ReturnData",
        ),
        (
            json!([
                stat("a", "A", 60, false),
                stat("b", "B", 120, false),
                e("a + b")
            ]),
            "Metrics[1].MetricStat.Period",
            "same period",
        ),
        (
            json!([stat("a", "A", 45, true)]),
            "Metrics[0].MetricStat.Period",
            "multiple of 60",
        ),
        (
            json!([stat("A1", "A", 60, true)]),
            "Metrics[0].Id",
            "lowercase letter",
        ),
        (
            json!([stat("a", "A", 60, false), stat("a", "B", 60, true)]),
            "Metrics[1].Id",
            "used twice",
        ),
        (
            json!([stat("a", "A", 60, false), e("a +")]),
            "Metrics[1].Expression",
            "ends early",
        ),
        (
            json!([stat("a", "A", 60, false), e("2 * 3")]),
            "Metrics[1].Expression",
            "names no query id",
        ),
        (json!([e("1 + 1")]), "Metrics", "at least one metric"),
        (
            json!([
                stat("a", "A", 60, false),
                json!({"Id": "x", "Expression": "y + a", "ReturnData": false}),
                json!({"Id": "y", "Expression": "x * 2"})
            ]),
            "Metrics",
            "cycle",
        ),
        (
            json!([{"Id": "a"}]),
            "Metrics[0]",
            "exactly one of MetricStat or Expression",
        ),
        (
            json!([{"Id": "a", "MetricStat": {"Metric": {"Namespace": "Test"}, "Period": 60, "Stat": "Sum"}}]),
            "Metrics[0].MetricStat.Metric",
            "MetricName",
        ),
        (
            json!([{"Id": "a", "MetricStat": {"Metric": {"Namespace": "T", "MetricName": "M"}, "Period": 60, "Stat": "tm90"}}]),
            "Metrics[0].MetricStat.Stat",
            "p99",
        ),
    ];
    for (metrics, field, hint) in cases {
        assert_refused(math_alarm(metrics), field, hint);
    }
}

#[test]
fn a_field_that_is_not_put_metric_alarm_s_is_refused() {
    let err = PutMetricAlarm::from_json(r#"{"AlarmName":"a","EvaluationPeriods":1,"ComparisonOperator":"GreaterThanThreshold","Treshold":1}"#)
        .unwrap_err();
    assert!(matches!(err, AlarmError::Json(_)), "{err}");
    assert!(
        err.to_string().contains("Treshold") && err.to_string().contains("--generate-cli-skeleton"),
        "{err}"
    );
}

/// At time scale 60 a 60 s period lasts 1 s of lab time; periods align to multiples of it.
#[test]
fn the_time_scale_shrinks_periods_and_keeps_them_aligned() {
    let mut cw = CloudWatch::new(60.0).unwrap();
    cw.put_metric_alarm(&common::alarm(json!({"EvaluationPeriods": 2})), BASE + 400)
        .unwrap();
    assert_eq!(cw.period_ms("a"), Some(1000));
    // Breaching values in the periods [BASE+1000, +2000) and [BASE+2000, +3000).
    cw.ingest(&common::plain_doc(BASE + 1000, "M", json!(9)));
    cw.ingest(&common::plain_doc(BASE + 2999, "M", json!(9)));
    assert!(
        cw.evaluate(BASE + 2999).is_empty(),
        "only one breaching complete period yet"
    );
    let t = cw.evaluate(BASE + 3000);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!((t[0].to, t[0].at_ms), (AlarmState::Alarm, BASE + 3000));
    let starts: Vec<i64> = t[0]
        .datapoints
        .iter()
        .map(|d| d.timestamp_ms - BASE)
        .collect();
    assert_eq!(starts, [-1000, 0, 1000, 2000]);
    let evaluated: Vec<bool> = t[0].datapoints.iter().map(|d| d.evaluated).collect();
    assert_eq!(evaluated, [false, false, true, true]);
    assert!(CloudWatch::new(0.5).is_err());
    let mut fine = CloudWatch::new(100_000.0).unwrap();
    let err = fine.put_metric_alarm(
        &common::alarm(json!({"Period": 10, "EvaluationPeriods": 1})),
        0,
    );
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("shorter than a millisecond")
    );
}

/// One call after a long gap gives the same transitions as a call at every boundary.
#[test]
fn a_late_evaluation_catches_up_every_boundary() {
    let run = |step: i64| {
        let mut cw = CloudWatch::new(1.0).unwrap();
        cw.put_metric_alarm(
            &common::alarm(json!({"EvaluationPeriods": 2, "DatapointsToAlarm": 1})),
            BASE,
        )
        .unwrap();
        for (i, v) in [1, 9, 1, 1, 1, 9, 9, 1, 1, 1].iter().enumerate() {
            cw.ingest(&common::plain_doc(BASE + i as i64 * P + 1, "M", json!(v)));
        }
        let mut all = Vec::new();
        let mut now = BASE;
        while now < BASE + 12 * P {
            now += step;
            all.extend(cw.evaluate(now));
        }
        all.iter()
            .map(|t| (t.to, (t.at_ms - BASE) / P))
            .collect::<Vec<_>>()
    };
    let every = run(P / 3);
    assert_eq!(
        every,
        [(Good, 1), (Alarm, 2), (Good, 4), (Alarm, 6), (Good, 9)],
        "1 of 2: ALARM while a breaching point is among the last two"
    );
    assert_eq!(run(12 * P), every);
}

#[test]
fn the_unit_filters_samples() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.ingest(&common::plain_doc(BASE + 1, "M", json!(9)));
    cw.put_metric_alarm(&common::alarm(json!({"Unit": "Milliseconds"})), BASE)
        .unwrap();
    cw.put_metric_alarm(
        &common::alarm(json!({"AlarmName": "b", "Unit": "Count"})),
        BASE,
    )
    .unwrap();
    cw.evaluate(BASE + P);
    assert_eq!(
        cw.state("a"),
        Some(AlarmState::InsufficientData),
        "no sample in Milliseconds"
    );
    assert_eq!(cw.state("b"), Some(AlarmState::Alarm));
}

#[test]
fn low_sample_percentiles_are_ignored_when_asked() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    // 10 samples: p90 needs 10 / (1 - 0.9) = 100 to be significant.
    cw.ingest(&common::plain_doc(
        BASE + 1,
        "M",
        json!([9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
    ));
    let p90 = json!({"Statistic": null, "ExtendedStatistic": "p90"});
    let mut ignore = p90.clone();
    ignore["EvaluateLowSampleCountPercentile"] = json!("ignore");
    ignore["AlarmName"] = json!("b");
    cw.put_metric_alarm(&common::alarm(p90), BASE).unwrap();
    cw.put_metric_alarm(&common::alarm(ignore), BASE).unwrap();
    cw.evaluate(BASE + P);
    assert_eq!(cw.state("a"), Some(AlarmState::Alarm));
    assert_eq!(cw.state("b"), Some(AlarmState::InsufficientData));
}

#[test]
fn a_replaced_alarm_keeps_its_state_and_a_deleted_one_is_gone() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.ingest(&common::plain_doc(BASE + 1, "M", json!(9)));
    cw.put_metric_alarm(&common::alarm(json!({})), BASE)
        .unwrap();
    cw.evaluate(BASE + P);
    assert_eq!(cw.state("a"), Some(AlarmState::Alarm));
    cw.put_metric_alarm(&common::alarm(json!({"Threshold": 100.0})), BASE + P)
        .unwrap();
    assert_eq!(cw.state("a"), Some(AlarmState::Alarm));
    assert!(cw.delete_alarm("a"));
    assert!(!cw.delete_alarm("a"));
    assert_eq!(cw.state("a"), None);
}
