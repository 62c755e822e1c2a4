//! The lab's CloudFormation Query API (on the Lambda API's port) read by the real AWS CLI
//! (`aws cloudformation ... --endpoint-url`), by SAM CLI (`sam list stack-outputs` with
//! `AWS_ENDPOINT_URL_CLOUDFORMATION`) and by boto3: DescribeStacks, DescribeStackResources,
//! DescribeStackResource, ListStackResources and DescribeStackEvents (both paged by the lab),
//! GetTemplate, ListStacks, and the errors CloudFormation answers.
//!
//! The stack is written into `lab.stacks` directly, as the stack engine would write it: the
//! engine (`rollcall-lab serve --template`) comes with the lead's part of the SAM issue, which
//! adds its end-to-end test through `rollcall-lab deploy`.

use std::path::{Path, PathBuf};
use std::process::Output;

use lab::control::stacks::{
    NewStack, ResourceStatus, StackOutput, StackParameter, StackStatus, Stacks,
};
use lab::lab::Lab;
use rollcall_e2e::tool::{AWS_CLI, SAM_CLI};
use serde_json::Value;

const STACK: &str = "rollcall-demo";
/// More resources and events than one page of ListStackResources and DescribeStackEvents (100).
const FILLERS: usize = 110;
const ORIGINAL: &str = "Transform: AWS::Serverless-2016-10-31\nResources: {}\n";
const PROCESSED: &str = r#"{"Resources": {"HelloFunction": {"Type": "AWS::Lambda::Function"}}}"#;
/// An output value with characters XML must escape.
const ENDPOINT: &str = "http://127.0.0.1:9000/hello?a=1&b=<2>";

/// A lab with one function (the stack's resources need not exist in its registry).
async fn lab(dir: &Path) -> Lab {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let code = dir.join("1");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(&testfn, code.join("bootstrap")).unwrap();
    let version = format!("1={}", code.display());
    let args = ["--function", "hello", "--version", &version, "--seed", "3"];
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("the lab starts")
}

/// The stack a first deploy and an update leave: created, then updated, with its parameters,
/// outputs, the function, its alias and [`FILLERS`] topics. Returns its id.
fn deployed_stack(stacks: &Stacks) -> String {
    let id = stacks
        .create(NewStack {
            name: STACK.into(),
            description: Some("Rollcall demo & friends".into()),
            parameters: vec![StackParameter {
                key: "Stage".into(),
                value: "dev".into(),
            }],
            capabilities: vec!["CAPABILITY_IAM".into(), "CAPABILITY_AUTO_EXPAND".into()],
            template_original: ORIGINAL.into(),
            template_processed: PROCESSED.into(),
        })
        .unwrap();
    let resource = |logical: &str, physical: &str, kind: &str, status| {
        stacks
            .set_resource_status(STACK, logical, Some(physical), kind, status, None)
            .unwrap();
    };
    resource(
        "HelloFunction",
        "rollcall-demo-HelloFunction",
        "AWS::Lambda::Function",
        ResourceStatus::CreateComplete,
    );
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:rollcall-demo-HelloFunction:live";
    resource(
        "HelloFunctionAliaslive",
        alias,
        "AWS::Lambda::Alias",
        ResourceStatus::CreateComplete,
    );
    for i in 0..FILLERS {
        resource(
            &format!("Topic{i:03}"),
            &format!("topic-{i}"),
            "AWS::SNS::Topic",
            ResourceStatus::CreateComplete,
        );
    }
    stacks
        .set_stack_status(STACK, StackStatus::CreateComplete, None)
        .unwrap();
    stacks.begin_update(STACK).unwrap();
    resource(
        "HelloFunctionAliaslive",
        alias,
        "AWS::Lambda::Alias",
        ResourceStatus::UpdateComplete,
    );
    stacks
        .set_outputs(
            STACK,
            vec![
                StackOutput {
                    key: "HelloApi".into(),
                    value: ENDPOINT.into(),
                    description: Some("The HTTP API's URL".into()),
                    export_name: Some("rollcall-demo-api".into()),
                },
                StackOutput {
                    key: "HelloAlias".into(),
                    value: alias.into(),
                    description: None,
                    export_name: None,
                },
            ],
        )
        .unwrap();
    stacks
        .set_stack_status(STACK, StackStatus::UpdateComplete, None)
        .unwrap();
    id
}

/// The AWS CLI pointed at the lab, with throwaway credentials and no user configuration.
struct Aws {
    program: PathBuf,
    endpoint: String,
}

impl Aws {
    fn new(lab: &Lab) -> Self {
        Self {
            program: AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}")),
            endpoint: lab.lambda_url(),
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::from(rollcall_e2e::tool::aws_command(
            &self.program,
            "cloudformation",
            &self.endpoint,
        ))
        .args(args)
        .args(["--output", "json"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()))
    }

