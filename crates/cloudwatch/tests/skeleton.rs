//! PutMetricAlarm's JSON as the AWS CLI takes it: the CLI's own skeleton
//! (`aws cloudwatch put-metric-alarm --generate-cli-skeleton`, aws-cli 1.46.3, kept as
//! `fixtures/put-metric-alarm-skeleton.json`) and a complete alarm file that
//! `aws cloudwatch put-metric-alarm --cli-input-json file://...` accepts.

use cloudwatch::{AlarmError, Comparison, MissingData, PutMetricAlarm};
use protocol::rollcall::{DEFAULT_NAMESPACE, dimension, metric};
use serde_json::Value;

const SKELETON: &str = include_str!("fixtures/put-metric-alarm-skeleton.json");
const ERROR_RATE: &str = include_str!("fixtures/error-rate-alarm.json");

#[test]
fn every_field_of_the_cli_skeleton_is_modelled() {
    let parsed = PutMetricAlarm::from_json(SKELETON).expect("the skeleton parses");
    let back = serde_json::to_value(&parsed).unwrap();
    let original: Value = serde_json::from_str(SKELETON).unwrap();
    assert_eq!(back, original, "a field was lost or renamed");
}

#[test]
fn the_empty_skeleton_is_refused_naming_a_field() {
    let parsed = PutMetricAlarm::from_json(SKELETON).unwrap();
    let err = parsed.validate().unwrap_err();
    assert!(
        matches!(&err, AlarmError::Invalid { field, .. } if field == "AlarmName"),
        "{err}"
    );
    let mut named = parsed;
    named.alarm_name = "x".into();
    let err = named.validate().unwrap_err();
    assert!(
        matches!(&err, AlarmError::Invalid { field, .. } if field == "ThresholdMetricId"),
        "{err}"
    );
}

#[test]
fn the_error_rate_alarm_file_validates() {
    let spec = PutMetricAlarm::from_json(ERROR_RATE)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(spec.name, "hello-live-error-rate");
    assert_eq!(
        (
            spec.period_s,
            spec.evaluation_periods,
            spec.datapoints_to_alarm
        ),
        (60, 3, 2)
    );
    assert_eq!(spec.comparison, Comparison::GreaterThanThreshold);
    assert_eq!(spec.missing, MissingData::NotBreaching);
    assert_eq!(spec.result, "rate");
    assert_eq!(spec.order.last().map(String::as_str), Some("rate"));
    // The file spells the extension's names; they must be the ones it writes.
    for name in [
        DEFAULT_NAMESPACE,
        metric::ERRORS,
        metric::INVOCATIONS,
        dimension::FUNCTION_NAME,
        dimension::VERSION,
    ] {
        assert!(ERROR_RATE.contains(&format!("\"{name}\"")), "{name}");
    }
}
