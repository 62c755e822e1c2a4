//! The CodeDeploy API shapes of `protocol::codedeploy` against the real AWS CLI: every request
//! the CLI sends for the operations the lab answers carries the `X-Amz-Target` we parse and a
//! body that deserializes into its input type; every response we serialize is printed back by
//! the CLI member for member; every error we render is reported with its type and message. The
//! server is a one-connection HTTP responder on 127.0.0.1:0 that records what the CLI sent;
//! fixtures are `crates/protocol/tests/fixtures/codedeploy/` (see their README).

#[path = "codedeploy_shapes/cli.rs"]
mod cli;

use protocol::codedeploy::{
    AppSpec, CodeDeployError, CodeDeployErrorType, CreateApplicationInput, CreateApplicationOutput,
    CreateDeploymentConfigInput, CreateDeploymentConfigOutput, CreateDeploymentGroupInput,
    CreateDeploymentGroupOutput, CreateDeploymentInput, CreateDeploymentOutput,
    GetDeploymentConfigInput, GetDeploymentConfigOutput, GetDeploymentInput, GetDeploymentOutput,
    GetDeploymentTargetInput, GetDeploymentTargetOutput, ListDeploymentTargetsInput,
    ListDeploymentTargetsOutput, ListDeploymentsInput, ListDeploymentsOutput, Operation,
    PutLifecycleEventHookExecutionStatusInput, PutLifecycleEventHookExecutionStatusOutput,
    StopDeploymentInput, StopDeploymentOutput, StopStatus,
};
use rollout::deployment::{
    AutoRollback, DeploymentStatus, HookStatus, TimeBasedCanary, TrafficRoutingConfig,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use cli::{aws, call, fixture, normalize, query, respond_once, served};

#[test]
fn every_fixture_round_trips_through_its_type() {
    fn check<T: DeserializeOwned + Serialize>(rel: &str) {
        let (original, ours) = served::<T>(rel);
        let ours: Value = serde_json::from_str(&ours).expect("JSON");
        assert_eq!(normalize(&ours), normalize(&original), "{rel}");
    }
    check::<CreateApplicationOutput>("create_application_output.json");
    check::<CreateDeploymentGroupOutput>("create_deployment_group_output.json");
    check::<CreateDeploymentConfigOutput>("create_deployment_config_output.json");
    check::<GetDeploymentConfigOutput>("get_deployment_config_output.json");
    check::<GetDeploymentConfigOutput>("get_deployment_config_output_lambda.json");
    check::<CreateDeploymentOutput>("create_deployment_output.json");
    check::<CreateDeploymentInput>("create_deployment_input_ecs.json");
    check::<GetDeploymentOutput>("get_deployment_output.json");
    check::<GetDeploymentOutput>("get_deployment_output_lambda_stopped.json");
    check::<ListDeploymentsOutput>("list_deployments_output.json");
    check::<StopDeploymentOutput>("stop_deployment_output.json");
    check::<GetDeploymentTargetOutput>("get_deployment_target_output.json");
    check::<GetDeploymentTargetOutput>("get_deployment_target_output_lambda.json");
    check::<ListDeploymentTargetsOutput>("list_deployment_targets_output.json");
}

#[test]
fn the_guides_lambda_appspec_reads_the_same_in_yaml_and_json() {
    let yaml = AppSpec::parse(&fixture("appspec_lambda.yaml")).expect("YAML AppSpec");
    let json = AppSpec::parse(&fixture("appspec_lambda.json")).expect("JSON AppSpec");
    assert_eq!(yaml, json);
    assert_eq!(yaml.function.name, "myLambdaFunction");
    assert_eq!(yaml.function.alias, "myLambdaFunctionAlias");
    assert_eq!(
        (
            yaml.function.current_version.as_str(),
            yaml.function.target_version.as_str()
        ),
        ("1", "2")
    );
    assert_eq!(
        yaml.before_allow_traffic.as_deref(),
        Some("LambdaFunctionToValidateBeforeTrafficShift")
    );
    assert_eq!(
        yaml.after_allow_traffic.as_deref(),
        Some("LambdaFunctionToValidateAfterTrafficShift")
    );
    let ecs = fixture("create_deployment_input_ecs.json");
    let input: CreateDeploymentInput = serde_json::from_str(&ecs).expect("input");
    let err = input
        .revision
        .expect("revision")
        .app_spec_text()
        .unwrap_err();
    assert_eq!(err.error_type, CodeDeployErrorType::InvalidRevision);
}

#[test]
fn the_cli_creates_an_application_group_and_config_with_our_shapes() {
    let sent = call::<CreateApplicationOutput>(
        "create_application_output.json",
        &[
            "create-application",
            "--application-name",
            "rollcall-hello",
            "--compute-platform",
            "Lambda",
        ],
    );
    sent.operation(Operation::CreateApplication);
    let input: CreateApplicationInput = sent.body_as();
    assert_eq!(input.application_name, "rollcall-hello");
    assert_eq!(
        input.compute_platform,
        Some(protocol::codedeploy::ComputePlatform::Lambda)
    );

    let sent = call::<CreateDeploymentGroupOutput>(
        "create_deployment_group_output.json",
        &[
            "create-deployment-group",
            "--application-name",
            "rollcall-hello",
            "--deployment-group-name",
            "hello-live",
            "--deployment-config-name",
            "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
            "--service-role-arn",
            "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
            "--alarm-configuration",
            "enabled=true,ignorePollAlarmFailure=false,alarms=[{name=hello-errors},{name=hello-p99}]",
            "--auto-rollback-configuration",
            "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM",
            "--deployment-style",
            "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
        ],
    );
    sent.operation(Operation::CreateDeploymentGroup);
    let input: CreateDeploymentGroupInput = sent.body_as();
    assert_eq!(
        (
            input.application_name.as_str(),
            input.deployment_group_name.as_str()
        ),
        ("rollcall-hello", "hello-live")
    );
    assert_eq!(
        input.deployment_config_name.as_deref(),
        Some("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
    );
    assert!(
        input
            .service_role_arn
            .ends_with(":role/CodeDeployServiceRole")
    );
    let alarms = input.alarm_configuration.expect("alarmConfiguration");
    assert_eq!(alarms.monitored_alarms(), ["hello-errors", "hello-p99"]);
    let rollback = input
        .auto_rollback_configuration
        .expect("autoRollbackConfiguration");
    assert_eq!(
        rollback.auto_rollback(),
        AutoRollback {
            deployment_failure: true,
            deployment_stop_on_alarm: true,
            deployment_stop_on_request: false,
        }
    );
    assert!(
        input.extra.is_empty(),
        "unmodelled members: {:?}",
        input.extra
    );

    let sent = call::<CreateDeploymentConfigOutput>(
        "create_deployment_config_output.json",
        &[
            "create-deployment-config",
            "--deployment-config-name",
            "Canary25Percent45Minutes",
            "--compute-platform",
            "Lambda",
            "--traffic-routing-config",
            "type=TimeBasedCanary,timeBasedCanary={canaryPercentage=25,canaryInterval=45}",
        ],
    );
    sent.operation(Operation::CreateDeploymentConfig);
    let input: CreateDeploymentConfigInput = sent.body_as();
    let canary = TrafficRoutingConfig::TimeBasedCanary {
        time_based_canary: TimeBasedCanary {
            canary_percentage: 25,
            canary_interval: 45,
        },
    };
    assert_eq!(input.traffic_routing_config, Some(canary));
    let schedule = input.validate().expect("a valid Lambda config");
    assert_eq!(
        schedule.steps(),
        canary.schedule().expect("schedule").steps()
    );

    let sent = call::<GetDeploymentConfigOutput>(
        "get_deployment_config_output_lambda.json",
        &[
            "get-deployment-config",
            "--deployment-config-name",
            "Linear25PercentEvery2Minutes",
        ],
    );
    sent.operation(Operation::GetDeploymentConfig);
    let input: GetDeploymentConfigInput = sent.body_as();
    assert_eq!(input.deployment_config_name, "Linear25PercentEvery2Minutes");

    // A predefined config, as the lab answers it, read by the CLI.
    let name = "CodeDeployDefault.LambdaCanary10Percent5Minutes";
    let info = protocol::codedeploy::predefined_config(name).expect("predefined");
    let response = GetDeploymentConfigOutput {
        deployment_config_info: Some(info),
    };
    let args = ["get-deployment-config", "--deployment-config-name", name];
    let printed = query(
        &response,
        &args,
        "deploymentConfigInfo.[trafficRoutingConfig.type, trafficRoutingConfig.timeBasedCanary.canaryPercentage, trafficRoutingConfig.timeBasedCanary.canaryInterval]",
    );
    assert_eq!(
        printed.split_whitespace().collect::<Vec<_>>(),
        ["TimeBasedCanary", "10", "5"]
    );
}

#[test]
fn the_cli_creates_a_deployment_from_an_appspec_and_reads_its_status() {
    let appspec = fixture("appspec_lambda.yaml");
    let revision = serde_json::json!({
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": appspec, "sha256": "0123abcd"}
    })
    .to_string();
    let sent = call::<CreateDeploymentOutput>(
        "create_deployment_output.json",
        &[
            "create-deployment",
            "--application-name",
            "rollcall-hello",
            "--deployment-group-name",
            "hello-live",
            "--deployment-config-name",
            "CodeDeployDefault.LambdaAllAtOnce",
            "--description",
            "hello v2",
            "--revision",
            &revision,
        ],
    );
    sent.operation(Operation::CreateDeployment);
    let input: CreateDeploymentInput = sent.body_as();
    assert_eq!(input.deployment_group_name.as_deref(), Some("hello-live"));
    assert_eq!(input.description.as_deref(), Some("hello v2"));
    let revision = input.revision.expect("revision");
    let text = revision.app_spec_text().expect("inline AppSpec");
    assert_eq!(text, appspec, "the AppSpec arrives verbatim");
    let spec = AppSpec::parse(text).expect("AppSpec");
    assert_eq!(spec.function.alias, "myLambdaFunctionAlias");

    let sent = call::<GetDeploymentOutput>(
        "get_deployment_output_lambda_stopped.json",
        &["get-deployment", "--deployment-id", "d-ROLLCALL1"],
    );
    sent.operation(Operation::GetDeployment);
    let input: GetDeploymentInput = sent.body_as();
    assert_eq!(input.deployment_id, "d-ROLLCALL1");

    let (_, body) = served::<GetDeploymentOutput>("get_deployment_output_lambda_stopped.json");
    let response: GetDeploymentOutput = serde_json::from_str(&body).expect("ours");
    let info = response.deployment_info.as_ref().expect("deploymentInfo");
    assert_eq!(info.status, Some(DeploymentStatus::Stopped));
    let printed = query(
        &response,
        &["get-deployment", "--deployment-id", "d-ROLLCALL1"],
        "deploymentInfo.[status, errorInformation.code, rollbackInfo.rollbackDeploymentId, deploymentOverview.Failed, createTime]",
    );
    assert_eq!(
        printed.split_whitespace().collect::<Vec<_>>(),
        [
            "Stopped",
            "ALARM_ACTIVE",
            "d-ROLLCALL2",
            "1",
            "1764843000.125"
        ]
    );
}

#[test]
fn the_cli_lists_stops_and_reports_hooks_with_our_shapes() {
    let sent = call::<ListDeploymentsOutput>(
        "list_deployments_output.json",
        &[
            "list-deployments",
            "--application-name",
            "rollcall-hello",
            "--deployment-group-name",
            "hello-live",
            "--include-only-statuses",
            "Failed",
            "Stopped",
            "Ready",
            "--create-time-range",
            "start=2026-12-04T00:00:00,end=2026-12-05T00:00:00",
        ],
    );
    sent.operation(Operation::ListDeployments);
    let input: ListDeploymentsInput = sent.body_as();
    input.validate().expect("valid filters");
    assert_eq!(
        input.statuses().expect("statuses"),
        Some(vec![DeploymentStatus::Failed, DeploymentStatus::Stopped])
    );
    // 2026-12-04T00:00:00Z and a day later, in epoch seconds.
    let range = input.create_time_range.expect("createTimeRange");
    assert_eq!(
        range.start.map(|t| t.unix_millis()),
        Some(1_796_342_400_000)
    );
    assert_eq!(range.end.map(|t| t.unix_millis()), Some(1_796_428_800_000));

    let sent = call::<StopDeploymentOutput>(
        "stop_deployment_output.json",
        &[
            "stop-deployment",
            "--deployment-id",
            "d-ROLLCALL1",
            "--auto-rollback-enabled",
        ],
    );
    sent.operation(Operation::StopDeployment);
    let input: StopDeploymentInput = sent.body_as();
    assert_eq!(input.deployment_id, "d-ROLLCALL1");
    assert_eq!(input.auto_rollback_enabled, Some(true));
    let pending = StopDeploymentOutput {
        status: Some(StopStatus::Pending),
        status_message: Some("Stopping the deployment; rolling back to version 1".into()),
    };
    let printed = query(
        &pending,
        &["stop-deployment", "--deployment-id", "d-X"],
        "status",
    );
    assert_eq!(printed, "Pending");

    let response = PutLifecycleEventHookExecutionStatusOutput {
        lifecycle_event_hook_execution_id: Some("e-BEFORE-1".into()),
    };
    let (url, server) = respond_once(200, serde_json::to_string(&response).expect("JSON"));
    let out = aws(
        &url,
        &[
            "put-lifecycle-event-hook-execution-status",
            "--deployment-id",
            "d-ROLLCALL1",
            "--lifecycle-event-hook-execution-id",
            "e-BEFORE-1",
            "--status",
            "Failed",
            "--output",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = server.join().expect("server");
    sent.operation(Operation::PutLifecycleEventHookExecutionStatus);
    let input: PutLifecycleEventHookExecutionStatusInput = sent.body_as();
    assert_eq!(
        input.report(),
        Ok(("d-ROLLCALL1", "e-BEFORE-1", HookStatus::Failed))
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed["lifecycleEventHookExecutionId"], "e-BEFORE-1");

    let sent = call::<ListDeploymentTargetsOutput>(
        "list_deployment_targets_output.json",
        &[
            "list-deployment-targets",
            "--deployment-id",
            "d-ROLLCALL1",
            "--target-filters",
            "{\"TargetStatus\":[\"Failed\",\"InProgress\"]}",
        ],
    );
    sent.operation(Operation::ListDeploymentTargets);
    let input: ListDeploymentTargetsInput = sent.body_as();
    let filters = input.target_filters.expect("targetFilters");
    assert_eq!(filters["TargetStatus"], ["Failed", "InProgress"]);

    let sent = call::<GetDeploymentTargetOutput>(
        "get_deployment_target_output_lambda.json",
        &[
            "get-deployment-target",
            "--deployment-id",
            "d-ROLLCALL1",
            "--target-id",
            "hello:live",
        ],
    );
    sent.operation(Operation::GetDeploymentTarget);
    let input: GetDeploymentTargetInput = sent.body_as();
    assert_eq!(
        (input.deployment_id.as_str(), input.target_id.as_str()),
        ("d-ROLLCALL1", "hello:live")
    );
}

#[test]
fn the_cli_reports_our_errors_with_their_type_and_message() {
    let cases = [
        (
            CodeDeployError::deployment_does_not_exist("d-NOPE"),
            vec!["get-deployment", "--deployment-id", "d-NOPE"],
            "GetDeployment",
        ),
        (
            CodeDeployError::active_deployment("hello-live", "d-ROLLCALL1"),
            vec!["create-deployment", "--application-name", "rollcall-hello"],
            "CreateDeployment",
        ),
        (
            CodeDeployError::new(
                CodeDeployErrorType::DeploymentAlreadyCompleted,
                "deployment d-ROLLCALL1 is already complete (Succeeded)",
            ),
            vec!["stop-deployment", "--deployment-id", "d-ROLLCALL1"],
            "StopDeployment",
        ),
        (
            CodeDeployError::new(
                CodeDeployErrorType::InvalidLifecycleEventHookExecutionId,
                "deployment d-ROLLCALL1 has no lifecycle event hook execution \"e-X\"",
            ),
            vec![
                "put-lifecycle-event-hook-execution-status",
                "--deployment-id",
                "d-ROLLCALL1",
                "--lifecycle-event-hook-execution-id",
                "e-X",
                "--status",
                "Succeeded",
            ],
            "PutLifecycleEventHookExecutionStatus",
        ),
        (
            Operation::from_target(Some("CodeDeploy_20141006.BatchGetDeployments")).unwrap_err(),
            vec!["get-deployment", "--deployment-id", "d-X"],
            "GetDeployment",
        ),
        (
            protocol::codedeploy::AppSpecError::NoResource.to_codedeploy_error(),
            vec!["create-deployment", "--application-name", "rollcall-hello"],
            "CreateDeployment",
        ),
    ];
    for (err, args, operation) in cases {
        let (url, server) = respond_once(err.status(), err.body());
        let out = aws(&url, &args);
        server.join().expect("server");
        // aws-cli v1 exits 255 for a service error (v2: 254); the message below tells it apart
        // from a CLI that failed otherwise.
        assert_eq!(
            out.status.code(),
            Some(255),
            "{err}: the CLI's exit code for a service error"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let head = format!(
            "An error occurred ({}) when calling the {operation} operation",
            err.error_type
        );
        assert!(stderr.contains(&head), "{err}: stderr was {stderr}");
        assert!(
            stderr.trim_end().ends_with(&format!(": {}", err.message)),
            "{err}: stderr was {stderr}"
        );
    }
}

/// botocore keeps what follows the last `#` of `__type`: a namespaced type, as AWS's Coral
/// services send it, reads as the bare name in the CLI and in [`CodeDeployError::parse`].
#[test]
fn a_namespaced_error_type_reads_as_its_bare_name() {
    let body =
        r#"{"__type":"com.amazon.coral.service#UnknownOperationException","message":"nope"}"#;
    let parsed = CodeDeployError::parse(body.as_bytes()).expect("parsed");
    assert_eq!(parsed.error_type, CodeDeployErrorType::UnknownOperation);
    let (url, server) = respond_once(400, body.to_owned());
    let out = aws(&url, &["get-deployment", "--deployment-id", "d-X"]);
    server.join().expect("server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "An error occurred (UnknownOperationException) when calling the GetDeployment operation"
        ),
        "{stderr}"
    );
}

/// `aws deploy wait deployment-successful` (what scripts and the SAM docs use to wait for a
/// deployment) polls GetDeployment and matches `deploymentInfo.status`: our `Succeeded` ends the
/// wait with success and our `Stopped` with the waiter's failure, on the first poll.
#[test]
fn the_deployment_waiter_reads_our_status() {
    let (_, body) = served::<GetDeploymentOutput>("get_deployment_output_lambda_stopped.json");
    let stopped: GetDeploymentOutput = serde_json::from_str(&body).expect("ours");
    let mut succeeded = stopped.clone();
    let info = succeeded.deployment_info.as_mut().expect("deploymentInfo");
    info.status = Some(DeploymentStatus::Succeeded);
    info.error_information = None;
    info.rollback_info = None;
    for (response, success) in [(succeeded, true), (stopped, false)] {
        let (url, server) = respond_once(200, serde_json::to_string(&response).expect("JSON"));
        let out = aws(
            &url,
            &[
                "wait",
                "deployment-successful",
                "--deployment-id",
                "d-ROLLCALL1",
            ],
        );
        server
            .join()
            .expect("server")
            .operation(Operation::GetDeployment);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), success, "{stderr}");
        if !success {
            assert!(stderr.contains("terminal failure state"), "{stderr}");
        }
    }
}