    /// The JSON output of a call that must succeed.
    async fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "aws cloudformation {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// The exit code and standard error of a call that must fail.
    async fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args).await;
        assert!(
            !out.status.success(),
            "aws cloudformation {args:?} should fail"
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_stacks_shows_the_status_parameters_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(dir.path()).await;
    let id = deployed_stack(&lab.stacks);
    let aws = Aws::new(&lab);

    let described = aws.ok(&["describe-stacks", "--stack-name", STACK]).await;
    let stack = &described["Stacks"][0];
    assert_eq!(
        described["Stacks"].as_array().unwrap().len(),
        1,
        "{described}"
    );
    assert_eq!(stack["StackName"], STACK, "{stack}");
    assert_eq!(stack["StackId"], id.as_str(), "{stack}");
    assert_eq!(stack["StackStatus"], "UPDATE_COMPLETE", "{stack}");
    assert_eq!(stack["Description"], "Rollcall demo & friends", "{stack}");
    assert_eq!(
        stack["Parameters"],
        serde_json::json!([{"ParameterKey": "Stage", "ParameterValue": "dev"}])
    );
    assert_eq!(
        stack["Capabilities"],
        serde_json::json!(["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    );
    let created = stack["CreationTime"].as_str().unwrap();
    let updated = stack["LastUpdatedTime"].as_str().unwrap();
    assert!(created <= updated, "{created} then {updated}");

    // By its id too, and the outputs alone as a user queries them.
    let outputs = aws
        .ok(&[
            "describe-stacks",
            "--stack-name",
            &id,
            "--query",
            "Stacks[0].Outputs",
        ])
        .await;
    assert_eq!(
        outputs[0],
        serde_json::json!({
            "OutputKey": "HelloApi",
            "OutputValue": ENDPOINT,
            "Description": "The HTTP API's URL",
            "ExportName": "rollcall-demo-api",
        })
    );
    assert_eq!(outputs[1]["OutputKey"], "HelloAlias", "{outputs}");
    assert!(outputs[1].get("Description").is_none(), "{outputs}");

    let all = aws.ok(&["describe-stacks"]).await;
    assert_eq!(all["Stacks"][0]["StackId"], id.as_str(), "{all}");

    let listed = aws
        .ok(&[
            "list-stacks",
            "--stack-status-filter",
            "UPDATE_COMPLETE",
            "CREATE_COMPLETE",
        ])
        .await;
    assert_eq!(listed["StackSummaries"][0]["StackName"], STACK, "{listed}");
    assert_eq!(
        listed["StackSummaries"][0]["TemplateDescription"],
        "Rollcall demo & friends"
    );
    let none = aws
        .ok(&["list-stacks", "--stack-status-filter", "CREATE_FAILED"])
        .await;
    assert_eq!(none["StackSummaries"], serde_json::json!([]), "{none}");

    let original = aws.ok(&["get-template", "--stack-name", STACK]).await;
    assert_eq!(original["TemplateBody"], ORIGINAL, "{original}");
    assert_eq!(
        original["StagesAvailable"],
        serde_json::json!(["Original", "Processed"])
    );
    // The AWS CLI decodes a JSON template into an object.
    let processed = aws
        .ok(&[
            "get-template",
            "--stack-name",
            STACK,
            "--template-stage",
            "Processed",
        ])
        .await;
    assert_eq!(
        processed["TemplateBody"],
        serde_json::from_str::<Value>(PROCESSED).unwrap()
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_events_are_listed_across_the_lab_s_pages() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(dir.path()).await;
    let id = deployed_stack(&lab.stacks);
    let stack = lab.stacks.get(STACK).unwrap();
    let aws = Aws::new(&lab);

    let alias = aws
        .ok(&[
            "describe-stack-resources",
            "--stack-name",
            STACK,
            "--logical-resource-id",
            "HelloFunctionAliaslive",
        ])
        .await;
    let resources = alias["StackResources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{alias}");
    assert_eq!(resources[0]["ResourceType"], "AWS::Lambda::Alias");
    assert_eq!(resources[0]["ResourceStatus"], "UPDATE_COMPLETE");
    assert_eq!(resources[0]["StackId"], id.as_str());
    let by_physical = aws
        .ok(&[
            "describe-stack-resources",
            "--physical-resource-id",
            "topic-7",
        ])
        .await;
    assert_eq!(
        by_physical["StackResources"][0]["LogicalResourceId"],
        "Topic007"
    );
    assert_eq!(by_physical["StackResources"][0]["StackName"], STACK);

    let detail = aws
        .ok(&[
            "describe-stack-resource",
            "--stack-name",
            STACK,
            "--logical-resource-id",
            "HelloFunction",
        ])
        .await;
    let detail = &detail["StackResourceDetail"];
    assert_eq!(
        detail["PhysicalResourceId"], "rollcall-demo-HelloFunction",
        "{detail}"
    );
    assert_eq!(detail["ResourceStatus"], "CREATE_COMPLETE", "{detail}");

    // The CLI follows the lab's NextToken through every page.
    let listed = aws
        .ok(&["list-stack-resources", "--stack-name", STACK])
        .await;
    let logical: Vec<&str> = listed["StackResourceSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["LogicalResourceId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = stack.resources.keys().map(String::as_str).collect();
    assert_eq!(logical, expected, "every resource once, in order");
    assert!(expected.len() > 100, "more than one page");
    // And a user's own paging resumes where it stopped.
    let first = aws
        .ok(&[
            "list-stack-resources",
            "--stack-name",
            STACK,
            "--max-items",
            "5",
        ])
        .await;
    assert_eq!(first["StackResourceSummaries"].as_array().unwrap().len(), 5);
    let token = first["NextToken"]
        .as_str()
        .expect("a NextToken after 5 items");
    let rest = aws
        .ok(&[
            "list-stack-resources",
            "--stack-name",
            STACK,
            "--starting-token",
            token,
        ])
        .await;
    assert_eq!(
        rest["StackResourceSummaries"][0]["LogicalResourceId"], expected[5],
        "{rest}"
    );

    let events = aws
        .ok(&["describe-stack-events", "--stack-name", STACK])
        .await;
    let events = events["StackEvents"].as_array().unwrap();
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["EventId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = stack
        .events_newest_first()
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(ids, expected, "every event once, newest first");
    assert!(expected.len() > 100, "more than one page");
    assert_eq!(events[0]["ResourceStatus"], "UPDATE_COMPLETE");
    assert_eq!(events[0]["LogicalResourceId"], STACK);
    assert_eq!(events[0]["ResourceType"], "AWS::CloudFormation::Stack");
    let last = events.last().unwrap();
    assert_eq!(last["ResourceStatus"], "CREATE_IN_PROGRESS");
    assert_eq!(last["ResourceStatusReason"], "User Initiated");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_cloudformation_s() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(dir.path()).await;
    deployed_stack(&lab.stacks);
    let aws = Aws::new(&lab);

    let (code, stderr) = aws
        .fails(&["describe-stacks", "--stack-name", "nope"])
        .await;
    // AWS CLI v1 (the pinned one) exits 255 on a service error (v2: 254).
    assert_eq!(code, 255, "a service error: {stderr}");
    assert!(
        stderr.contains(
            "An error occurred (ValidationError) when calling the DescribeStacks operation: \
             Stack with id nope does not exist"
        ),
        "{stderr}"
    );
    let (_, stderr) = aws
        .fails(&[
            "describe-stack-resource",
            "--stack-name",
            STACK,
            "--logical-resource-id",
            "Nope",
        ])
        .await;
    assert!(
        stderr.contains("Resource Nope does not exist for stack rollcall-demo"),
        "{stderr}"
    );
    // No engine: the lab says how to get one.
    let (code, stderr) = aws
        .fails(&[
            "update-stack",
            "--stack-name",
            STACK,
            "--use-previous-template",
            "--parameters",
            "ParameterKey=Stage,UsePreviousValue=true",
        ])
        .await;
    assert_eq!(code, 255, "{stderr}");
    assert!(
        stderr.contains("(ValidationError) when calling the UpdateStack operation")
            && stderr.contains("rollcall-lab serve --template"),
        "{stderr}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_list_stack_outputs_and_boto3_read_the_lab_s_stack() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(dir.path()).await;
    deployed_stack(&lab.stacks);
    let sam = SAM_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    let with_endpoint = |program: &Path| {
        let mut command = tokio::process::Command::new(program);
        command
            .env("AWS_ENDPOINT_URL_CLOUDFORMATION", lab.lambda_url())
            .env("AWS_ACCESS_KEY_ID", "AKIDROLLCALLTEST")
            .env("AWS_SECRET_ACCESS_KEY", "rollcall-test-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("SAM_CLI_TELEMETRY", "0")
            .env_remove("AWS_PROFILE")
            .current_dir(dir.path());
        command
    };
    let out = with_endpoint(&sam)
        .args([
            "list",
            "stack-outputs",
            "--stack-name",
            STACK,
            "--output",
            "json",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "sam list stack-outputs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let api = outputs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OutputKey"] == "HelloApi")
        .unwrap_or_else(|| panic!("no HelloApi in {outputs}"));
    assert_eq!(api["OutputValue"], ENDPOINT, "{outputs}");

    // boto3 (SAM CLI's own, in its virtualenv) resolves the endpoint from the same variable.
    let python = sam.with_file_name("python3");
    let script = "import boto3, json; \
        s = boto3.client('cloudformation').describe_stacks(StackName='rollcall-demo')['Stacks'][0]; \
        print(json.dumps([s['StackStatus'], s['Outputs'][0]['OutputValue']]))";
    let out = with_endpoint(&python)
        .args(["-c", script])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read, serde_json::json!(["UPDATE_COMPLETE", ENDPOINT]));
    lab.shutdown().await;
}
