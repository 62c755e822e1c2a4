//! The lab's CodeDeploy (engine and API on the Lambda API's port) driven by the real AWS CLI
//! (`aws deploy ... --endpoint-url`): deployments of `hello:live` from version 1 to 2 with
//! predefined and custom configurations, hooks written in Python that report through the API
//! themselves, stops, alarms, rollbacks, and the bad input CodeDeploy refuses. Traffic keeps
//! flowing through the alias throughout.

#[path = "aws_cli_codedeploy/alarms.rs"]
mod alarms;
#[path = "aws_cli_codedeploy/harness.rs"]
mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use harness::{
    Aws, add_python_hook, appspec, events, finished, hello_lab, revision, serves_only, traffic,
};
use rollout::deployment::RoutingCause;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linear_deployment_with_a_passing_hook_ends_on_the_target_version() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    add_python_hook(&lab, dir.path(), "pre-traffic-ok", "Succeeded");
    // One minute is half a second: 25 % steps every 0.5 s; the hook timeout is 30 s.
    lab.deployments.set_time_scale(120.0).unwrap();
    let aws = Aws::new(&lab);

    let created = aws
        .deploy(&[
            "create-deployment-config",
            "--deployment-config-name",
            "Linear25Every1",
            "--compute-platform",
            "Lambda",
            "--traffic-routing-config",
            "type=TimeBasedLinear,timeBasedLinear={linearPercentage=25,linearInterval=1}",
        ])
        .await;
    assert!(created["deploymentConfigId"].is_string(), "{created}");
    let config = aws
        .deploy(&[
            "get-deployment-config",
            "--deployment-config-name",
            "Linear25Every1",
        ])
        .await;
    let info = &config["deploymentConfigInfo"];
    assert_eq!(info["computePlatform"], "Lambda", "{config}");
    assert_eq!(
        info["trafficRoutingConfig"]["timeBasedLinear"]["linearPercentage"], 25,
        "{config}"
    );
    let predefined = aws
        .deploy(&[
            "get-deployment-config",
            "--deployment-config-name",
            "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        ])
        .await;
    assert_eq!(
        predefined["deploymentConfigInfo"]["trafficRoutingConfig"]["type"], "TimeBasedCanary",
        "{predefined}"
    );

    aws.group("hello-app", "hello-live", "Linear25Every1", &[])
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let flow = {
        let lab = &lab;
        let stop = Arc::clone(&stop);
        async move { traffic(lab, stop).await }
    };
    let deploy = async {
        let spec = appspec("1", "2", Some("pre-traffic-ok"), None);
        let id = aws
            .create_deployment("hello-app", "hello-live", &spec)
            .await;
        let running = finished(&lab, &id).await;
        stop.store(true, Ordering::SeqCst);
        (id, running)
    };
    let ((counts, failures), (id, running)) = tokio::join!(flow, deploy);
    assert!(failures.is_empty(), "traffic failed: {failures:?}");
    assert!(counts.values().sum::<u64>() > 0, "{counts:?}");

    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Succeeded", "{info}");
    assert_eq!(info["deploymentOverview"]["Succeeded"], 1, "{info}");
    assert_eq!(info["deploymentConfigName"], "Linear25Every1", "{info}");
    serves_only(&aws.alias().await, "2");

    let changes = running.weight_changes();
    let shares: Vec<f64> = changes
        .iter()
        .map(|c| match c.cause {
            RoutingCause::Step { share, .. } => share,
            RoutingCause::Rollback => -1.0,
        })
        .collect();
    assert_eq!(shares, [0.25, 0.5, 0.75, 1.0], "{changes:?}");
    let hook_event = running.deployment().lifecycle_events()[0].clone();
    let first = changes[0].applied;
    assert!(
        hook_event.end_time.is_some_and(|end| end <= first),
        "no traffic before BeforeAllowTraffic succeeded: {hook_event:?}, first shift at {first:?}"
    );
    for c in &changes {
        assert!(
            c.lateness().is_some(),
            "every step has its schedule instant: {c:?}"
        );
    }

    let listed = aws
        .deploy(&[
            "list-deployments",
            "--application-name",
            "hello-app",
            "--deployment-group-name",
            "hello-live",
            "--include-only-statuses",
            "Succeeded",
        ])
        .await;
    assert_eq!(listed["deployments"], serde_json::json!([id]), "{listed}");
    lab.shutdown().await;

    // The event log: the hook's invocation and result before the first shift, each step as
    // applied, and the final status with the alias's routing.
    let log: Vec<Value> = events(dir.path())
        .into_iter()
        .filter(|e| e["deploymentId"] == id.as_str() || e["type"] == "routingChanged")
        .collect();
    let kinds: Vec<&str> = log.iter().filter_map(|e| e["type"].as_str()).collect();
    let position = |kind: &str| kinds.iter().position(|k| *k == kind);
    assert_eq!(
        kinds.iter().filter(|k| **k == "routingChanged").count(),
        4,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "deploymentProgress").count(),
        4,
        "{kinds:?}"
    );
    assert!(
        position("hookInvoked") < position("hookResult")
            && position("hookResult") < position("routingChanged"),
        "{kinds:?}"
    );
    let last = log.last().expect("events");
    assert_eq!(last["type"], "deploymentStatus", "{last}");
    assert_eq!(last["status"], "Succeeded", "{last}");
    assert_eq!(last["routing"]["primary"], "2", "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_with_rollback_puts_the_alias_back_at_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    let aws = Aws::new(&lab);
    aws.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
        &[],
    )
    .await;
    // The hook is `hello` itself, which never reports: the test reports for it with the CLI.
    let spec = appspec("1", "2", Some("hello"), None);
    let id = aws
        .create_deployment("hello-app", "hello-live", &spec)
        .await;
    serves_only(&aws.alias().await, "1");
    let running = lab.deployments.deployment(&id).unwrap();
    let execution_id = running.deployment().lifecycle_events()[0]
        .hook
        .as_ref()
        .expect("BeforeAllowTraffic runs its hook")
        .execution_id
        .clone();
    let reported = aws
        .deploy(&[
            "put-lifecycle-event-hook-execution-status",
            "--deployment-id",
            &id,
            "--lifecycle-event-hook-execution-id",
            &execution_id,
            "--status",
            "Succeeded",
        ])
        .await;
    assert_eq!(
        reported["lifecycleEventHookExecutionId"],
        execution_id.as_str()
    );
    let alias = aws.alias().await;
    assert_eq!(alias["FunctionVersion"], "1", "{alias}");
    assert_eq!(
        alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.1,
        "the first step is applied when the hook succeeds: {alias}"
    );
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "InProgress", "{info}");
    let targets = aws
        .deploy(&["list-deployment-targets", "--deployment-id", &id])
        .await;
    assert_eq!(
        targets["targetIds"],
        serde_json::json!(["hello:live"]),
        "{targets}"
    );
    let target = aws
        .deploy(&[
            "get-deployment-target",
            "--deployment-id",
            &id,
            "--target-id",
            "hello:live",
        ])
        .await;
    let lambda = &target["deploymentTarget"]["lambdaTarget"];
    assert_eq!(lambda["status"], "InProgress", "{target}");
    assert_eq!(
        lambda["lambdaFunctionInfo"]["targetVersionWeight"], 10.0,
        "{target}"
    );

    let stopped = aws
        .deploy(&[
            "stop-deployment",
            "--deployment-id",
            &id,
            "--auto-rollback-enabled",
        ])
        .await;
    assert_eq!(stopped["status"], "Succeeded", "{stopped}");
    finished(&lab, &id).await;
    serves_only(&aws.alias().await, "1");
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Stopped", "{info}");
    assert_eq!(info["errorInformation"]["code"], "MANUAL_STOP", "{info}");
    assert!(
        info["rollbackInfo"]["rollbackMessage"].is_string(),
        "{info}"
    );

    // Stopping it again: it is finished.
    let (code, message) = aws
        .deploy_error(&["stop-deployment", "--deployment-id", &id])
        .await;
    assert_eq!(code, "DeploymentAlreadyCompletedException", "{message}");
    assert!(message.contains(&id), "{message}");
    // A new deployment of the alias may start now.
    let again = aws
        .create_deployment("hello-app", "hello-live", &appspec("1", "2", None, None))
        .await;
    assert_ne!(again, id);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_reporting_failed_rolls_the_alias_back() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    add_python_hook(&lab, dir.path(), "post-traffic-fails", "Failed");
    lab.deployments.set_time_scale(120.0).unwrap();
    let aws = Aws::new(&lab);
    aws.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaAllAtOnce",
        &[],
    )
    .await;
    let spec = appspec("1", "2", None, Some("post-traffic-fails"));
    let id = aws
        .create_deployment("hello-app", "hello-live", &spec)
        .await;
    let running = finished(&lab, &id).await;
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Failed", "{info}");
    assert_eq!(
        info["errorInformation"]["code"], "HOOK_EXECUTION_FAILURE",
        "{info}"
    );
    let message = info["errorInformation"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("post-traffic-fails"), "{info}");
    serves_only(&aws.alias().await, "1");
    let causes: Vec<RoutingCause> = running.weight_changes().iter().map(|c| c.cause).collect();
    assert_eq!(
        causes,
        [
            RoutingCause::Step {
                index: 0,
                share: 1.0
            },
            RoutingCause::Rollback
        ]
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_crashes_or_never_reports_fails_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    add_python_hook(&lab, dir.path(), "pre-traffic-crashes", "raise");
    let aws = Aws::new(&lab);
    aws.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaAllAtOnce",
        &[],
    )
    .await;
    for (hook, time_scale, needle) in [
        // A crash fails the event at once (the hook limit is 30 s here).
        (
            "pre-traffic-crashes",
            120.0,
            "pre-traffic-crashes reported Failed",
        ),
        // `hello` answers its invocation but never reports: the one-hour limit is one second.
        ("hello", 3600.0, "did not report"),
    ] {
        lab.deployments.set_time_scale(time_scale).unwrap();
        let spec = appspec("1", "2", Some(hook), None);
        let id = aws
            .create_deployment("hello-app", "hello-live", &spec)
            .await;
        let running = finished(&lab, &id).await;
        let info = aws.get_deployment(&id).await;
        assert_eq!(info["status"], "Failed", "{hook}: {info}");
        assert_eq!(
            info["errorInformation"]["code"], "HOOK_EXECUTION_FAILURE",
            "{info}"
        );
        let message = info["errorInformation"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(needle), "{hook}: {info}");
        assert!(
            running.weight_changes().is_empty(),
            "no traffic before BeforeAllowTraffic succeeds: {:?}",
            running.weight_changes()
        );
        serves_only(&aws.alias().await, "1");
    }
    lab.shutdown().await;
    // The event log gives the lab's verdict on each hook, with why.
    let results: Vec<Value> = events(dir.path())
        .into_iter()
        .filter(|e| e["type"] == "hookResult")
        .collect();
    let reasons: Vec<&str> = results
        .iter()
        .map(|e| {
            assert_eq!(e["status"], "Failed", "{e}");
            e["reason"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{results:?}");
    assert!(reasons[0].contains("crashed"), "{reasons:?}");
    assert!(reasons[1].contains("did not report"), "{reasons:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_as_codedeploy_refuses_it_and_traffic_keeps_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    let aws = Aws::new(&lab);
    let slow = "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes";
    aws.group("hello-app", "hello-live", slow, &[]).await;
    aws.group("hello-app", "hello-other", slow, &[]).await;
    let create = |spec: String, group: &'static str| {
        let aws = &aws;
        async move {
            let rev = revision(&spec);
            aws.deploy_error(&[
                "create-deployment",
                "--application-name",
                "hello-app",
                "--deployment-group-name",
                group,
                "--revision",
                &rev,
            ])
            .await
        }
    };
    let cases = [
        (
            appspec("1", "7", None, None),
            "InvalidRevisionException",
            "\"7\"",
        ),
        (
            appspec("2", "2", None, None),
            "InvalidRevisionException",
            "CurrentVersion and TargetVersion",
        ),
        (
            appspec("1", "2", Some("no-such-hook"), None),
            "InvalidRevisionException",
            "no-such-hook",
        ),
        (
            "{not: [yaml".to_owned(),
            "InvalidRevisionException",
            "YAML or JSON",
        ),
        (
            appspec("1", "2", None, None).replace("\"Alias\":\"live\",", ""),
            "InvalidRevisionException",
            "Alias",
        ),
    ];
    for (spec, expected, needle) in cases {
        let (code, message) = create(spec.clone(), "hello-live").await;
        assert_eq!(code, expected, "{spec}: {message}");
        assert!(message.contains(needle), "{spec}: {message}");
    }
    let (code, message) = aws
        .deploy_error(&[
            "create-deployment-group",
            "--application-name",
            "hello-app",
            "--deployment-group-name",
            "hello-typo",
            "--deployment-config-name",
            "CodeDeployDefault.LambdaLinear10PercentEvery4Minutes",
            "--service-role-arn",
            "arn:aws:iam::123456789012:role/cd",
        ])
        .await;
    assert_eq!(code, "DeploymentConfigDoesNotExistException", "{message}");
    assert!(message.contains("Every4Minutes"), "{message}");
    let (code, message) = aws
        .deploy_error(&[
            "create-deployment",
            "--application-name",
            "hello-app",
            "--deployment-group-name",
            "hello-live",
            "--deployment-config-name",
            "NoSuchConfig",
            "--revision",
            &revision(&appspec("1", "2", None, None)),
        ])
        .await;
    assert_eq!(code, "DeploymentConfigDoesNotExistException", "{message}");
    serves_only(&aws.alias().await, "1");

    // One deployment per alias at a time.
    let id = aws
        .create_deployment("hello-app", "hello-live", &appspec("1", "2", None, None))
        .await;
    let (code, message) = create(appspec("1", "2", None, None), "hello-live").await;
    assert_eq!(code, "DeploymentLimitExceededException", "{message}");
    assert!(message.contains(&id), "{message}");
    let (code, message) = create(appspec("1", "2", None, None), "hello-other").await;
    assert_eq!(code, "DeploymentAlreadyStartedException", "{message}");
    assert!(
        message.contains(&id) && message.contains("hello:live"),
        "{message}"
    );

    // Hook reports for an execution the deployment does not have, or a deployment that does
    // not exist.
    let (code, message) = aws
        .deploy_error(&[
            "put-lifecycle-event-hook-execution-status",
            "--deployment-id",
            &id,
            "--lifecycle-event-hook-execution-id",
            "not-an-execution",
            "--status",
            "Succeeded",
        ])
        .await;
    assert_eq!(
        code, "InvalidLifecycleEventHookExecutionIdException",
        "{message}"
    );
    assert!(message.contains("not-an-execution"), "{message}");
    let (code, _) = aws
        .deploy_error(&["get-deployment", "--deployment-id", "d-NOSUCH000"])
        .await;
    assert_eq!(code, "DeploymentDoesNotExistException");

    // Through all of it the alias kept serving, at the running deployment's first step.
    let (counts, failures) = {
        let stop = Arc::new(AtomicBool::new(false));
        let flow = traffic(&lab, Arc::clone(&stop));
        let stopper = async {
            tokio::task::yield_now().await;
            aws.deploy(&[
                "stop-deployment",
                "--deployment-id",
                &id,
                "--auto-rollback-enabled",
            ])
            .await;
            stop.store(true, Ordering::SeqCst);
        };
        tokio::join!(flow, stopper).0
    };
    assert!(failures.is_empty(), "{failures:?}");
    assert!(counts.values().sum::<u64>() > 0, "{counts:?}");
    finished(&lab, &id).await;
    serves_only(&aws.alias().await, "1");
    let listed = aws.deploy(&["list-deployments"]).await;
    assert_eq!(listed["deployments"], serde_json::json!([id]), "{listed}");
    lab.shutdown().await;
}
