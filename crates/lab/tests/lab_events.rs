//! The lab's ground truth and its environments' view of AWS (issue 10, items 4 and 6), with
//! the whole lab in process: the event log records every UpdateAlias as applied; a function
//! written with an unchanged boto3 under `awslambdaric` reaches the lab's Lambda and CodeDeploy
//! APIs through the SDKs' standard endpoint variables only.

use std::path::{Path, PathBuf};

use lab::lab::Lab;
use serde_json::{Value, json};
use test_support::http::send;

fn hello_binary() -> PathBuf {
    test_support::executable(&["hello"], "hello")
}

async fn start(args: &[String]) -> Lab {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("lab starts")
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn python_with(modules: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn every_update_alias_applied_is_in_the_event_log_of_the_log_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["--alias", "live", "--weights", "1=0.9,2=0.1", "--log-dir"]
        .map(String::from)
        .to_vec();
    args.push(dir.path().join("logs").display().to_string());
    for v in ["1", "2"] {
        let code = dir.path().join(format!("v{v}"));
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(hello_binary(), code.join("bootstrap")).unwrap();
        args.extend(["--version".into(), format!("{v}={}", code.display())]);
    }
    let lab = start(&args).await;
    let path = dir.path().join("logs/events.jsonl");
    assert_eq!(
        lab.events.path(),
        Some(path.as_path()),
        "the default: in --log-dir"
    );
    let target = "/2015-03-31/functions/hello/aliases/live";
    let body =
        json!({"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}}});
    let reply = send(
        lab.lambda.local_addr(),
        "PUT",
        target,
        &[],
        body.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // A refused update (stale RevisionId) changes nothing and logs nothing.
    let stale = json!({"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.7}},
        "RevisionId": "00000000-0000-0000-0000-000000000000"});
    let reply = send(
        lab.lambda.local_addr(),
        "PUT",
        target,
        &[],
        stale.to_string(),
    )
    .await;
    assert_eq!(reply.status, 412, "{:?}", reply.body);
    let done = json!({"FunctionVersion": "2", "RoutingConfig": {"AdditionalVersionWeights": {}}});
    let reply = send(
        lab.lambda.local_addr(),
        "PUT",
        target,
        &[],
        done.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    lab.shutdown().await;

    let lines = events(&path);
    let changes: Vec<(&Value, &Value)> = lines
        .iter()
        .filter(|l| l["type"] == "routingChanged")
        .map(|l| (&l["before"], &l["after"]))
        .collect();
    assert_eq!(
        changes,
        [
            (
                &json!({"primary": "1", "additional": {"2": 0.1}}),
                &json!({"primary": "1", "additional": {"2": 0.5}})
            ),
            (
                &json!({"primary": "1", "additional": {"2": 0.5}}),
                &json!({"primary": "2", "additional": {}})
            ),
        ]
    );
    for l in &lines {
        assert_eq!(l["function"], "hello");
        assert_eq!(l["alias"], "live");
    }
    assert!(lines[0]["timeUs"].as_u64() < lines[1]["timeUs"].as_u64());
}

/// A code dir with the boto3 fixture (`tests/fixtures/boto3`).
fn boto3_code(root: &Path) -> PathBuf {
    let code = root.join("boto3");
    std::fs::create_dir_all(&code).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/boto3");
    for file in ["bootstrap", "handler.py"] {
        std::fs::copy(src.join(file), code.join(file)).unwrap();
    }
    code
}

async fn invoke(lab: &Lab, function: &str, payload: Value) -> Value {
    let target = format!("/2015-03-31/functions/{function}/invocations");
    let reply = send(
        lab.lambda.local_addr(),
        "POST",
        &target,
        &[],
        payload.to_string(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("x-amz-function-error"),
        None,
        "{:?}",
        reply.body
    );
    reply.json()
}

#[tokio::test]
async fn a_function_written_with_boto3_calls_the_lab_through_the_standard_variables() {
    if !python_with("awslambdaric, boto3") {
        eprintln!(
            "SKIPPED: python3 cannot import awslambdaric and boto3 (scripts/setup.sh installs them)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let code = boto3_code(dir.path());
    let args: Vec<String> = [
        "--function",
        "sdk",
        "--handler",
        "handler.get_alias",
        "--timeout",
        "20",
        "--alias",
        "live",
    ]
    .map(String::from)
    .into_iter()
    .chain(["--version".into(), format!("1={}", code.display())])
    .collect();
    let lab = start(&args).await;
    let seen = invoke(&lab, "sdk", json!({"function": "sdk", "alias": "live"})).await;
    let url = lab.lambda_url();
    assert_eq!(seen["functionVersion"], "1", "{seen}");
    assert_eq!(seen["lambdaEndpoint"], url.as_str());
    assert_eq!(seen["codedeployEndpoint"], url.as_str());
    assert_eq!(seen["region"], "us-east-1");
    lab.shutdown().await;
}

/// A lifecycle hook written with boto3 reports with PutLifecycleEventHookExecutionStatus: the
/// call reaches the lab's API (answered with the lab's request id), whose CodeDeploy side
/// refuses an execution id it never issued.
#[tokio::test]
async fn a_hook_written_with_boto3_reports_to_the_lab() {
    if !python_with("awslambdaric, boto3") {
        eprintln!(
            "SKIPPED: python3 cannot import awslambdaric and boto3 (scripts/setup.sh installs them)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let code = boto3_code(dir.path());
    let args: Vec<String> = [
        "--function",
        "hook",
        "--handler",
        "handler.hook",
        "--timeout",
        "20",
    ]
    .map(String::from)
    .into_iter()
    .chain(["--version".into(), format!("1={}", code.display())])
    .collect();
    let lab = start(&args).await;
    let seen = invoke(
        &lab,
        "hook",
        json!({"DeploymentId": "d-NOTISSUED", "LifecycleEventHookExecutionId": "nope"}),
    )
    .await;
    lab.shutdown().await;
    // Not a connection error (boto3 would raise, failing the invocation) nor a credentials
    // error: the lab answered, with its request id, one of CodeDeploy's refusals of a
    // deployment or execution it never issued or, where the lab does not serve CodeDeploy,
    // the Lambda API's 404 for an unknown operation.
    assert!(
        seen["requestId"].as_str().is_some_and(|r| !r.is_empty()),
        "{seen}"
    );
    let code = seen["error"].as_str().unwrap_or_default();
    assert!(
        [
            "DeploymentDoesNotExistException",
            "InvalidDeploymentIdException",
            "InvalidLifecycleEventHookExecutionIdException",
            "404"
        ]
        .contains(&code),
        "{seen}"
    );
}

#[tokio::test]
async fn a_bad_time_scale_or_alarm_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("v1");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(hello_binary(), code.join("bootstrap")).unwrap();
    let version = format!("1={}", code.display());
    let err = lab::cli::serve_config(&["--version", &version, "--time-scale", "0.5"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--time-scale") && err.contains("at least 1"),
        "{err}"
    );
    let alarm = dir.path().join("alarm.json");
    std::fs::write(&alarm, r#"{"AlarmName": "a", "EvaluationPeriods": 1}"#).unwrap();
    let alarm_arg = alarm.display().to_string();
    let config = lab::cli::serve_config(&["--version", &version, "--alarm", &alarm_arg]).unwrap();
    let err = Lab::start(&config).await.unwrap_err();
    assert_eq!(err.exit_code(), lab::exit::EXIT_USAGE);
    let message = err.to_string();
    assert!(
        message.contains(&alarm_arg) && message.contains("put-metric-alarm"),
        "{message}"
    );
}

#[tokio::test]
async fn alarms_defined_on_the_lab_are_read_through_its_alarm_source() {
    use lab::control::alarms::AlarmState;
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("v1");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(hello_binary(), code.join("bootstrap")).unwrap();
    let version = format!("1={}", code.display());
    let config = lab::cli::serve_config(&["--version", &version, "--time-scale", "60"]).unwrap();
    let lab = Lab::start(&config).await.unwrap();
    let source = lab.alarm_source();
    assert_eq!(source.state("errors"), None);
    let alarm = json!({
        "AlarmName": "errors", "Namespace": "Rollcall", "MetricName": "Errors",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
        "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold"
    });
    assert_eq!(
        lab.put_metric_alarm_json(&alarm.to_string()).unwrap(),
        "errors"
    );
    assert_eq!(source.state("errors"), Some(AlarmState::InsufficientData));
    let refused = lab
        .put_metric_alarm_json(r#"{"AlarmName": "x"}"#)
        .unwrap_err();
    assert!(
        refused.to_string().contains("put-metric-alarm"),
        "{refused}"
    );
    lab.shutdown().await;
}
