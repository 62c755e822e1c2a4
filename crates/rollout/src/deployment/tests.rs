//! One test per transition of the deployment lifecycle, then failures, stops, rollbacks and the
//! events that do not apply.

use std::time::Duration;

use super::Phase::*;
use super::Transition::*;
use super::*;

pub(super) const OLD: &str = "1";
pub(super) const NEW: &str = "2";
pub(super) const PRE: &str = "CodeDeployHook_pre";
pub(super) const POST: &str = "CodeDeployHook_post";
pub(super) const ALARM: &str = "hello-errors";

pub(super) fn spec(schedule: &str) -> DeploymentSpec {
    DeploymentSpec {
        deployment_id: "d-TEST00001".to_owned(),
        current_version: OLD.to_owned(),
        target_version: NEW.to_owned(),
        schedule: schedule.parse().expect("schedule"),
        time_scale: 1.0,
        before_allow_traffic_hook: Some(PRE.to_owned()),
        after_allow_traffic_hook: Some(POST.to_owned()),
        alarms: vec![ALARM.to_owned()],
        auto_rollback: AutoRollback::ALL,
    }
}

pub(super) fn deployment(spec: DeploymentSpec) -> Deployment {
    Deployment::new(spec).expect("valid spec")
}

pub(super) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The execution id of the hook invoked for `event`.
pub(super) fn execution_id(d: &Deployment, event: LifecycleEventName) -> String {
    d.lifecycle_events()[event.index()]
        .hook
        .as_ref()
        .expect("hook invoked")
        .execution_id
        .clone()
}

pub(super) fn report(
    d: &mut Deployment,
    now: Duration,
    event: LifecycleEventName,
    status: HookStatus,
) -> Vec<Action> {
    let execution_id = execution_id(d, event);
    d.handle(
        now,
        Event::HookStatus {
            execution_id,
            status,
        },
    )
    .expect("hook status accepted")
}

pub(super) fn statuses(d: &Deployment) -> Vec<LifecycleEventStatus> {
    d.lifecycle_events().iter().map(|e| e.status).collect()
}

pub(super) fn split(share: f64) -> AliasRouting {
    AliasRouting {
        function_version: OLD.to_owned(),
        additional_version: Some((NEW.to_owned(), share)),
    }
}

/// A Canary10Percent5Minutes deployment in AllowTraffic since t = 1 s.
pub(super) fn shifting() -> Deployment {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    d.start(secs(0.0)).expect("start");
    report(
        &mut d,
        secs(1.0),
        LifecycleEventName::BeforeAllowTraffic,
        HookStatus::Succeeded,
    );
    assert_eq!(d.phase(), AllowTraffic);
    d
}

/// The same deployment in AfterAllowTraffic since t = 301 s.
pub(super) fn after_traffic() -> Deployment {
    let mut d = shifting();
    d.advance(secs(301.0));
    assert_eq!(d.phase(), AfterAllowTraffic);
    d
}

use LifecycleEventStatus as S;

#[test]
fn queue_moves_created_to_queued() {
    let mut d = deployment(spec("AllAtOnce"));
    assert_eq!(
        (d.phase(), d.status()),
        (Created, DeploymentStatus::Created)
    );
    d.queue(secs(0.0)).expect("queue");
    assert_eq!((d.phase(), d.status()), (Queued, DeploymentStatus::Queued));
    assert_eq!(d.overview().pending, 1);
    assert_eq!(d.next_change(), None, "a queued deployment waits for start");
}

#[test]
fn start_invokes_the_before_allow_traffic_hook_and_sends_the_target_no_traffic() {
    let mut d = deployment(spec("Linear10PercentEvery1Minute"));
    let actions = d.start(secs(2.0)).expect("start");
    let id = execution_id(&d, LifecycleEventName::BeforeAllowTraffic);
    assert_eq!(
        actions,
        vec![Action::InvokeHook {
            lifecycle_event: LifecycleEventName::BeforeAllowTraffic,
            function_name: PRE.to_owned(),
            payload: HookPayload {
                deployment_id: "d-TEST00001".to_owned(),
                lifecycle_event_hook_execution_id: id,
            },
        }]
    );
    assert_eq!(
        (d.phase(), d.status()),
        (BeforeAllowTraffic, DeploymentStatus::InProgress)
    );
    assert_eq!(d.routing(), &AliasRouting::only(OLD));
    assert_eq!(d.target_share(), 0.0);
    assert_eq!(statuses(&d), [S::InProgress, S::Pending, S::Pending]);
    assert_eq!(
        d.next_change(),
        Some(secs(2.0) + HOOK_TIMEOUT),
        "the hook's deadline"
    );
    assert_eq!(d.overview().in_progress, 1);
}

