//! The weights a deployment applies over time, for every predefined configuration and custom
//! ones, against [`Schedule::expected_share`].

use std::time::Duration;

use super::tests::{NEW, OLD, deployment, report, secs, spec};
use super::*;
use crate::schedule::PREDEFINED;

/// One applied routing change: when, relative to the start of AllowTraffic, and the share.
#[derive(Debug)]
struct Applied {
    at: Duration,
    routing: AliasRouting,
    cause: RoutingCause,
}

/// Runs `d` (started, no hooks left to run) to the end by calling `advance` at every
/// `next_change`, from the `actions` of the call made at `now`; returns the routing changes
/// and when the deployment finished.
fn drive(
    d: &mut Deployment,
    mut now: Duration,
    mut actions: Vec<Action>,
) -> (Vec<Applied>, Duration) {
    let mut applied = Vec::new();
    loop {
        for action in actions {
            match action {
                Action::SetRouting { routing, cause } => applied.push(Applied {
                    at: now - d.traffic_shift_start().expect("shifting"),
                    routing,
                    cause,
                }),
                Action::Finished { status, .. } => {
                    assert_eq!(status, DeploymentStatus::Succeeded);
                    return (applied, now);
                }
                Action::InvokeHook { .. } => panic!("no hooks configured"),
            }
        }
        let next = d
            .next_change()
            .expect("a running deployment has a next change");
        assert!(next >= now, "next change {next:?} before now {now:?}");
        // Nothing is due just before the next change.
        if next > now + Duration::from_micros(1) {
            assert!(d.advance(next - Duration::from_micros(1)).is_empty());
        }
        now = next;
        actions = d.advance(now);
    }
}

fn without_hooks(schedule: &str, time_scale: f64) -> Deployment {
    let mut s = spec(schedule);
    s.before_allow_traffic_hook = None;
    s.after_allow_traffic_hook = None;
    s.time_scale = time_scale;
    deployment(s)
}

/// Checks every applied step against the schedule as the deployment runs it.
fn check_steps(d: &Deployment, applied: &[Applied], finished_at: Duration) {
    let schedule = d.schedule();
    assert_eq!(
        applied.len(),
        schedule.steps().len(),
        "{}: one routing change per step: {applied:?}",
        schedule.name()
    );
    for (step, change) in schedule.steps().iter().zip(applied) {
        let at = change.at.as_secs_f64();
        assert!(
            (at - step.start).abs() < 1e-6,
            "{}: step {} applied at {at}, scheduled at {}",
            schedule.name(),
            step.index,
            step.start
        );
        let expected = schedule.expected_share(step.start);
        assert_eq!(
            change.routing.share_of(NEW),
            expected,
            "{}",
            schedule.name()
        );
        assert_eq!(
            change.cause,
            RoutingCause::Step {
                index: step.index,
                share: step.share
            }
        );
        if expected < 1.0 {
            assert_eq!(change.routing.function_version, OLD, "old stays primary");
        } else {
            assert_eq!(
                change.routing,
                AliasRouting::only(NEW),
                "100% is the target version with an empty RoutingConfig"
            );
        }
    }
    let shift_start = d.traffic_shift_start().expect("shifted");
    let ran = (finished_at - shift_start).as_secs_f64();
    assert!(
        (ran - schedule.total_duration()).abs() < 1e-6,
        "{}: AllowTraffic ran {ran} s, schedule {} s",
        schedule.name(),
        schedule.total_duration()
    );
    assert_eq!(d.routing(), &AliasRouting::only(NEW));
}

#[test]
fn every_predefined_config_applies_its_schedule_in_real_time_and_scaled() {
    for name in PREDEFINED {
        for scale in [1.0, 60.0, 600.0] {
            let mut d = without_hooks(name, scale);
            let actions = d.start(secs(0.25)).expect("start");
            let (applied, finished_at) = drive(&mut d, secs(0.25), actions);
            check_steps(&d, &applied, finished_at);
            let real = name
                .parse::<crate::Schedule>()
                .expect("predefined")
                .total_duration();
            assert!(
                (d.schedule().total_duration() - real / scale).abs() < 1e-9,
                "{name} x{scale}"
            );
            assert_eq!(d.status(), DeploymentStatus::Succeeded);
        }
    }
}

