//! The engine's refusals that need no function running: applications, deployment groups,
//! configurations, and requests naming what does not exist. (Deployments themselves run against
//! real environments in `tests/tests/aws_cli_codedeploy.rs`.)

use std::sync::Arc;

use protocol::codedeploy::{
    AlarmConfiguration, AlarmRef, CodeDeployErrorType as E, ComputePlatform,
    CreateApplicationInput, CreateDeploymentConfigInput, CreateDeploymentGroupInput,
    CreateDeploymentInput, Extra, ListDeploymentsInput, PutLifecycleEventHookExecutionStatusInput,
    RevisionLocation, StopDeploymentInput,
};
use rollout::deployment::{
    AlarmState as DeploymentAlarmState, TimeBasedLinear, TrafficRoutingConfig,
};

use super::alarms::{AlarmState, state_of};
use super::{AlarmBoard, AlarmSource, Deployments};
use crate::control::registry::{Registry, Snapshot};

fn engine() -> Arc<Deployments> {
    Deployments::new(
        Registry::new(Snapshot::default()),
        vec![Arc::new(AlarmBoard::new())],
    )
}

fn app(name: &str, platform: Option<ComputePlatform>) -> CreateApplicationInput {
    CreateApplicationInput {
        application_name: name.into(),
        compute_platform: platform,
        tags: None,
    }
}

fn group(app: &str, name: &str, config: Option<&str>) -> CreateDeploymentGroupInput {
    CreateDeploymentGroupInput {
        application_name: app.into(),
        deployment_group_name: name.into(),
        deployment_config_name: config.map(str::to_owned),
        service_role_arn: "arn:aws:iam::123456789012:role/cd".into(),
        alarm_configuration: None,
        auto_rollback_configuration: None,
        deployment_style: None,
        tags: None,
        extra: Extra::new(),
    }
}

#[test]
fn applications_are_lambda_named_and_unique() {
    let e = engine();
    let lambda = Some(ComputePlatform::Lambda);
    assert_eq!(
        e.create_application(&app(" ", lambda))
            .unwrap_err()
            .error_type,
        E::ApplicationNameRequired
    );
    let err = e
        .create_application(&app("a", Some(ComputePlatform::Server)))
        .unwrap_err();
    assert_eq!(err.error_type, E::InvalidComputePlatform);
    assert!(err.message.contains("--compute-platform Lambda"), "{err}");
    e.create_application(&app("a", lambda)).unwrap();
    assert_eq!(
        e.create_application(&app("a", lambda))
            .unwrap_err()
            .error_type,
        E::ApplicationAlreadyExists
    );
}

