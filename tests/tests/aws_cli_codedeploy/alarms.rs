//! CloudWatch alarms in the lab's CodeDeploy, driven by the real AWS CLI: an alarm set to
//! `ALARM` by hand, and one on the function's own EMF, stop the deployment and roll back.

use crate::harness::{Aws, appspec, finished, hello_lab, hello_lab_with, serves_only};
use lab::control::deployments::AlarmState;
use lab::invoke::Invoker as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_in_alarm_stops_the_deployment_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    let aws = Aws::new(&lab);
    aws.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        &["hello-errors"],
    )
    .await;
    let id = aws
        .create_deployment("hello-app", "hello-live", &appspec("1", "2", None, None))
        .await;
    let alias = aws.alias().await;
    assert_eq!(
        alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.1,
        "{alias}"
    );
    lab.alarms.set("hello-errors", AlarmState::Alarm);
    finished(&lab, &id).await;
    serves_only(&aws.alias().await, "1");
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Stopped", "{info}");
    assert_eq!(info["errorInformation"]["code"], "ALARM_ACTIVE", "{info}");
    assert!(
        info["errorInformation"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("hello-errors")),
        "{info}"
    );
    // An alarm still in ALARM stops the next deployment at once, before any traffic shifts.
    let next = aws
        .create_deployment("hello-app", "hello-live", &appspec("1", "2", None, None))
        .await;
    let running = finished(&lab, &next).await;
    assert!(
        running.weight_changes().is_empty(),
        "{:?}",
        running.weight_changes()
    );
    serves_only(&aws.alias().await, "1");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_on_the_functions_emf_stops_the_deployment_within_two_periods() {
    let dir = tempfile::tempdir().unwrap();
    // Periods of 60 s last one second; the canary's 30 minutes, 30 s.
    let lab = hello_lab_with(dir.path(), &["--time-scale", "60"]).await;
    let alarm = serde_json::json!({
        "AlarmName": "hello-errors", "Namespace": "RollcallTest", "MetricName": "Errors",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
        "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching"
    });
    lab.put_metric_alarm_json(&alarm.to_string()).unwrap();
    let aws = Aws::new(&lab);
    aws.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        &["hello-errors"],
    )
    .await;
    let id = aws
        .create_deployment("hello-app", "hello-live", &appspec("1", "2", None, None))
        .await;
    let alias = aws.alias().await;
    assert_eq!(
        alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.1,
        "{alias}"
    );

    // Version 2 prints one breaching EMF datapoint (as the rollcall extension would).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let emf = serde_json::json!({
        "_aws": {"Timestamp": now_ms as u64, "CloudWatchMetrics": [{
            "Namespace": "RollcallTest", "Dimensions": [[]],
            "Metrics": [{"Name": "Errors", "Unit": "Count"}]
        }]},
        "Errors": 1
    });
    let payload = serde_json::json!({ "print": [emf.to_string()] }).to_string();
    let breached = std::time::Instant::now();
    let reply = lab
        .registry
        .invoker("hello", Some("2"))
        .invoke(lab::invoke::InvokeRequest {
            payload: bytes::Bytes::from(payload),
            ..Default::default()
        })
        .await
        .expect("version 2 answers");
    assert_eq!(reply.executed_version, "2");
    finished(&lab, &id).await;
    let reaction = breached.elapsed();
    serves_only(&aws.alias().await, "1");
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Stopped", "{info}");
    assert_eq!(info["errorInformation"]["code"], "ALARM_ACTIVE", "{info}");
    // The datapoint's period ends within one period; it is evaluated a quarter period later
    // at most: 1.25 periods, plus the rollback.
    let periods = reaction.as_secs_f64() / 1.0;
    eprintln!(
        "alarm reaction: {periods:.3} periods (first breaching EMF line to alias at 100 % old)"
    );
    assert!(
        periods < 2.0,
        "the alarm took {periods:.3} periods to roll back"
    );
    lab.shutdown().await;
}