#[test]
fn start_from_the_queue() {
    let mut d = deployment(spec("AllAtOnce"));
    d.queue(secs(0.0)).expect("queue");
    d.start(secs(3.0)).expect("start");
    assert_eq!(d.phase(), BeforeAllowTraffic);
    assert_eq!(d.start_time(), Some(secs(3.0)));
}

#[test]
fn before_hook_succeeded_starts_the_traffic_shift() {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    d.start(secs(0.0)).expect("start");
    let actions = report(
        &mut d,
        secs(4.0),
        LifecycleEventName::BeforeAllowTraffic,
        HookStatus::Succeeded,
    );
    assert_eq!(
        actions,
        vec![Action::SetRouting {
            routing: split(0.1),
            cause: RoutingCause::Step {
                index: 0,
                share: 0.1
            },
        }]
    );
    assert_eq!(d.phase(), AllowTraffic);
    assert_eq!(d.traffic_shift_start(), Some(secs(4.0)));
    assert_eq!(statuses(&d), [S::Succeeded, S::InProgress, S::Pending]);
    assert_eq!(
        d.next_change(),
        Some(secs(304.0)),
        "the canary's second increment"
    );
}

#[test]
fn a_missing_before_hook_is_skipped() {
    let mut s = spec("Canary10Percent5Minutes");
    s.before_allow_traffic_hook = None;
    let mut d = deployment(s);
    let actions = d.start(secs(0.0)).expect("start");
    assert!(
        matches!(
            &actions[..],
            [Action::SetRouting {
                cause: RoutingCause::Step { index: 0, .. },
                ..
            }]
        ),
        "{actions:?}"
    );
    assert_eq!(d.phase(), AllowTraffic);
    assert_eq!(statuses(&d), [S::Skipped, S::InProgress, S::Pending]);
}

#[test]
fn the_end_of_the_shift_invokes_the_after_allow_traffic_hook() {
    let mut d = shifting();
    assert!(
        d.advance(secs(300.999)).is_empty(),
        "nothing due before the interval ends"
    );
    let actions = d.advance(secs(301.0));
    let id = execution_id(&d, LifecycleEventName::AfterAllowTraffic);
    assert_eq!(
        actions,
        vec![
            Action::SetRouting {
                routing: AliasRouting::only(NEW),
                cause: RoutingCause::Step {
                    index: 1,
                    share: 1.0
                },
            },
            Action::InvokeHook {
                lifecycle_event: LifecycleEventName::AfterAllowTraffic,
                function_name: POST.to_owned(),
                payload: HookPayload {
                    deployment_id: "d-TEST00001".to_owned(),
                    lifecycle_event_hook_execution_id: id,
                },
            },
        ]
    );
    assert_eq!(d.phase(), AfterAllowTraffic);
    assert_eq!(statuses(&d), [S::Succeeded, S::Succeeded, S::InProgress]);
    assert_eq!(
        d.routing().additional_version,
        None,
        "empty RoutingConfig at 100%"
    );
}

#[test]
fn after_hook_succeeded_completes_the_deployment_on_the_target_version() {
    let mut d = after_traffic();
    let actions = report(
        &mut d,
        secs(310.0),
        LifecycleEventName::AfterAllowTraffic,
        HookStatus::Succeeded,
    );
    assert_eq!(
        actions,
        vec![Action::Finished {
            status: DeploymentStatus::Succeeded,
            error_information: None,
            routing: AliasRouting::only(NEW),
        }]
    );
    assert_eq!(
        (d.phase(), d.status()),
        (Succeeded, DeploymentStatus::Succeeded)
    );
    assert_eq!(statuses(&d), [S::Succeeded; 3]);
    assert_eq!(d.complete_time(), Some(secs(310.0)));
    assert_eq!(d.overview().succeeded, 1);
    assert_eq!((d.error_information(), d.rollback_info()), (None, None));
    assert_eq!(d.next_change(), None);
}

#[test]
fn a_missing_after_hook_is_skipped() {
    let mut s = spec("Canary10Percent5Minutes");
    s.after_allow_traffic_hook = None;
    let mut d = deployment(s);
    d.start(secs(0.0)).expect("start");
    report(
        &mut d,
        secs(0.0),
        LifecycleEventName::BeforeAllowTraffic,
        HookStatus::Succeeded,
    );
    let actions = d.advance(secs(300.0));
    assert!(
        matches!(
            actions.last(),
            Some(Action::Finished {
                status: DeploymentStatus::Succeeded,
                ..
            })
        ),
        "{actions:?}"
    );
    assert_eq!(statuses(&d), [S::Succeeded, S::Succeeded, S::Skipped]);
}