#[test]
fn custom_configs_apply_their_schedules() {
    for custom in [
        TrafficRoutingConfig::TimeBasedCanary {
            time_based_canary: TimeBasedCanary {
                canary_percentage: 25,
                canary_interval: 45,
            },
        },
        TrafficRoutingConfig::TimeBasedLinear {
            time_based_linear: TimeBasedLinear {
                linear_percentage: 30,
                linear_interval: 1,
            },
        },
        TrafficRoutingConfig::AllAtOnce,
    ] {
        let mut s = spec("AllAtOnce");
        s.schedule = custom.schedule().expect("valid custom config");
        s.before_allow_traffic_hook = None;
        s.after_allow_traffic_hook = None;
        s.time_scale = 30.0;
        let mut d = deployment(s);
        let actions = d.start(secs(0.0)).expect("start");
        let (applied, finished_at) = drive(&mut d, secs(0.0), actions);
        check_steps(&d, &applied, finished_at);
    }
    // linear 30%: 30, 60, 90, 100 at 0, 1, 2, 3 minutes, ending at 4.
    let linear = TrafficRoutingConfig::TimeBasedLinear {
        time_based_linear: TimeBasedLinear {
            linear_percentage: 30,
            linear_interval: 1,
        },
    }
    .schedule()
    .expect("linear");
    let shares: Vec<f64> = linear.steps().iter().map(|s| s.share).collect();
    assert_eq!(shares, [0.3, 0.6, 0.9, 1.0]);
    assert_eq!(linear.total_duration(), 240.0);
}

#[test]
fn the_shift_starts_when_the_before_hook_succeeds_not_at_creation() {
    let mut s = spec("Linear10PercentEvery1Minute");
    s.time_scale = 60.0;
    s.after_allow_traffic_hook = None;
    let mut d = deployment(s);
    d.start(secs(0.0)).expect("start");
    // The hook takes 2.5 s: no traffic to the target until then.
    for t in [0.5, 1.0, 2.0, 2.499] {
        assert!(d.advance(secs(t)).is_empty());
        assert_eq!(d.target_share(), 0.0, "at {t} s");
    }
    let actions = report(
        &mut d,
        secs(2.5),
        LifecycleEventName::BeforeAllowTraffic,
        HookStatus::Succeeded,
    );
    assert_eq!(d.traffic_shift_start(), Some(secs(2.5)));
    let (applied, finished_at) = drive(&mut d, secs(2.5), actions);
    check_steps(&d, &applied, finished_at);
    assert_eq!(
        finished_at,
        secs(12.5),
        "10 intervals of 1 s after the hook"
    );
}

#[test]
fn between_steps_the_share_is_the_schedules() {
    let mut d = without_hooks("Linear10PercentEvery2Minutes", 1.0);
    d.start(secs(0.0)).expect("start");
    let schedule = d.schedule().clone();
    for t in (0..1200).step_by(7).map(f64::from) {
        d.advance(secs(t));
        assert_eq!(
            d.target_share(),
            schedule.expected_share(t),
            "at {t} s into AllowTraffic"
        );
    }
}

#[test]
fn a_late_caller_gets_the_current_step_not_a_replay() {
    let mut d = without_hooks("Linear10PercentEvery1Minute", 1.0);
    d.start(secs(0.0)).expect("start");
    let actions = d.advance(secs(330.0));
    assert_eq!(
        actions,
        vec![Action::SetRouting {
            routing: AliasRouting {
                function_version: OLD.to_owned(),
                additional_version: Some((NEW.to_owned(), 0.6)),
            },
            cause: RoutingCause::Step {
                index: 5,
                share: 0.6
            },
        }],
        "one change, to the step due now"
    );
    assert_eq!(d.next_change(), Some(secs(360.0)));
    let actions = d.advance(secs(3600.0));
    assert!(
        matches!(
            &actions[..],
            [
                Action::SetRouting {
                    cause: RoutingCause::Step { index: 9, .. },
                    ..
                },
                Action::Finished {
                    status: DeploymentStatus::Succeeded,
                    ..
                }
            ]
        ),
        "{actions:?}"
    );
}
