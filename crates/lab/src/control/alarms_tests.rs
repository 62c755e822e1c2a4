use super::*;
use protocol::rollcall::{DEFAULT_NAMESPACE, DIMENSION_SET, dimension, metric};
use serde_json::{Value, json};

/// One EMF document as the extension prints it for one version (its constants).
fn emf_line(ts_ms: i64, version: &str, invocations: u64, errors: u64) -> String {
    json!({
        "_aws": {"Timestamp": ts_ms, "CloudWatchMetrics": [{
            "Namespace": DEFAULT_NAMESPACE,
            "Dimensions": [DIMENSION_SET],
            "Metrics": [{"Name": metric::INVOCATIONS, "Unit": "Count"},
                        {"Name": metric::ERRORS, "Unit": "Count"}]}]},
        dimension::FUNCTION_NAME: "hello",
        dimension::VERSION: version,
        metric::INVOCATIONS: invocations,
        metric::ERRORS: errors,
    })
    .to_string()
}

/// The template's error-rate alarm on `version`: above 5 % in 1 of 1 period of 60 s.
fn error_rate_alarm(version: &str) -> String {
    let stat = |id: &str, name: &str| {
        json!({"Id": id, "ReturnData": false, "MetricStat": {
            "Metric": {"Namespace": DEFAULT_NAMESPACE, "MetricName": name, "Dimensions": [
                {"Name": dimension::FUNCTION_NAME, "Value": "hello"},
                {"Name": dimension::VERSION, "Value": version}]},
            "Period": 60, "Stat": "Sum"}})
    };
    json!({
        "AlarmName": "hello-errors",
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [stat("errors", metric::ERRORS), stat("invocations", metric::INVOCATIONS),
            {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": true}]
    })
    .to_string()
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn line(source: LogSource, text: String) -> LogLine {
    LogLine {
        stream: "2026/01/01/[2]abc".into(),
        source,
        text,
    }
}

#[tokio::test]
async fn emf_lines_drive_the_alarm_and_every_transition_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let events = Arc::new(EventLog::open(&path).unwrap());
    let cw = LabCloudWatch::new(60.0, Arc::clone(&events)).unwrap();
    let mut rx = cw.subscribe();
    let name = cw.put_metric_alarm_json(&error_rate_alarm("2")).unwrap();
    assert_eq!(cw.state(&name), Some(AlarmState::InsufficientData));
    assert_eq!(cw.state("nope"), None);
    // 1 s periods (60 s at scale 60), aligned to the epoch; start two periods from now, the
    // empty periods before evaluated first (not breaching: OK).
    let p = 1_000;
    let base = (now_ms() / p + 2) * p;
    let earlier = cw.evaluate(base).len();
    assert_eq!(
        earlier, 1,
        "INSUFFICIENT_DATA -> OK on the first empty period"
    );
    rx.borrow_and_update();
    // A bad period: 20 % errors, through the tap, with Lambda's tab-separated prefix once.
    cw.line(&line(LogSource::Extension, emf_line(base + 10, "2", 10, 2)));
    cw.line(&line(
        LogSource::Function,
        format!(
            "2026-01-01T00:00:00.000Z\tid\t{}",
            emf_line(base + 500, "2", 10, 2)
        ),
    ));
    // Platform lines are Lambda's own, never EMF from the function: ignored.
    cw.line(&line(
        LogSource::Platform,
        emf_line(base + 600, "2", 0, 100),
    ));
    // Version 1's errors do not count for version 2's alarm.
    cw.ingest_line(&emf_line(base + 700, "1", 10, 10));
    let t = cw.evaluate(base + p);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!((t[0].from, t[0].to), (AlarmState::Ok, AlarmState::Alarm));
    assert_eq!(t[0].datapoints.last().unwrap().value, Some(20.0));
    assert_eq!(cw.state(&name), Some(AlarmState::Alarm));
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), 2);
    // A clean period: back to OK.
    cw.ingest_line(&emf_line(base + p + 10, "2", 50, 0));
    let t = cw.evaluate(base + 2 * p);
    assert_eq!((t[0].from, t[0].to), (AlarmState::Alarm, AlarmState::Ok));
    assert_eq!(*rx.borrow_and_update(), 3);
    // Nothing more: no transition, no bump.
    assert!(cw.evaluate(base + 3 * p).is_empty());
    assert!(!rx.has_changed().unwrap());
    assert_eq!(cw.history().len(), 3);
    let logged = log_lines(&path)[earlier..].to_vec();
    let kinds: Vec<(&str, &str, &str)> = logged
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap(),
                l["from"].as_str().unwrap(),
                l["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("alarmTransition", "OK", "ALARM"),
            ("alarmTransition", "ALARM", "OK")
        ]
    );
    assert_eq!(logged[0]["evaluatedAtMs"], base + p);
    assert_eq!(logged[0]["datapoints"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_evaluator_wakes_at_period_boundaries_without_being_asked() {
    let events = Arc::new(EventLog::console_only());
    // Period 10 s at scale 100: 100 ms periods.
    let cw = LabCloudWatch::new(100.0, events).unwrap();
    let task = cw.spawn_evaluator();
    let mut rx = cw.subscribe();
    let alarm = json!({
        "AlarmName": "busy", "Namespace": DEFAULT_NAMESPACE, "MetricName": metric::ERRORS,
        "Dimensions": [{"Name": dimension::FUNCTION_NAME, "Value": "hello"},
                       {"Name": dimension::VERSION, "Value": "2"}],
        "Statistic": "Sum", "Period": 10, "EvaluationPeriods": 1,
        "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching"
    });
    cw.put_metric_alarm_json(&alarm.to_string()).unwrap();
    cw.ingest_line(&emf_line(now_ms(), "2", 5, 3));
    let wait = Duration::from_secs(10);
    // The evaluation whose range holds the sample goes to ALARM; with no more errors (missing
    // data is not breaching) the alarm goes back to OK. Wait for both, transition by transition.
    let to_states =
        |cw: &LabCloudWatch| -> Vec<AlarmState> { cw.history().iter().map(|t| t.to).collect() };
    while !to_states(&cw).ends_with(&[AlarmState::Alarm, AlarmState::Ok]) {
        tokio::time::timeout(wait, rx.changed())
            .await
            .expect("a transition within 10 s")
            .unwrap();
    }
    assert_eq!(cw.state("busy"), Some(AlarmState::Ok));
    let history = cw.history();
    assert!(
        history.iter().all(|t| t.at_ms % 100 == 0),
        "evaluated at period boundaries: {history:?}"
    );
    let alarm_at = history[history.len() - 2].at_ms;
    // The breaching period stays the most recent real datapoint of the evaluation range
    // (EvaluationPeriods + 2 periods) until it leaves it.
    let range = i64::from(1 + cloudwatch::eval::EXTRA_RANGE_PERIODS);
    assert_eq!(
        history[history.len() - 1].at_ms,
        alarm_at + range * 100,
        "OK once the breaching period left the range"
    );
    drop(cw);
    tokio::time::timeout(wait, task)
        .await
        .expect("the evaluator ends with its CloudWatch")
        .unwrap();
}

#[test]
fn an_alarm_file_that_is_refused_names_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cw = LabCloudWatch::new(1.0, Arc::new(EventLog::console_only())).unwrap();
    let missing = dir.path().join("missing.json");
    let err = cw.load_alarm_file(&missing).unwrap_err().to_string();
    assert!(
        err.contains("missing.json") && err.contains("cannot read"),
        "{err}"
    );
    let bad = dir.path().join("bad.json");
    let mut alarm: Value = serde_json::from_str(&error_rate_alarm("2")).unwrap();
    alarm["TreatMissingData"] = "sometimes".into();
    std::fs::write(&bad, alarm.to_string()).unwrap();
    let err = cw.load_alarm_file(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.json") && err.contains("TreatMissingData"),
        "{err}"
    );
    std::fs::write(&bad, "{\"AlarmName\": 3}").unwrap();
    let err = cw.load_alarm_file(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.json") && err.contains("put-metric-alarm"),
        "{err}"
    );
    let good = dir.path().join("good.json");
    std::fs::write(&good, error_rate_alarm("2")).unwrap();
    assert_eq!(cw.load_alarm_file(&good).unwrap(), "hello-errors");
    assert_eq!(
        cw.states(),
        BTreeMap::from([("hello-errors".to_owned(), AlarmState::InsufficientData)])
    );
    assert!(cw.delete_alarm("hello-errors"));
    assert!(cw.states().is_empty());
}

#[test]
fn lines_that_are_not_emf_are_ignored_and_broken_emf_is_counted() {
    let cw = LabCloudWatch::new(1.0, Arc::new(EventLog::console_only())).unwrap();
    cw.ingest_line("hello world");
    cw.ingest_line("{\"not\": \"emf\"}");
    assert_eq!(cw.lock().bad_lines, 0);
    cw.ingest_line("{\"_aws\": {\"Timestamp\": \"soon\"}}");
    cw.ingest_line("{\"_aws\": 1}");
    assert_eq!(cw.lock().bad_lines, 2);
    assert_eq!(cw.lock().cloudwatch.store().metric_ids().count(), 0);
}

#[test]
fn samples_older_than_the_retention_are_forgotten_even_without_alarms() {
    let cw = LabCloudWatch::new(3600.0, Arc::new(EventLog::console_only())).unwrap();
    // At scale 3600 the minimum retention (an hour) is one second.
    let old = now_ms() - 5_000;
    cw.ingest_line(&emf_line(old, "1", 1, 0));
    for _ in 1..PRUNE_EVERY_DOCS {
        cw.ingest_line(&emf_line(now_ms(), "2", 1, 0));
    }
    let versions: Vec<String> = cw
        .lock()
        .cloudwatch
        .store()
        .metric_ids()
        .map(|id| id.dimensions[dimension::VERSION].clone())
        .collect();
    assert!(!versions.contains(&"1".to_owned()), "{versions:?}");
    assert!(versions.contains(&"2".to_owned()), "{versions:?}");
}
