//! Alarms and stops in every phase, and the rollbacks that follow them.

use super::tests::{
    ALARM, NEW, OLD, after_traffic, deployment, report, secs, shifting, spec, split,
};
use super::*;
use LifecycleEventStatus as S;
use Phase::*;

#[test]
fn an_alarm_stops_every_lifecycle_event_and_rolls_back() {
    // (how to get there, a time within that phase)
    let phases: [(fn() -> Deployment, f64); 3] = [
        (
            || {
                let mut d = deployment(spec("Canary10Percent5Minutes"));
                d.start(secs(0.0)).expect("start");
                d
            },
            10.0,
        ),
        (shifting, 10.0),
        (after_traffic, 400.0),
    ];
    for (at, (make, now)) in phases.into_iter().enumerate() {
        let mut d = make();
        let before = d.routing().clone();
        let actions = d
            .handle(
                secs(now),
                Event::AlarmState {
                    alarm_name: ALARM.to_owned(),
                    state: AlarmState::Alarm,
                },
            )
            .expect("alarm");
        assert_eq!(
            (d.phase(), d.status()),
            (Stopped, DeploymentStatus::Stopped),
            "phase {at}"
        );
        let error = d.error_information().expect("error");
        assert_eq!(error.code, ErrorCode::AlarmActive);
        assert!(error.message.contains(ALARM), "{}", error.message);
        assert_eq!(d.routing(), &AliasRouting::only(OLD), "phase {at}");
        let rolled = actions.iter().any(|a| {
            matches!(
                a,
                Action::SetRouting {
                    cause: RoutingCause::Rollback,
                    ..
                }
            )
        });
        assert_eq!(
            rolled,
            before != AliasRouting::only(OLD),
            "phase {at}: {actions:?}"
        );
        assert_eq!(
            d.lifecycle_events()[at].status,
            S::Failed,
            "the running event"
        );
        assert!(
            d.lifecycle_events()[at + 1..]
                .iter()
                .all(|e| e.status == S::Skipped)
        );
    }
}

#[test]
fn an_alarm_already_in_alarm_stops_the_deployment_at_its_start() {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    d.handle(
        secs(0.0),
        Event::AlarmState {
            alarm_name: ALARM.to_owned(),
            state: AlarmState::Alarm,
        },
    )
    .expect("alarm recorded while Created");
    assert_eq!(d.phase(), Created);
    let actions = d.start(secs(1.0)).expect("start");
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::InvokeHook { .. })),
        "no hook runs: {actions:?}"
    );
    assert_eq!(d.status(), DeploymentStatus::Stopped);
    assert_eq!(
        d.error_information().map(|e| e.code),
        Some(ErrorCode::AlarmActive)
    );
}

#[test]
fn an_alarm_back_to_ok_or_without_data_does_not_stop() {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    for state in [AlarmState::Alarm, AlarmState::Ok] {
        d.handle(
            secs(0.0),
            Event::AlarmState {
                alarm_name: ALARM.to_owned(),
                state,
            },
        )
        .expect("alarm");
    }
    d.start(secs(1.0)).expect("start");
    d.handle(
        secs(2.0),
        Event::AlarmState {
            alarm_name: ALARM.to_owned(),
            state: AlarmState::InsufficientData,
        },
    )
    .expect("alarm");
    assert_eq!(d.phase(), BeforeAllowTraffic);
}

/// Every phase a stop can come in, with the routing the alias has there.
fn every_stoppable_phase() -> Vec<(Phase, Deployment)> {
    let created = deployment(spec("Canary10Percent5Minutes"));
    let mut queued = created.clone();
    queued.queue(secs(0.0)).expect("queue");
    let mut before = created.clone();
    before.start(secs(0.0)).expect("start");
    vec![
        (Created, created),
        (Queued, queued),
        (BeforeAllowTraffic, before),
        (AllowTraffic, shifting()),
        (AfterAllowTraffic, after_traffic()),
    ]
}

#[test]
fn a_stop_in_every_phase_stops_and_rolls_back_by_the_group_setting() {
    for (phase, mut d) in every_stoppable_phase() {
        d.handle(
            secs(200.0),
            Event::Stop {
                auto_rollback: None,
            },
        )
        .expect("stop");
        assert_eq!(d.status(), DeploymentStatus::Stopped, "{phase:?}");
        assert_eq!(
            d.error_information().map(|e| e.code),
            Some(ErrorCode::ManualStop)
        );
        assert_eq!(d.routing(), &AliasRouting::only(OLD), "{phase:?}");
        assert_eq!(
            d.rollback_info().is_some(),
            phase.is_in_progress(),
            "{phase:?}: nothing to roll back before the start"
        );
        assert!(
            d.lifecycle_events()
                .iter()
                .all(|e| e.status != S::Pending && e.status != S::InProgress)
        );
    }
}

#[test]
fn a_stop_without_rollback_leaves_the_alias_where_it_was() {
    for (phase, mut d) in every_stoppable_phase() {
        let before = d.routing().clone();
        let actions = d
            .handle(
                secs(200.0),
                Event::Stop {
                    auto_rollback: Some(false),
                },
            )
            .expect("stop");
        assert_eq!(d.routing(), &before, "{phase:?}");
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::SetRouting { .. })),
            "{actions:?}"
        );
        assert_eq!(d.rollback_info(), None);
    }
    let mut d = shifting();
    d.handle(
        secs(10.0),
        Event::Stop {
            auto_rollback: Some(false),
        },
    )
    .expect("stop");
    assert_eq!(d.routing(), &split(0.1), "left at the canary's weight");
}

#[test]
fn rollback_follows_the_auto_rollback_configuration() {
    let mut s = spec("Canary10Percent5Minutes");
    s.auto_rollback = AutoRollback::NONE;
    let base = {
        let mut d = deployment(s.clone());
        d.start(secs(0.0)).expect("start");
        report(
            &mut d,
            secs(0.0),
            LifecycleEventName::BeforeAllowTraffic,
            HookStatus::Succeeded,
        );
        d.advance(secs(300.0));
        d
    };
    let mut failed = base.clone();
    report(
        &mut failed,
        secs(301.0),
        LifecycleEventName::AfterAllowTraffic,
        HookStatus::Failed,
    );
    assert_eq!(
        failed.routing(),
        &AliasRouting::only(NEW),
        "no rollback on failure"
    );
    let mut stopped = base.clone();
    stopped
        .handle(
            secs(301.0),
            Event::Stop {
                auto_rollback: None,
            },
        )
        .expect("stop");
    assert_eq!(
        stopped.routing(),
        &AliasRouting::only(NEW),
        "no rollback on request"
    );
    let mut asked = base;
    asked
        .handle(
            secs(301.0),
            Event::Stop {
                auto_rollback: Some(true),
            },
        )
        .expect("stop");
    assert_eq!(
        asked.routing(),
        &AliasRouting::only(OLD),
        "StopDeployment --auto-rollback-enabled"
    );
    asked.record_rollback_deployment("d-ROLLBACK1".to_owned());
    assert_eq!(
        asked
            .rollback_info()
            .and_then(|r| r.rollback_deployment_id.as_deref()),
        Some("d-ROLLBACK1")
    );
}