#[test]
fn before_hook_failed_fails_the_deployment_without_ever_shifting() {
    let mut d = deployment(spec("Canary10Percent5Minutes"));
    d.start(secs(0.0)).expect("start");
    let actions = report(
        &mut d,
        secs(2.0),
        LifecycleEventName::BeforeAllowTraffic,
        HookStatus::Failed,
    );
    let error = d.error_information().expect("error information").clone();
    assert_eq!(error.code, ErrorCode::HookExecutionFailure);
    assert!(error.message.contains(PRE), "{}", error.message);
    assert_eq!(
        actions,
        vec![Action::Finished {
            status: DeploymentStatus::Failed,
            error_information: Some(error),
            routing: AliasRouting::only(OLD),
        }],
        "no routing change: the target never got traffic"
    );
    assert_eq!((d.phase(), d.status()), (Failed, DeploymentStatus::Failed));
    assert_eq!(statuses(&d), [S::Failed, S::Skipped, S::Skipped]);
    assert_eq!(d.overview().failed, 1);
    let rollback = d.rollback_info().expect("rolled back");
    assert!(
        rollback.rollback_message.contains("still served version 1"),
        "{rollback:?}"
    );
}

#[test]
fn a_before_hook_that_never_reports_times_out_after_the_scaled_hour() {
    let mut s = spec("Canary10Percent5Minutes");
    s.time_scale = 60.0;
    let mut d = deployment(s);
    d.start(secs(1.0)).expect("start");
    assert_eq!(d.hook_timeout(), secs(60.0), "one hour at 60x");
    assert_eq!(d.next_change(), Some(secs(61.0)));
    assert!(d.advance(secs(60.999)).is_empty());
    let actions = d.advance(secs(61.0));
    assert!(
        matches!(
            &actions[..],
            [Action::Finished {
                status: DeploymentStatus::Failed,
                ..
            }]
        ),
        "{actions:?}"
    );
    let error = d.error_information().expect("error");
    assert_eq!(error.code, ErrorCode::HookExecutionFailure);
    assert!(
        error.message.contains("did not report"),
        "{}",
        error.message
    );
    assert_eq!(d.lifecycle_events()[0].end_time, Some(secs(61.0)));
}

#[test]
fn after_hook_failed_fails_and_rolls_back_at_once() {
    let mut d = after_traffic();
    let actions = report(
        &mut d,
        secs(320.0),
        LifecycleEventName::AfterAllowTraffic,
        HookStatus::Failed,
    );
    assert_eq!(
        actions[0],
        Action::SetRouting {
            routing: AliasRouting::only(OLD),
            cause: RoutingCause::Rollback,
        }
    );
    assert!(matches!(
        &actions[1],
        Action::Finished {
            status: DeploymentStatus::Failed,
            ..
        }
    ));
    assert_eq!(d.routing(), &AliasRouting::only(OLD));
    assert_eq!(statuses(&d), [S::Succeeded, S::Succeeded, S::Failed]);
    assert!(
        d.rollback_info()
            .expect("rollback")
            .rollback_message
            .contains("again")
    );
}

#[test]
fn an_after_hook_that_never_reports_fails_and_rolls_back() {
    let mut d = after_traffic();
    assert_eq!(d.next_change(), Some(secs(301.0) + HOOK_TIMEOUT));
    let actions = d.advance(secs(301.0) + HOOK_TIMEOUT);
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(d.status(), DeploymentStatus::Failed);
    assert_eq!(d.routing(), &AliasRouting::only(OLD));
}

#[test]
fn every_transition_of_the_table_and_no_other() {
    let phases = [
        Created,
        Queued,
        BeforeAllowTraffic,
        AllowTraffic,
        AfterAllowTraffic,
        Succeeded,
        Failed,
        Stopped,
    ];
    let transitions = [
        Queue,
        Start,
        HookSucceeded,
        HookSkipped,
        TrafficShifted,
        HookFailed,
        AlarmActivated,
        StopRequested,
    ];
    let mut allowed = 0;
    for p in phases {
        for t in transitions {
            match p.next(t) {
                Ok(_) => allowed += 1,
                Err(e) => assert_eq!((e.from, e.transition), (p, t)),
            }
        }
    }
    assert_eq!(allowed, 18, "only the documented transitions are allowed");
    for done in [Succeeded, Failed, Stopped] {
        assert!(
            transitions.iter().all(|t| done.next(*t).is_err()),
            "{done:?} is final"
        );
    }
    assert!(
        AllowTraffic.next(HookFailed).is_err(),
        "AllowTraffic has no hook"
    );
    assert!(
        Created.next(AlarmActivated).is_err(),
        "alarms act once the deployment runs"
    );
}
