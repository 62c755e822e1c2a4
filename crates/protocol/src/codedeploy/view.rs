//! The wire view of a deployment of `rollout`'s model: what GetDeployment and
//! GetDeploymentTarget answer for it. The model's clock counts from the deployment's creation;
//! the view places it at the wall-clock instant the deployment was created.

use std::time::Duration;

use rollout::deployment::{Deployment, DeploymentStatus};

use super::application::{AutoRollbackConfiguration, ComputePlatform, DeploymentStyle};
use super::deployment::{DeploymentCreator, DeploymentInfo, RawString, RevisionLocation};
use super::target::{LambdaFunctionInfo, LambdaTarget, TargetLifecycleEvent, TargetStatus};
use super::{Extra, Timestamp};

/// What the model does not know about a deployment: its names, revision and creation instant.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentContext {
    /// The application.
    pub application_name: String,
    /// The deployment group.
    pub deployment_group_name: String,
    /// The configuration it shifts traffic by.
    pub deployment_config_name: String,
    /// The function (AppSpec `Name`).
    pub function_name: String,
    /// The alias (AppSpec `Alias`).
    pub alias: String,
    /// The revision as created (its AppSpec content is left out of the view, as GetDeployment
    /// does).
    pub revision: Option<RevisionLocation>,
    /// CreateDeployment's description.
    pub description: Option<String>,
    /// When CreateDeployment created it: the model clock's zero.
    pub created: Timestamp,
}

impl DeploymentContext {
    /// The alias's target id: `<function>:<alias>` (the lab's choice; AWS documents only that
    /// it is unique).
    pub fn target_id(&self) -> String {
        format!("{}:{}", self.function_name, self.alias)
    }

    fn at(&self, since_creation: Duration) -> Timestamp {
        let millis = i64::try_from(since_creation.as_millis()).unwrap_or(i64::MAX / 2);
        Timestamp::from_unix_millis(self.created.unix_millis().saturating_add(millis))
    }
}

impl DeploymentInfo {
    /// GetDeployment's `deploymentInfo` for `deployment`.
    pub fn of(deployment: &Deployment, ctx: &DeploymentContext) -> Self {
        let rollback_info = deployment.rollback_info().cloned();
        let creator = if rollback_info
            .as_ref()
            .is_some_and(|r| r.rollback_triggering_deployment_id.is_some())
        {
            DeploymentCreator::CodeDeployRollback
        } else {
            DeploymentCreator::User
        };
        let revision = ctx.revision.clone().map(|mut r| {
            for raw in [&mut r.app_spec_content, &mut r.string]
                .into_iter()
                .flatten()
            {
                *raw = RawString {
                    content: None,
                    sha256: raw.sha256.take(),
                };
            }
            r
        });
        Self {
            application_name: Some(ctx.application_name.clone()),
            deployment_group_name: Some(ctx.deployment_group_name.clone()),
            deployment_config_name: Some(ctx.deployment_config_name.clone()),
            deployment_id: Some(deployment.id().to_owned()),
            previous_revision: None,
            revision,
            status: Some(deployment.status()),
            error_information: deployment.error_information().cloned(),
            create_time: Some(ctx.created),
            start_time: deployment.start_time().map(|t| ctx.at(t)),
            complete_time: deployment.complete_time().map(|t| ctx.at(t)),
            deployment_overview: Some(deployment.overview()),
            description: ctx.description.clone(),
            creator: Some(creator),
            auto_rollback_configuration: Some(AutoRollbackConfiguration::of(
                deployment.spec().auto_rollback,
            )),
            rollback_info,
            deployment_style: Some(DeploymentStyle {
                deployment_type: Some("BLUE_GREEN".to_owned()),
                deployment_option: Some("WITH_TRAFFIC_CONTROL".to_owned()),
            }),
            compute_platform: Some(ComputePlatform::Lambda),
            override_alarm_configuration: None,
            extra: Extra::new(),
        }
    }
}

