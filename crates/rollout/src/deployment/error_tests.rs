//! Events and requests that do not apply: typed errors, and nothing changes.

use super::tests::{
    ALARM, NEW, OLD, after_traffic, deployment, execution_id, report, secs, shifting, spec,
};
use super::*;

fn alarm(state: AlarmState) -> Event {
    Event::AlarmState {
        alarm_name: ALARM.to_owned(),
        state,
    }
}

/// What a rejected event must leave unchanged.
fn snapshot(d: &Deployment) -> (Phase, AliasRouting, Vec<LifecycleEvent>, Option<Duration>) {
    (
        d.phase(),
        d.routing().clone(),
        d.lifecycle_events().to_vec(),
        d.next_change(),
    )
}

fn finished() -> Deployment {
    let mut d = after_traffic();
    report(
        &mut d,
        secs(302.0),
        LifecycleEventName::AfterAllowTraffic,
        HookStatus::Succeeded,
    );
    assert_eq!(d.status(), DeploymentStatus::Succeeded);
    d
}

#[test]
fn a_hook_status_for_an_unknown_execution_id_is_refused() {
    let mut d = shifting();
    let before = snapshot(&d);
    let err = d
        .handle(
            secs(5.0),
            Event::HookStatus {
                execution_id: "not-an-execution".to_owned(),
                status: HookStatus::Succeeded,
            },
        )
        .expect_err("unknown execution id");
    assert!(
        matches!(&err, DeploymentError::UnknownHookExecution { execution_id, .. } if execution_id == "not-an-execution"),
        "{err:?}"
    );
    assert_eq!(
        err.aws_error_code(),
        Some("InvalidLifecycleEventHookExecutionIdException")
    );
    assert!(
        err.to_string()
            .contains("LifecycleEventHookExecutionId the hook was invoked with"),
        "{err}"
    );
    assert_eq!(snapshot(&d), before);
}

#[test]
fn a_hook_that_reports_twice_is_refused_the_second_time() {
    let mut d = shifting();
    let id = execution_id(&d, LifecycleEventName::BeforeAllowTraffic);
    let err = d
        .handle(
            secs(5.0),
            Event::HookStatus {
                execution_id: id,
                status: HookStatus::Failed,
            },
        )
        .expect_err("already reported");
    assert_eq!(
        err,
        DeploymentError::LifecycleEventAlreadyCompleted {
            deployment_id: "d-TEST00001".to_owned(),
            lifecycle_event: LifecycleEventName::BeforeAllowTraffic,
            status: LifecycleEventStatus::Succeeded,
        }
    );
    assert_eq!(
        err.aws_error_code(),
        Some("LifecycleEventAlreadyCompletedException")
    );
    assert_eq!(
        d.phase(),
        Phase::AllowTraffic,
        "a late Failed does not undo"
    );
}