#[test]
fn deleted_applications_and_groups_are_gone_and_deleting_twice_is_no_error() {
    let e = engine();
    e.create_application(&app("a", Some(ComputePlatform::Lambda)))
        .unwrap();
    let created = e.create_deployment_group(&group("a", "g", None)).unwrap();
    let info = e.get_deployment_group("a", "g").unwrap();
    assert_eq!(info.deployment_group_id, created.deployment_group_id);
    assert_eq!(info.deployment_config_name, super::DEFAULT_CONFIG);
    // A replaced group keeps its id.
    let replaced = e
        .replace_deployment_group(&group(
            "a",
            "g",
            Some("CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        ))
        .unwrap();
    assert_eq!(replaced.deployment_group_id, created.deployment_group_id);
    e.delete_deployment_group("a", "g").unwrap();
    e.delete_deployment_group("a", "g").unwrap();
    assert_eq!(
        e.get_deployment_group("a", "g").unwrap_err().error_type,
        E::DeploymentGroupDoesNotExist
    );
    e.create_deployment_group(&group("a", "g", None)).unwrap();
    assert_eq!(e.get_application("a").unwrap().application_name, "a");
    e.delete_application("a").unwrap();
    e.delete_application("a").unwrap();
    assert_eq!(
        e.get_application("a").unwrap_err().error_type,
        E::ApplicationDoesNotExist
    );
    // Its groups went with it: the application is new again.
    e.create_application(&app("a", Some(ComputePlatform::Lambda)))
        .unwrap();
    e.create_deployment_group(&group("a", "g", None)).unwrap();
}

#[test]
fn deployment_groups_check_their_application_config_role_and_alarms() {
    let e = engine();
    e.create_application(&app("a", Some(ComputePlatform::Lambda)))
        .unwrap();
    let refused = |input: &CreateDeploymentGroupInput| {
        e.create_deployment_group(input).unwrap_err().error_type
    };
    assert_eq!(
        refused(&group("nope", "g", None)),
        E::ApplicationDoesNotExist
    );
    assert_eq!(
        refused(&group("a", "", None)),
        E::DeploymentGroupNameRequired
    );
    assert_eq!(
        refused(&group("a", "g", Some("CodeDeployDefault.LambdaNope"))),
        E::DeploymentConfigDoesNotExist
    );
    let mut no_role = group("a", "g", None);
    no_role.service_role_arn = String::new();
    assert_eq!(refused(&no_role), E::RoleRequired);
    let mut too_many = group("a", "g", None);
    too_many.alarm_configuration = Some(AlarmConfiguration {
        enabled: Some(true),
        ignore_poll_alarm_failure: None,
        alarms: Some(
            (0..11)
                .map(|i| AlarmRef {
                    name: format!("alarm-{i}"),
                })
                .collect(),
        ),
    });
    assert_eq!(refused(&too_many), E::AlarmsLimitExceeded);
    let mut none = group("a", "g", None);
    none.alarm_configuration = Some(AlarmConfiguration {
        enabled: Some(true),
        ignore_poll_alarm_failure: None,
        alarms: Some(Vec::new()),
    });
    assert_eq!(refused(&none), E::InvalidAlarmConfig);
    e.create_deployment_group(&group("a", "g", None)).unwrap();
    assert_eq!(
        refused(&group("a", "g", None)),
        E::DeploymentGroupAlreadyExists
    );
}

#[test]
fn custom_configs_are_unique_and_read_back_with_the_predefined_ones() {
    let e = engine();
    let input = CreateDeploymentConfigInput {
        deployment_config_name: "Linear20Every2".into(),
        traffic_routing_config: Some(TrafficRoutingConfig::TimeBasedLinear {
            time_based_linear: TimeBasedLinear {
                linear_percentage: 20,
                linear_interval: 2,
            },
        }),
        compute_platform: Some(ComputePlatform::Lambda),
        extra: Extra::new(),
    };
    e.create_deployment_config(&input).unwrap();
    assert_eq!(
        e.create_deployment_config(&input).unwrap_err().error_type,
        E::DeploymentConfigAlreadyExists
    );
    let info = e.deployment_config("Linear20Every2").unwrap();
    assert_eq!(info.traffic_routing_config, input.traffic_routing_config);
    assert!(
        e.deployment_config("CodeDeployDefault.LambdaAllAtOnce")
            .is_ok()
    );
    assert_eq!(
        e.deployment_config("Linear20Every3")
            .unwrap_err()
            .error_type,
        E::DeploymentConfigDoesNotExist
    );
    e.create_application(&app("a", Some(ComputePlatform::Lambda)))
        .unwrap();
    e.create_deployment_group(&group("a", "g", Some("Linear20Every2")))
        .unwrap();
}

#[test]
fn requests_naming_what_does_not_exist_are_refused_with_codedeploys_types() {
    let e = engine();
    e.create_application(&app("a", Some(ComputePlatform::Lambda)))
        .unwrap();
    e.create_deployment_group(&group("a", "g", None)).unwrap();
    let deploy = |group: Option<&str>, appspec: &str| {
        e.create_deployment(&CreateDeploymentInput {
            application_name: "a".into(),
            deployment_group_name: group.map(str::to_owned),
            revision: Some(RevisionLocation::app_spec(appspec)),
            deployment_config_name: None,
            description: None,
            auto_rollback_configuration: None,
            override_alarm_configuration: None,
            extra: Extra::new(),
        })
        .unwrap_err()
    };
    let spec = "version: 0.0\nResources:\n  - f:\n      Type: AWS::Lambda::Function\n      Properties: {Name: f, Alias: live, CurrentVersion: '1', TargetVersion: '2'}\n";
    assert_eq!(
        deploy(None, spec).error_type,
        E::DeploymentGroupNameRequired
    );
    assert_eq!(
        deploy(Some("other"), spec).error_type,
        E::DeploymentGroupDoesNotExist
    );
    let err = deploy(Some("g"), spec);
    assert_eq!(err.error_type, E::InvalidRevision);
    assert!(err.message.contains("function \"f\""), "{err}");
    let stop = StopDeploymentInput {
        deployment_id: "d-NOPE".into(),
        auto_rollback_enabled: None,
    };
    assert_eq!(
        e.stop_deployment(&stop).unwrap_err().error_type,
        E::DeploymentDoesNotExist
    );
    let report = PutLifecycleEventHookExecutionStatusInput {
        deployment_id: Some("d-NOPE".into()),
        lifecycle_event_hook_execution_id: Some("x".into()),
        status: Some("Succeeded".into()),
    };
    assert_eq!(
        e.put_hook_status(&report).unwrap_err().error_type,
        E::DeploymentDoesNotExist
    );
    let list = |input: ListDeploymentsInput| e.list_deployments(&input);
    assert_eq!(
        list(ListDeploymentsInput {
            application_name: Some("nope".into()),
            ..Default::default()
        })
        .unwrap_err()
        .error_type,
        E::ApplicationDoesNotExist
    );
    assert_eq!(
        list(ListDeploymentsInput {
            next_token: Some("t".into()),
            ..Default::default()
        })
        .unwrap_err()
        .error_type,
        E::InvalidNextToken
    );
    assert!(
        list(ListDeploymentsInput::default())
            .unwrap()
            .deployments
            .is_empty()
    );
}

#[test]
fn the_first_source_that_knows_an_alarm_answers_and_tells_of_every_change() {
    let (hand, other) = (Arc::new(AlarmBoard::new()), Arc::new(AlarmBoard::new()));
    let sources: Vec<Arc<dyn AlarmSource>> = vec![hand.clone(), other.clone()];
    let rx = hand.subscribe();
    assert_eq!(
        state_of(&sources, "errors"),
        DeploymentAlarmState::InsufficientData
    );
    other.set("errors", AlarmState::Ok);
    assert_eq!(state_of(&sources, "errors"), DeploymentAlarmState::Ok);
    hand.set("errors", AlarmState::Alarm);
    assert!(rx.has_changed().unwrap());
    assert_eq!(state_of(&sources, "errors"), DeploymentAlarmState::Alarm);
    assert_eq!(hand.state("other"), None);
}