impl LambdaTarget {
    /// GetDeploymentTarget's `lambdaTarget` for `deployment`: the alias, its versions and
    /// weight, and the lifecycle events.
    pub fn of(deployment: &Deployment, ctx: &DeploymentContext) -> Self {
        let status = match deployment.status() {
            DeploymentStatus::Created | DeploymentStatus::Queued => TargetStatus::Pending,
            DeploymentStatus::InProgress => TargetStatus::InProgress,
            DeploymentStatus::Succeeded => TargetStatus::Succeeded,
            DeploymentStatus::Failed | DeploymentStatus::Stopped => TargetStatus::Failed,
        };
        let events = deployment.lifecycle_events();
        let last_change = events
            .iter()
            .flat_map(|e| [e.start_time, e.end_time])
            .chain([deployment.start_time(), deployment.complete_time()])
            .flatten()
            .max()
            .unwrap_or_default();
        let spec = deployment.spec();
        Self {
            deployment_id: Some(deployment.id().to_owned()),
            target_id: Some(ctx.target_id()),
            target_arn: None,
            status: Some(status),
            last_updated_at: Some(ctx.at(last_change)),
            lifecycle_events: Some(
                events
                    .iter()
                    .map(|e| TargetLifecycleEvent::of(e, ctx.created))
                    .collect(),
            ),
            lambda_function_info: Some(LambdaFunctionInfo {
                function_name: Some(ctx.function_name.clone()),
                function_alias: Some(ctx.alias.clone()),
                current_version: Some(spec.current_version.clone()),
                target_version: Some(spec.target_version.clone()),
                target_version_weight: Some(deployment.target_share() * 100.0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use rollout::Schedule;
    use rollout::deployment::{
        Action, AlarmState, AutoRollback, DeploymentSpec, ErrorCode, Event, HookStatus,
        LifecycleEventStatus,
    };

    use super::*;

    fn context() -> DeploymentContext {
        DeploymentContext {
            application_name: "rollcall-hello".into(),
            deployment_group_name: "hello-live".into(),
            deployment_config_name: "CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into(),
            function_name: "hello".into(),
            alias: "live".into(),
            revision: Some(RevisionLocation::app_spec("version: 0.0")),
            description: None,
            created: Timestamp::from_unix_millis(1_764_843_000_000),
        }
    }

    fn deployment() -> Deployment {
        Deployment::new(DeploymentSpec {
            deployment_id: "d-VIEW1".into(),
            current_version: "1".into(),
            target_version: "2".into(),
            schedule: Schedule::parse("Linear10PercentEvery1Minute").unwrap(),
            time_scale: 60.0,
            before_allow_traffic_hook: Some("CodeDeployHook_pre".into()),
            after_allow_traffic_hook: None,
            alarms: vec!["hello-errors".into()],
            auto_rollback: AutoRollback::ALL,
        })
        .unwrap()
    }

    #[test]
    fn a_running_deployment_shows_its_progress_at_wall_clock_times() {
        let ctx = context();
        let mut d = deployment();
        let actions = d.start(Duration::from_millis(250)).unwrap();
        let [Action::InvokeHook { payload, .. }] = &actions[..] else {
            panic!("{actions:?}")
        };
        let execution_id = payload.lifecycle_event_hook_execution_id.clone();
        let status = HookStatus::Succeeded;
        d.handle(
            Duration::from_secs(1),
            Event::HookStatus {
                execution_id,
                status,
            },
        )
        .unwrap();
        d.advance(Duration::from_millis(2_000));

        let info = DeploymentInfo::of(&d, &ctx);
        assert_eq!(info.status, Some(DeploymentStatus::InProgress));
        assert_eq!(
            info.start_time.map(|t| t.unix_millis()),
            Some(1_764_843_000_250)
        );
        assert_eq!(info.complete_time, None);
        assert_eq!(info.deployment_overview.map(|o| o.in_progress), Some(1));
        let revision = info.revision.expect("revision");
        assert_eq!(revision.app_spec_content.and_then(|r| r.content), None);

        let target = LambdaTarget::of(&d, &ctx);
        assert_eq!(target.status, Some(TargetStatus::InProgress));
        assert_eq!(target.target_id.as_deref(), Some("hello:live"));
        let weight = target
            .lambda_function_info
            .and_then(|f| f.target_version_weight);
        assert_eq!(weight, Some(d.target_share() * 100.0));
        assert!(weight.unwrap() >= 10.0, "{weight:?}");
        let events = target.lifecycle_events.expect("events");
        let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
        assert_eq!(
            statuses,
            [
                Some(LifecycleEventStatus::Succeeded),
                Some(LifecycleEventStatus::InProgress),
                Some(LifecycleEventStatus::Pending)
            ]
        );
        assert_eq!(
            events[0].end_time.map(|t| t.unix_millis()),
            Some(1_764_843_001_000)
        );
    }

    #[test]
    fn a_deployment_stopped_by_an_alarm_shows_why_and_its_rollback() {
        let ctx = context();
        let mut d = deployment();
        let actions = d.start(Duration::ZERO).unwrap();
        let [Action::InvokeHook { payload, .. }] = &actions[..] else {
            panic!("{actions:?}")
        };
        let execution_id = payload.lifecycle_event_hook_execution_id.clone();
        let status = HookStatus::Succeeded;
        d.handle(
            Duration::from_secs(1),
            Event::HookStatus {
                execution_id,
                status,
            },
        )
        .unwrap();
        d.handle(
            Duration::from_secs(3),
            Event::AlarmState {
                alarm_name: "hello-errors".into(),
                state: AlarmState::Alarm,
            },
        )
        .unwrap();
        let info = DeploymentInfo::of(&d, &ctx);
        assert_eq!(info.status, Some(DeploymentStatus::Stopped));
        assert_eq!(
            info.error_information.map(|e| e.code),
            Some(ErrorCode::AlarmActive)
        );
        assert!(info.rollback_info.is_some());
        assert_eq!(
            info.complete_time.map(|t| t.unix_millis()),
            Some(1_764_843_003_000)
        );
        let target = LambdaTarget::of(&d, &ctx);
        assert_eq!(target.status, Some(TargetStatus::Failed));
        let weight = target
            .lambda_function_info
            .and_then(|f| f.target_version_weight);
        assert_eq!(weight, Some(0.0), "rolled back to the current version");
    }
}
