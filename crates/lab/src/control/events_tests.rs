use super::*;
use serde_json::{Value, json};

fn change() -> RoutingChange {
    RoutingChange {
        alias: "live".into(),
        before: Routing {
            primary: "1".into(),
            additional: Some(("2".into(), 0.1)),
        },
        after: Routing {
            primary: "1".into(),
            additional: Some(("2".into(), 0.2)),
        },
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_routing_change_is_one_json_line_with_a_microsecond_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/events.jsonl");
    let log = EventLog::open(&path).unwrap();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let record = log.record(Event::routing_changed("hello", &change()));
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let got = lines(&path);
    assert_eq!(got.len(), 1);
    let line = &got[0];
    assert_eq!(line["type"], "routingChanged");
    assert_eq!(line["function"], "hello");
    assert_eq!(line["alias"], "live");
    assert_eq!(
        line["before"],
        json!({"primary": "1", "additional": {"2": 0.1}})
    );
    assert_eq!(
        line["after"],
        json!({"primary": "1", "additional": {"2": 0.2}})
    );
    let us = line["timeUs"].as_u64().unwrap();
    assert!(
        (before.as_micros() as u64..=after.as_micros() as u64).contains(&us),
        "{us} within the call"
    );
    assert_eq!(us, record.time_us);
    // RFC 3339 with exactly six decimals, the same instant.
    let time = line["time"].as_str().unwrap();
    let fraction = time.split('.').nth(1).unwrap();
    assert_eq!(fraction.len(), "123456Z".len(), "{time}");
    let parsed = humantime::parse_rfc3339(time).unwrap();
    assert_eq!(
        parsed.duration_since(UNIX_EPOCH).unwrap().as_micros() as u64,
        us
    );
}

#[test]
fn records_append_in_order_and_reopening_keeps_earlier_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    {
        let log = EventLog::open(&path).unwrap();
        log.record(Event::routing_changed("hello", &change()));
    }
    let log = EventLog::open(&path).unwrap();
    log.record(Event::HookResult {
        deployment_id: "d-1".into(),
        lifecycle_event: "BeforeAllowTraffic".into(),
        execution_id: "e-1".into(),
        status: "Failed".into(),
        reason: Some("the hook crashed".into()),
    });
    let got = lines(&path);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["type"], "hookResult");
    assert_eq!(got[1]["reason"], "the hook crashed");
    assert!(got[0]["timeUs"].as_u64() <= got[1]["timeUs"].as_u64());
}

#[test]
fn an_unwritable_path_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = EventLog::open(&file.join("events.jsonl")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("a-file/events.jsonl"), "{message}");
    assert!(message.contains("--event-log"), "{message}");
}

#[test]
fn progress_lines_say_step_weight_next_shift_and_alarms() {
    let progress = Event::DeploymentProgress {
        deployment_id: "d-ABC".into(),
        function: "hello".into(),
        alias: "live".into(),
        step: 3,
        steps: 10,
        target_version: "2".into(),
        target_weight: 0.3,
        next_shift_in_ms: Some(6_000),
        alarms: BTreeMap::from([("errors".to_owned(), AlarmState::Ok)]),
    };
    assert_eq!(
        progress.progress_line(),
        "d-ABC hello:live step 3/10: version 2 at 30%, next shift in 6.0 s; alarms errors=OK"
    );
    assert_eq!(
        Event::routing_changed("hello", &change()).progress_line(),
        "hello:live routing 1 90% + 2 10% -> 1 80% + 2 20%"
    );
    let status = Event::DeploymentStatus {
        deployment_id: "d-ABC".into(),
        function: "hello".into(),
        alias: "live".into(),
        status: "Stopped".into(),
        reason: Some("alarm errors in ALARM".into()),
        routing: Some((&Routing::single("1")).into()),
    };
    assert_eq!(
        status.progress_line(),
        "d-ABC hello:live Stopped (alarm errors in ALARM); alias at 1 100%"
    );
}

#[test]
fn an_alarm_transition_keeps_its_datapoints() {
    let t = AlarmTransition {
        alarm: "errors".into(),
        from: AlarmState::Ok,
        to: AlarmState::Alarm,
        at_ms: 60_000,
        reason: "2 of the last 3".into(),
        datapoints: vec![
            Datapoint {
                timestamp_ms: 0,
                value: None,
                breaching: None,
                evaluated: false,
            },
            Datapoint {
                timestamp_ms: 30_000,
                value: Some(12.5),
                breaching: Some(true),
                evaluated: true,
            },
        ],
    };
    let event = Event::alarm_transition(&t);
    let v = serde_json::to_value(&event).unwrap();
    assert_eq!(v["type"], "alarmTransition");
    assert_eq!(v["from"], "OK");
    assert_eq!(v["to"], "ALARM");
    assert_eq!(v["evaluatedAtMs"], 60_000);
    assert_eq!(v["datapoints"][1]["value"], 12.5);
    assert_eq!(v["datapoints"][1]["timestampMs"], 30_000);
    assert_eq!(
        event.progress_line(),
        "alarm errors: OK -> ALARM (datapoints, oldest first: - 12.500)"
    );
}