#[test]
fn a_hook_status_after_its_timeout_is_refused_and_changes_nothing() {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    d.start(secs(0.0)).expect("start");
    let id = execution_id(&d, LifecycleEventName::BeforeAllowTraffic);
    let before = snapshot(&d);
    let err = d
        .handle(
            HOOK_TIMEOUT + secs(1.0),
            Event::HookStatus {
                execution_id: id,
                status: HookStatus::Succeeded,
            },
        )
        .expect_err("too late");
    assert!(
        matches!(
            err,
            DeploymentError::LifecycleEventAlreadyCompleted {
                status: LifecycleEventStatus::Failed,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        snapshot(&d),
        before,
        "the timeout is the caller's advance to apply, with its actions"
    );
    let actions = d.advance(HOOK_TIMEOUT + secs(1.0));
    assert!(
        matches!(
            actions.last(),
            Some(Action::Finished {
                status: DeploymentStatus::Failed,
                ..
            })
        ),
        "{actions:?}"
    );
}

#[test]
fn a_stop_for_a_finished_deployment_is_refused() {
    let mut d = finished();
    let err = d
        .handle(
            secs(400.0),
            Event::Stop {
                auto_rollback: Some(true),
            },
        )
        .expect_err("already complete");
    assert_eq!(
        err,
        DeploymentError::AlreadyCompleted {
            deployment_id: "d-TEST00001".to_owned(),
            status: DeploymentStatus::Succeeded,
        }
    );
    assert_eq!(
        err.aws_error_code(),
        Some("DeploymentAlreadyCompletedException")
    );
    assert_eq!(
        d.routing(),
        &AliasRouting::only(NEW),
        "the alias stays on the target"
    );
    let mut stopped = shifting();
    stopped
        .handle(
            secs(5.0),
            Event::Stop {
                auto_rollback: None,
            },
        )
        .expect("stop");
    let again = stopped
        .handle(
            secs(6.0),
            Event::Stop {
                auto_rollback: None,
            },
        )
        .expect_err("stopped already");
    assert!(matches!(
        again,
        DeploymentError::AlreadyCompleted {
            status: DeploymentStatus::Stopped,
            ..
        }
    ));
}

#[test]
fn an_alarm_after_the_end_or_not_monitored_is_refused() {
    let mut d = finished();
    let err = d
        .handle(secs(400.0), alarm(AlarmState::Alarm))
        .expect_err("complete");
    assert!(
        matches!(err, DeploymentError::AlreadyCompleted { .. }),
        "{err:?}"
    );
    assert_eq!(
        d.routing(),
        &AliasRouting::only(NEW),
        "no rollback after success"
    );

    let mut d = shifting();
    let before = snapshot(&d);
    let err = d
        .handle(
            secs(5.0),
            Event::AlarmState {
                alarm_name: "someone-elses-alarm".to_owned(),
                state: AlarmState::Alarm,
            },
        )
        .expect_err("not monitored");
    assert!(
        matches!(&err, DeploymentError::AlarmNotMonitored { alarm_name, .. } if alarm_name == "someone-elses-alarm"),
        "{err:?}"
    );
    assert_eq!(
        err.aws_error_code(),
        None,
        "no API request reports alarm states"
    );
    assert_eq!(snapshot(&d), before);
}

#[test]
fn start_and_queue_only_once() {
    let mut d = deployment(spec("AllAtOnce"));
    d.start(secs(0.0)).expect("start");
    assert!(matches!(
        d.start(secs(1.0)),
        Err(DeploymentError::AlreadyStarted {
            status: DeploymentStatus::InProgress,
            ..
        })
    ));
    assert!(matches!(
        d.queue(secs(1.0)),
        Err(DeploymentError::AlreadyStarted { .. })
    ));
    d.handle(
        secs(2.0),
        Event::Stop {
            auto_rollback: None,
        },
    )
    .expect("stop");
    assert!(matches!(
        d.start(secs(3.0)),
        Err(DeploymentError::AlreadyCompleted { .. })
    ));
}

#[test]
fn a_spec_that_cannot_run_is_refused_with_the_fix() {
    let mut same = spec("AllAtOnce");
    same.target_version = OLD.to_owned();
    let err = Deployment::new(same).expect_err("same version");
    assert_eq!(
        err,
        DeploymentSpecError::SameVersion {
            version: OLD.to_owned()
        }
    );
    assert!(
        err.to_string().contains("deploy a different version"),
        "{err}"
    );
    for factor in [0.0, -2.0, f64::NAN, f64::INFINITY] {
        let mut bad = spec("Linear10PercentEvery1Minute");
        bad.time_scale = factor;
        let err = Deployment::new(bad).expect_err("bad time scale");
        assert!(err.to_string().contains("time scale"), "{factor}: {err}");
    }
}

#[test]
fn a_hook_status_other_than_succeeded_or_failed_is_refused() {
    assert_eq!("Succeeded".parse(), Ok(HookStatus::Succeeded));
    assert_eq!("Failed".parse(), Ok(HookStatus::Failed));
    for bad in [
        "Pending",
        "InProgress",
        "Skipped",
        "Unknown",
        "succeeded",
        "",
    ] {
        let err = bad.parse::<HookStatus>().expect_err(bad);
        assert!(
            err.to_string().contains("\"Succeeded\" or \"Failed\""),
            "{err}"
        );
    }
}

#[test]
fn an_earlier_now_counts_as_the_latest_one_seen() {
    let mut d = shifting();
    d.advance(secs(200.0));
    let actions = d.advance(secs(100.0));
    assert!(actions.is_empty());
    d.handle(
        secs(50.0),
        Event::Stop {
            auto_rollback: None,
        },
    )
    .expect("stop");
    assert_eq!(d.complete_time(), Some(secs(200.0)));
}

#[test]
fn the_wire_vocabulary_is_codedeploys() {
    assert_eq!(json(&DeploymentStatus::InProgress), "\"InProgress\"");
    assert_eq!(
        json(&ErrorCode::HookExecutionFailure),
        "\"HOOK_EXECUTION_FAILURE\""
    );
    assert_eq!(json(&ErrorCode::AlarmActive), "\"ALARM_ACTIVE\"");
    assert_eq!(json(&ErrorCode::ManualStop), "\"MANUAL_STOP\"");
    assert_eq!(json(&LifecycleEventStatus::Skipped), "\"Skipped\"");
    let payload = HookPayload {
        deployment_id: "d-1".to_owned(),
        lifecycle_event_hook_execution_id: "e-1".to_owned(),
    };
    assert_eq!(
        json(&payload),
        r#"{"DeploymentId":"d-1","LifecycleEventHookExecutionId":"e-1"}"#
    );
    let overview = DeploymentOverview {
        in_progress: 1,
        ..DeploymentOverview::default()
    };
    assert_eq!(
        json(&overview),
        r#"{"Pending":0,"InProgress":1,"Succeeded":0,"Failed":0,"Skipped":0,"Ready":0}"#
    );
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialize")
}

#[test]
fn custom_traffic_routing_configs_are_schedules() {
    // The shapes of CreateDeploymentConfig's `trafficRoutingConfig` (CodeDeploy API reference,
    // TrafficRoutingConfig / TimeBasedCanary / TimeBasedLinear, read 2026-12-04).
    let canary: TrafficRoutingConfig = serde_json::from_str(
        r#"{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":25,"canaryInterval":45}}"#,
    )
    .expect("canary");
    assert_eq!(
        canary.schedule().expect("schedule").steps(),
        crate::Schedule::canary(25.0, 2700.0)
            .expect("canary")
            .steps()
    );
    let linear: TrafficRoutingConfig = serde_json::from_str(
        r#"{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":20,"linearInterval":2}}"#,
    )
    .expect("linear");
    let schedule = linear.schedule().expect("schedule");
    assert_eq!(schedule.steps().len(), 5);
    assert_eq!(schedule.full_shift_at(), 480.0);
    let all: TrafficRoutingConfig = serde_json::from_str(r#"{"type":"AllAtOnce"}"#).expect("all");
    assert_eq!(all.schedule().expect("schedule").total_duration(), 0.0);
    let zero = TrafficRoutingConfig::TimeBasedLinear {
        time_based_linear: TimeBasedLinear {
            linear_percentage: 10,
            linear_interval: 0,
        },
    };
    assert!(zero.schedule().is_err(), "an interval of 0 minutes");
    let full = TrafficRoutingConfig::TimeBasedCanary {
        time_based_canary: TimeBasedCanary {
            canary_percentage: 100,
            canary_interval: 5,
        },
    };
    assert!(full.schedule().is_err(), "a canary of 100%");
}

#[test]
fn every_predefined_config_has_its_traffic_routing_config() {
    for name in crate::schedule::PREDEFINED {
        let schedule: crate::Schedule = name.parse().expect("predefined");
        let config = TrafficRoutingConfig::of(&schedule).expect(name);
        let back = config.schedule().expect("valid");
        assert_eq!(back.steps(), schedule.steps(), "{name}: {config:?}");
        let expected = match name {
            "AllAtOnce" => "AllAtOnce",
            n if n.starts_with("Canary") => "TimeBasedCanary",
            _ => "TimeBasedLinear",
        };
        assert!(
            json(&config).contains(expected),
            "{name}: {}",
            json(&config)
        );
    }
    let ten_minutes =
        TrafficRoutingConfig::of(&"Linear10PercentEvery10Minutes".parse().expect("predefined"));
    assert_eq!(
        ten_minutes,
        Some(TrafficRoutingConfig::TimeBasedLinear {
            time_based_linear: TimeBasedLinear {
                linear_percentage: 10,
                linear_interval: 10
            }
        })
    );
    let seconds: crate::Schedule = "linear:10%:30s".parse().expect("custom");
    assert_eq!(
        TrafficRoutingConfig::of(&seconds),
        None,
        "half a minute is no CodeDeploy interval"
    );
}
