use super::*;

fn event(name: &str, status: &str, start: Option<f64>, end: Option<f64>) -> EventView {
    EventView {
        name: name.into(),
        status: status.into(),
        start,
        end,
        diagnostics: None,
    }
}

fn view(status: &str, events: Vec<EventView>) -> DeploymentView {
    DeploymentView {
        id: "d-A1B2C3D4E".into(),
        application: "app".into(),
        group: "grp".into(),
        config: "CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into(),
        status: status.into(),
        compute_platform: Some("Lambda".into()),
        created: Some(1000.0),
        completed: None,
        error: None,
        rollback: None,
        events,
        function: Some(FunctionView {
            function: "hello".into(),
            alias: "live".into(),
            current_version: Some("1".into()),
            target_version: Some("2".into()),
            target_weight: Some(0.0),
        }),
    }
}

#[test]
fn each_change_is_reported_once_and_the_final_status_last() {
    let mut t = Tracker::new("d-A1B2C3D4E", 990.0);
    let pending = vec![
        event("BeforeAllowTraffic", "Pending", None, None),
        event("AllowTraffic", "Pending", None, None),
    ];
    let first = t.update(&view("InProgress", pending.clone()), 0.5);
    assert!(
        matches!(&first[0], Change::Found { target: Some(t), .. } if t == "hello:live version 1 -> 2")
    );
    assert_eq!(first[1], Change::Status("InProgress".into()));
    assert_eq!(first.len(), 2, "pending events are not news: {first:?}");
    assert!(t.update(&view("InProgress", pending), 1.5).is_empty());

    let mut failed = event("BeforeAllowTraffic", "Failed", Some(1001.0), Some(1003.5));
    failed.diagnostics = Some("the hook reported Failed".into());
    let mut last = view(
        "Stopped",
        vec![failed, event("AllowTraffic", "Skipped", None, None)],
    );
    last.rollback = Some("rolled back".into());
    last.error = Some("HOOK_FAILED: BeforeAllowTraffic failed".into());
    last.completed = Some(1004.0);
    let changes = t.update(&last, 14.0);
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "BeforeAllowTraffic Failed after 2.5s: the hook reported Failed",
            "AllowTraffic Skipped",
            "error HOOK_FAILED: BeforeAllowTraffic failed",
            "rollback: rolled back",
            "status Stopped",
        ]
    );
    assert!(t.is_final());
    let r = t.report();
    assert_eq!(r.status_history.len(), 2);
    assert_eq!(r.status_history[1].at, 14.0);
    assert_eq!(r.created_at, Some(10.0));
    assert_eq!(r.completed_at, Some(14.0));
    assert_eq!(r.lifecycle_events[0].start, Some(11.0));
    assert_eq!(r.alias.as_deref(), Some("hello:live"));
    assert_eq!(r.target_version.as_deref(), Some("2"));
    assert!(t.update(&last, 15.0).is_empty());
}

#[test]
fn custom_configurations_map_to_the_probers_schedules() {
    let linear = cd::TrafficRoutingConfig::builder()
        .r#type(cd::TrafficRoutingType::TimeBasedLinear)
        .time_based_linear(
            cd::TimeBasedLinear::builder()
                .linear_percentage(25)
                .linear_interval(2)
                .build(),
        )
        .build();
    let s = routing_schedule(&linear).unwrap();
    assert_eq!(s, Schedule::linear(25.0, 120.0).unwrap());
    let canary = cd::TrafficRoutingConfig::builder()
        .r#type(cd::TrafficRoutingType::TimeBasedCanary)
        .time_based_canary(
            cd::TimeBasedCanary::builder()
                .canary_percentage(10)
                .canary_interval(5)
                .build(),
        )
        .build();
    assert_eq!(
        routing_schedule(&canary).unwrap(),
        Schedule::canary(10.0, 300.0).unwrap()
    );
    let all = cd::TrafficRoutingConfig::builder()
        .r#type(cd::TrafficRoutingType::AllAtOnce)
        .build();
    assert_eq!(routing_schedule(&all).unwrap(), Schedule::all_at_once());
    let broken = cd::TrafficRoutingConfig::builder()
        .r#type(cd::TrafficRoutingType::TimeBasedCanary)
        .build();
    assert!(
        routing_schedule(&broken)
            .unwrap_err()
            .contains("timeBasedCanary")
    );
}

#[test]
fn backoff_doubles_up_to_a_cap() {
    let poll = Duration::from_secs(1);
    assert_eq!(backoff(poll, 0), poll);
    assert_eq!(backoff(poll, 3), Duration::from_secs(8));
    assert_eq!(backoff(poll, 40), MAX_BACKOFF);
}

#[test]
fn final_statuses() {
    for s in ["Succeeded", "Failed", "Stopped"] {
        assert!(is_final(s));
    }
    for s in IN_PROGRESS {
        assert!(!is_final(s));
    }
}
