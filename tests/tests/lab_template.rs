//! The lab runs the repository's own SAM template (`rollcall-lab serve --template`), as `sam
//! build` lays it out, through the real SAM translator; `rollcall-lab deploy` updates the
//! stack as CloudFormation and CodeDeploy would (a new version shifted by the deployment
//! preference, an alarm rolling a bad release back); the real AWS CLI reads the stack.

#[path = "lab_template/support.rs"]
mod support;

use std::time::{Duration, Instant};

use rollcall_e2e::tool::AWS_CLI;
use serde_json::Value;
use support::{Lab, Project, get};

/// The stack's name in samconfig.toml.
const STACK: &str = "rollcall-demo";
/// The template's function that has the rollcall layer.
const HELLO: &str = "HelloFunction";

/// `aws <service> <args> --endpoint-url <lab>`: its JSON output.
fn aws(lab: &Lab, service: &str, args: &[&str]) -> Value {
    let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    let out = rollcall_e2e::tool::aws_command(&program, service, &lab.lambda_url())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {service} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The stack as DescribeStacks gives it.
fn stack(lab: &Lab) -> Value {
    aws(
        lab,
        "cloudformation",
        &["describe-stacks", "--stack-name", STACK],
    )["Stacks"][0]
        .clone()
}

fn output(stack: &Value, key: &str) -> String {
    stack["Outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OutputKey"] == key)
        .unwrap_or_else(|| panic!("no output {key} in {stack}"))["OutputValue"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The physical name of `logical_id`.
fn physical(lab: &Lab, logical_id: &str) -> String {
    let r = aws(
        lab,
        "cloudformation",
        &[
            "describe-stack-resource",
            "--stack-name",
            STACK,
            "--logical-resource-id",
            logical_id,
        ],
    );
    r["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn alias_version(lab: &Lab, function: &str) -> String {
    let alias = aws(
        lab,
        "lambda",
        &["get-alias", "--function-name", function, "--name", "live"],
    );
    alias["FunctionVersion"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_runs_as_a_stack_behind_both_apis() {
    let project = Project::built();
    let lab = project.serve(&[]);
    let stack = stack(&lab);
    assert_eq!(stack["StackStatus"], "CREATE_COMPLETE", "{stack}");
    let function = output(&stack, "HelloFunctionName");
    assert!(
        function.starts_with("rollcall-demo-HelloFunction-"),
        "CloudFormation's physical name: {function}"
    );
    assert_eq!(physical(&lab, HELLO), function);
    assert_eq!(alias_version(&lab, &function), "1");
    // The HTTP API's route (payload 2.0) reaches version 1 through the alias, tagged by the
    // layer's extension.
    let reply = get(&lab, "/hello").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("x-rollcall-version"), Some("1"));
    // The REST API's route (payload 1.0) under its stage, tagged too.
    let reply = get(&lab, "/Prod/hello").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("x-rollcall-version"), Some("1"));
    // The Python function behind the layer's exec wrapper (awslambdaric), tagged by the same
    // extension.
    let reply = get(&lab, "/hello-python").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("x-rollcall-version"), Some("1"));
    // The function URL the stack's output names answers on any path.
    let url = output(&stack, "FunctionUrl");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let reply = test_support::http::send(addr, "GET", "/anything", &[], bytes::Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("x-rollcall-version"), Some("1"));
    let config = aws(
        &lab,
        "lambda",
        &["get-function-configuration", "--function-name", &function],
    );
    assert_eq!(config["Layers"].as_array().unwrap().len(), 1, "{config}");
    // The alarms are the template's, on the new version's metrics.
    let resources = aws(
        &lab,
        "cloudformation",
        &["describe-stack-resources", "--stack-name", STACK],
    );
    let types: Vec<&str> = resources["StackResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ResourceType"].as_str().unwrap())
        .collect();
    for t in [
        "AWS::Lambda::Function",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::Lambda::LayerVersion",
        "AWS::CodeDeploy::DeploymentGroup",
        "AWS::CloudWatch::Alarm",
        "AWS::ApiGatewayV2::Api",
    ] {
        assert!(types.contains(&t), "no {t} in {types:?}");
    }
    // The stack's CodeDeploy application and group, as the AWS CLI reads them.
    let application = physical(&lab, "ServerlessDeploymentApplication");
    let app = aws(
        &lab,
        "deploy",
        &["get-application", "--application-name", &application],
    );
    assert_eq!(app["application"]["applicationName"], application.as_str());
    assert_eq!(app["application"]["computePlatform"], "Lambda");
    let group = physical(&lab, "HelloFunctionDeploymentGroup");
    let info = aws(
        &lab,
        "deploy",
        &[
            "get-deployment-group",
            "--application-name",
            &application,
            "--deployment-group-name",
            &group,
        ],
    );
    let alarms = &info["deploymentGroupInfo"]["alarmConfiguration"]["alarms"];
    assert_eq!(alarms.as_array().map(Vec::len), Some(2), "{info}");
    let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    let missing = rollcall_e2e::tool::aws_command(&program, "deploy", &lab.lambda_url())
        .args(["get-application", "--application-name", "no-such-app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && stderr.contains("ApplicationDoesNotExistException"),
        "{stderr}"
    );
    let out = lab.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not emulated") && stdout.contains("AWS::IAM::Role"),
        "the banner lists what the lab does not run: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_shifts_the_new_version_through_codedeploy() {
    let project = Project::built();
    let lab = project.serve(&["--time-scale", "60"]);
    let function = physical(&lab, HELLO);
    // Unchanged: nothing to do.
    let same = project.deploy(&lab, &[]);
    assert!(
        same.status.success(),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(
        String::from_utf8_lossy(&same.stdout).contains("No changes to deploy"),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    // A literal change publishes version 2; the deployment preference shifts it.
    project.set_variable(HELLO, "HELLO_LATENCY_MS", "1");
    let deployed = project.deploy(
        &lab,
        &[
            "--parameter-overrides",
            "DeploymentType=Linear10PercentEvery1Minute",
        ],
    );
    let stdout = String::from_utf8_lossy(&deployed.stdout);
    assert!(
        deployed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    assert!(stdout.contains("CodeDeploy deployment"), "{stdout}");
    assert!(stdout.contains("UPDATE_COMPLETE"), "{stdout}");
    assert_eq!(alias_version(&lab, &function), "2");
    assert_eq!(stack(&lab)["StackStatus"], "UPDATE_COMPLETE");
    let reply = get(&lab, "/hello").await;
    assert_eq!(reply.header("x-rollcall-version"), Some("2"));
    let config = aws(
        &lab,
        "lambda",
        &[
            "get-function-configuration",
            "--function-name",
            &function,
            "--qualifier",
            "2",
        ],
    );
    assert_eq!(config["Environment"]["Variables"]["HELLO_LATENCY_MS"], "1");
    // The shift went through CodeDeploy's linear steps (the lab's event log).
    let events = std::fs::read_to_string(project.dir.path().join("logs/events.jsonl")).unwrap();
    let changes = events
        .lines()
        .filter(|l| l.contains("\"routingChanged\""))
        .count();
    assert!(changes >= 10, "{changes} routing changes: {events}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_release_is_rolled_back_by_the_templates_alarm() {
    let project = Project::built();
    // Metrics flushed well within a time-scaled alarm period.
    project.set_variable(HELLO, "ROLLCALL_FLUSH_INTERVAL", "100ms");
    let lab = project.serve(&["--time-scale", "60"]);
    let function = physical(&lab, HELLO);
    project.set_variable(HELLO, "HELLO_FAIL_RATE", "1");
    let traffic = {
        let api = lab.api_url();
        tokio::spawn(async move {
            let addr = api.trim_start_matches("http://").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                test_support::http::send(addr, "GET", "/hello", &[], bytes::Bytes::new()).await;
            }
        })
    };
    let deployed = project.deploy(
        &lab,
        &[
            "--parameter-overrides",
            "DeploymentType=Linear10PercentEvery2Minutes",
        ],
    );
    traffic.abort();
    let stdout = String::from_utf8_lossy(&deployed.stdout);
    assert_eq!(
        deployed.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    assert!(
        stdout.contains("UPDATE_ROLLBACK_COMPLETE") || stdout.contains("UPDATE_ROLLBACK"),
        "{stdout}"
    );
    let stack = stack(&lab);
    assert_eq!(stack["StackStatus"], "UPDATE_ROLLBACK_COMPLETE", "{stack}");
    assert_eq!(alias_version(&lab, &function), "1");
    let latest = aws(
        &lab,
        "lambda",
        &["get-function-configuration", "--function-name", &function],
    );
    assert_eq!(
        latest["Environment"]["Variables"]["HELLO_FAIL_RATE"], "0",
        "the rollback put $LATEST back: {latest}"
    );
}

#[test]
fn templates_the_lab_refuses_name_the_resource_and_the_fix() {
    let project = Project::built();
    let refused = |args: &[&str]| {
        let out = project.serve_refused(args);
        assert_eq!(out.status.code(), Some(64), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = refused(&["--parameter-overrides", "DeploymentType=Nope"]);
    assert!(e.contains("DeploymentType") && e.contains("Nope"), "{e}");
    let e = refused(&["--parameter-overrides", "MetricsNamespace=AWS/Lambda"]);
    assert!(e.contains("MetricsNamespace"), "{e}");
    let original = project.build();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut t = original.clone();
        f(&mut t);
        project.write_build(&t);
    };
    edit(&|t| {
        t["Resources"][HELLO]["Properties"]["DeploymentPreference"]["Type"] =
            "Linear7PercentEvery1Minute".into()
    });
    let e = refused(&[]);
    assert!(
        e.contains(HELLO) && e.contains("Linear7PercentEvery1Minute"),
        "{e}"
    );
    edit(&|t| {
        t["Resources"][HELLO]["Properties"]
            .as_object_mut()
            .unwrap()
            .remove("AutoPublishAlias");
    });
    let e = refused(&[]);
    assert!(e.contains(HELLO) && e.contains("AutoPublishAlias"), "{e}");
    edit(&|t| t["Resources"][HELLO]["Properties"]["CodeUri"] = "NoSuchDir".into());
    let e = refused(&[]);
    assert!(e.contains(HELLO) && e.contains("NoSuchDir"), "{e}");
    edit(&|t| {
        t["Resources"][HELLO]["Properties"]["DeploymentPreference"]["Alarms"][0] =
            serde_json::json!({"Ref": "NoSuchAlarm"});
    });
    let e = refused(&[]);
    assert!(e.contains("NoSuchAlarm"), "{e}");
    edit(&|t| {
        t["Resources"]["NewVersionLatencyAlarm"]["Properties"]["Threshold"] =
            serde_json::json!({"Fn::GetAtt": [HELLO, "NoSuchAttribute"]});
    });
    let e = refused(&[]);
    assert!(
        e.contains("NewVersionLatencyAlarm") && e.contains("NoSuchAttribute"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_while_the_stack_updates_is_refused_as_cloudformation_refuses_it() {
    let project = Project::built();
    let lab = project.serve(&["--time-scale", "60"]);
    project.set_variable(HELLO, "HELLO_LATENCY_MS", "1");
    // A canary that holds 10 % for 30 (time-scaled) minutes: the update runs for 30 s.
    let mut slow = std::process::Command::new(support::exe("rollcall-lab"))
        .arg("deploy")
        .arg("--template")
        .arg(project.template())
        .arg("--endpoint-url")
        .arg(lab.lambda_url())
        .args([
            "--parameter-overrides",
            "DeploymentType=Canary10Percent30Minutes",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack(&lab)["StackStatus"] != "UPDATE_IN_PROGRESS" {
        assert!(Instant::now() < deadline, "the first deploy never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    project.set_variable(HELLO, "HELLO_LATENCY_MS", "2");
    let second = project.deploy(&lab, &[]);
    let _ = slow.kill();
    let _ = slow.wait();
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("is in UPDATE_IN_PROGRESS state and can not be updated"),
        "{stderr}"
    );
}
