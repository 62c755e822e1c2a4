//! The lab plays CloudWatch on the extension's own EMF (issue 10, item 5): `lab-testfn` behind
//! the rollcall layer, an error-rate alarm in PutMetricAlarm's JSON given to `serve --alarm`,
//! a time scale of 60 (60 s periods last 1 s). Failing traffic drives the alarm to ALARM, clean
//! traffic brings it back to OK, and the event log holds both transitions with their datapoints.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lab::control::alarms::{AlarmSource, AlarmState};
use protocol::rollcall::{DEFAULT_NAMESPACE, dimension, metric};
use serde_json::{Value, json};
use support::*;

/// The template's error-rate alarm on version 4 of `emf-fn`: above 5 % in a 60 s period.
fn error_rate_alarm() -> Value {
    let stat = |id: &str, name: &str| {
        json!({"Id": id, "ReturnData": false, "MetricStat": {
            "Metric": {"Namespace": DEFAULT_NAMESPACE, "MetricName": name, "Dimensions": [
                {"Name": dimension::FUNCTION_NAME, "Value": "emf-fn"},
                {"Name": dimension::VERSION, "Value": "4"}]},
            "Period": 60, "Stat": "Sum"}})
    };
    json!({
        "AlarmName": "emf-fn-errors",
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [stat("errors", metric::ERRORS), stat("invocations", metric::INVOCATIONS),
            {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": true}]
    })
}

/// Waits (bounded) until the alarm has made the transition to `to`.
async fn wait_for(lab: &lab::lab::Lab, alarm: &str, to: AlarmState, after: usize) -> usize {
    let mut rx = lab.cloudwatch.subscribe();
    loop {
        let found = lab
            .cloudwatch
            .history()
            .iter()
            .enumerate()
            .skip(after)
            .position(|(_, t)| t.alarm == alarm && t.to == to);
        if let Some(i) = found {
            return after + i + 1;
        }
        tokio::time::timeout(Duration::from_secs(30), rx.changed())
            .await
            .unwrap_or_else(|_| {
                let docs = emf_documents(&lab.pools["4"].logs());
                panic!(
                    "{alarm} never went to {to:?}: {:?}; the extension's last EMF documents: {:?}",
                    lab.cloudwatch.history(),
                    &docs[docs.len().saturating_sub(3)..]
                )
            })
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extension_s_errors_drive_an_error_rate_alarm_to_alarm_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let layer = rollcall_layer(dir.path());
    // Shipped under its handler's name, the function runs through the layer's `/opt/bootstrap`
    // and so behind the extension's proxy, which counts its errors.
    let code = code_dir(
        dir.path(),
        "code",
        &function_binary("lab-testfn"),
        "lab-testfn",
    );
    let alarm_file = dir.path().join("alarm.json");
    std::fs::write(&alarm_file, error_rate_alarm().to_string()).unwrap();
    let events_file = dir.path().join("events.jsonl");
    let version = format!("4={}", code.display());
    let (layer_arg, alarm_arg, events_arg) = (
        layer.display().to_string(),
        alarm_file.display().to_string(),
        events_file.display().to_string(),
    );
    let lab = Arc::new(
        start_lab(&[
            "--function",
            "emf-fn",
            "--version",
            &version,
            "--handler",
            "lab-testfn",
            "--layer",
            &layer_arg,
            "--env",
            "ROLLCALL_FLUSH_INTERVAL=100ms",
            "--time-scale",
            "60",
            "--alarm",
            &alarm_arg,
            "--event-log",
            &events_arg,
        ])
        .await,
    );
    let failing = Arc::new(AtomicBool::new(true));
    let traffic = {
        let (lab, failing) = (Arc::clone(&lab), Arc::clone(&failing));
        tokio::spawn(async move {
            // Paced so that both cores stay usable; the count per period does not matter, the
            // share of errors does.
            let mut pace = tokio::time::interval(Duration::from_millis(20));
            loop {
                pace.tick().await;
                let payload: &[u8] = if failing.load(Ordering::Relaxed) {
                    br#"{"error":"boom"}"#
                } else {
                    br#"{"a":1}"#
                };
                invoke(&lab, "emf-fn", "4", payload).await;
            }
        })
    };
    // The transition to OK that follows the ALARM, not the first evaluation's OK.
    let alarmed = wait_for(&lab, "emf-fn-errors", AlarmState::Alarm, 0).await;
    failing.store(false, Ordering::Relaxed);
    wait_for(&lab, "emf-fn-errors", AlarmState::Ok, alarmed).await;
    traffic.abort();
    let _ = traffic.await;
    let lab = Arc::into_inner(lab).expect("the traffic task is gone");
    lab.shutdown().await;

    let transitions: Vec<Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["type"] == "alarmTransition")
        .collect();
    let to: Vec<&str> = transitions
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    let alarm_at = to
        .iter()
        .position(|s| *s == "ALARM")
        .expect("an ALARM transition");
    assert!(
        to[alarm_at..].contains(&"OK"),
        "back to OK after ALARM: {to:?}"
    );
    // The datapoint that breached: the error rate of a period of failing traffic only.
    let alarm = &transitions[alarm_at];
    let evaluated: Vec<f64> = alarm["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["evaluated"] == true)
        .map(|d| d["value"].as_f64().unwrap())
        .collect();
    assert_eq!(evaluated.len(), 1, "{alarm}");
    assert!(evaluated[0] > 5.0, "{alarm}");
    // Transitions happen at 1 s period boundaries (60 s / 60).
    for t in &transitions {
        assert_eq!(t["evaluatedAtMs"].as_i64().unwrap() % 1000, 0, "{t}");
    }
}
