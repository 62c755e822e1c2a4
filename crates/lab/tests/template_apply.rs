//! A plain CloudFormation template (the shapes the SAM translator writes) applied to a lab in
//! process: the stack's resources become functions, versions, an alias, CodeDeploy's
//! application and group and the front door's routes; an update publishes the new version
//! and shifts the alias through a CodeDeploy deployment; a failing resource rolls the update
//! back. No Python: the template has no Transform.

mod template_support;

use std::path::PathBuf;

use cloudformation::Pseudo;
use lab::lab::Lab;
use lab::spec::LabSpec;
use lab::template::apply::{Applied, apply};
use lab::template::live::LiveStack;
use serde_json::{Value, json};
use template_support::apply::{Statuses, code, create, options, parts, prepared};

/// The template: function, its version `version_id`, CodeDeploy, the alias shifted by it, an
/// HTTP API to the alias.
fn template(version_id: &str, mark: &str, deployment_config: &str) -> Value {
    json!({
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "Code": {"S3Bucket": "rollcall-lab", "S3Key": "code"},
                "Handler": "bootstrap", "Runtime": "provided.al2023", "Timeout": 5,
                "Environment": {"Variables": {"MARK": mark}}}},
            version_id: {"Type": "AWS::Lambda::Version", "DeletionPolicy": "Retain",
                "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "App": {"Type": "AWS::CodeDeploy::Application", "Properties": {"ComputePlatform": "Lambda"}},
            "Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
                "ApplicationName": {"Ref": "App"},
                "DeploymentConfigName": deployment_config,
                "DeploymentStyle": {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
                "AutoRollbackConfiguration": {"Enabled": true, "Events": ["DEPLOYMENT_FAILURE"]},
                "ServiceRoleArn": "arn:aws:iam::123456789012:role/cd"}},
            "Alias": {"Type": "AWS::Lambda::Alias",
                "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": {
                    "ApplicationName": {"Ref": "App"}, "DeploymentGroupName": {"Ref": "Group"}}},
                "Properties": {"FunctionName": {"Ref": "Fn"}, "Name": "live",
                    "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]}}},
            "Url": {"Type": "AWS::Lambda::Url", "Properties": {"AuthType": "NONE",
                "InvokeMode": "RESPONSE_STREAM", "TargetFunctionArn": {"Ref": "Alias"}}},
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {"paths": {"/hello": {"get": {
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "payloadFormatVersion": "2.0",
                    "uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Alias}/invocations"}}}}}}}}
        }
    })
}

async fn version_behind_route(lab: &Lab) -> String {
    let addr = lab.api_url().trim_start_matches("http://").parse().unwrap();
    let reply = test_support::http::send(addr, "GET", "/hello", &[], bytes::Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["version"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_is_created_then_updated_through_codedeploy() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let pseudo = Pseudo::for_stack("us-east-1", "123456789012", "demo", "1");
    let empty = LiveStack::new(pseudo, PathBuf::from("template.json"));
    let statuses = Statuses::default();
    let first = template(
        "FnVersionA",
        "a",
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    );
    let Applied::Complete(stack) = apply(
        &parts,
        empty,
        prepared(first, &code(dir.path(), "a")),
        &statuses,
    )
    .await
    else {
        panic!("the create failed: {:?}", statuses.0.lock().unwrap());
    };
    let function = stack.resources["Fn"].physical_id.clone();
    assert!(function.starts_with("demo-Fn-"), "{function}");
    assert_eq!(stack.resources["FnVersionA"].attributes["Version"], "1");
    assert_eq!(
        statuses.of("stack"),
        ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    );
    assert_eq!(version_behind_route(&lab).await, "1");

    // Unchanged resources are left alone; the new version is published and shifted.
    let statuses = Statuses::default();
    let second = template(
        "FnVersionB",
        "b",
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    );
    let Applied::Complete(stack) = apply(
        &parts,
        stack,
        prepared(second, &code(dir.path(), "b")),
        &statuses,
    )
    .await
    else {
        panic!("the update failed: {:?}", statuses.0.lock().unwrap());
    };
    assert!(
        statuses.of("App").is_empty(),
        "the application is unchanged"
    );
    assert_eq!(statuses.of("Fn"), ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]);
    assert_eq!(
        statuses.of("FnVersionB"),
        ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    );
    let alias = statuses.0.lock().unwrap().clone();
    assert!(
        alias
            .iter()
            .any(|(id, _, reason)| id == "Alias" && reason.contains("CodeDeploy deployment")),
        "{alias:?}"
    );
    assert_eq!(stack.resources["FnVersionB"].attributes["Version"], "2");
    // The old version left the stack but is retained (DeletionPolicy).
    assert!(
        lab.registry.snapshot().functions[&function]
            .versions
            .contains_key(&1)
    );
    assert_eq!(version_behind_route(&lab).await, "2");
    // The function URL (a listener of its own) reaches the alias too, on any path; in
    // RESPONSE_STREAM mode a function that answers buffered is read as payload 2.0.
    let url = stack.resources["Url"].attributes["FunctionUrl"]
        .as_str()
        .unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let reply =
        test_support::http::send(addr, "POST", "/any/path?x=1", &[], bytes::Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["version"], "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_resource_rolls_the_update_back() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let pseudo = Pseudo::for_stack("us-east-1", "123456789012", "demo", "1");
    let empty = LiveStack::new(pseudo, PathBuf::from("template.json"));
    let first = template("FnVersionA", "a", "CodeDeployDefault.LambdaAllAtOnce");
    let Applied::Complete(stack) = apply(
        &parts,
        empty,
        prepared(first, &code(dir.path(), "a")),
        &Statuses::default(),
    )
    .await
    else {
        panic!("the create failed");
    };
    let function = stack.resources["Fn"].physical_id.clone();
    // The group names a configuration CodeDeploy does not have: its update fails after the
    // function changed, so the function is put back.
    let statuses = Statuses::default();
    let bad = template("FnVersionB", "b", "CodeDeployDefault.LambdaNoSuchConfig");
    let Applied::RolledBack(stack, reason) = apply(
        &parts,
        stack,
        prepared(bad, &code(dir.path(), "b")),
        &statuses,
    )
    .await
    else {
        panic!("the update should fail: {:?}", statuses.0.lock().unwrap());
    };
    assert!(reason.contains("Group"), "{reason}");
    assert_eq!(
        statuses.of("stack"),
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE"
        ]
    );
    let snapshot = lab.registry.snapshot();
    let latest = &snapshot.functions[&function].latest;
    assert_eq!(latest.config.env_vars["MARK"], "a", "$LATEST put back");
    assert_eq!(
        stack.resources["Fn"].properties["Environment"]["Variables"]["MARK"],
        "a"
    );
    assert_eq!(version_behind_route(&lab).await, "1");
}

/// Two functions, `A` (its code under S3 key `a_key`) and, when `with_b`, `B`; `A` uses layer
/// `L` (described `layer`) when given.
fn two_functions(a_key: &str, with_b: bool, layer: Option<&str>) -> Value {
    let mut a = json!({"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"S3Bucket": "rollcall-lab", "S3Key": a_key},
        "Handler": "bootstrap", "Runtime": "provided.al2023"}});
    let mut resources = json!({"A": a.clone()});
    if let Some(description) = layer {
        a["Properties"]["Layers"] = json!([{"Ref": "L"}]);
        resources["A"] = a;
        resources["L"] = json!({"Type": "AWS::Lambda::LayerVersion", "Properties": {
            "Content": {"S3Bucket": "rollcall-lab", "S3Key": "code"},
            "Description": description}});
    }
    if with_b {
        resources["B"] = json!({"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": "rollcall-lab", "S3Key": "code"},
            "Handler": "bootstrap", "Runtime": "provided.al2023"}});
    }
    json!({ "Resources": resources })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_keeps_the_resources_it_would_have_removed() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let code = code(dir.path(), "a");
    let stack = create(&parts, two_functions("code", true, None), &code).await;
    let b = stack.resources["B"].physical_id.clone();
    // A's code is not staged: its update fails, after B left the stack.
    let Applied::RolledBack(stack, reason) = apply(
        &parts,
        stack,
        prepared(two_functions("missing", false, None), &code),
        &Statuses::default(),
    )
    .await
    else {
        panic!("the update should fail");
    };
    assert!(reason.starts_with("A:"), "{reason}");
    assert_eq!(
        stack.resources["B"].physical_id, b,
        "B is the stack's still"
    );
    assert!(lab.registry.snapshot().functions.contains_key(&b));
    // The original template again: nothing to create, so it completes.
    let statuses = Statuses::default();
    let again = apply(
        &parts,
        stack,
        prepared(two_functions("code", true, None), &code),
        &statuses,
    )
    .await;
    assert!(
        matches!(again, Applied::Complete(_)),
        "{again:?} {:?}",
        statuses.0.lock().unwrap()
    );
    assert!(statuses.of("B").is_empty(), "B is unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_puts_a_replaced_resource_back() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let code = code(dir.path(), "a");
    let stack = create(&parts, two_functions("code", false, Some("one")), &code).await;
    let layer = stack.resources["L"].physical_id.clone();
    // A new layer version replaces L (immutable), then A fails: the new one is deleted and L
    // is the old version again.
    let statuses = Statuses::default();
    let Applied::RolledBack(stack, _) = apply(
        &parts,
        stack,
        prepared(two_functions("missing", false, Some("two")), &code),
        &statuses,
    )
    .await
    else {
        panic!("the update should fail");
    };
    assert_eq!(stack.resources["L"].physical_id, layer);
    assert_eq!(stack.resources["L"].properties["Description"], "one");
    let events = statuses.0.lock().unwrap().clone();
    let deleted: Vec<_> = events
        .iter()
        .filter(|(id, s, _)| id == "L" && s == "DELETE_COMPLETE")
        .collect();
    assert_eq!(deleted.len(), 1, "the new version is deleted: {events:?}");
    let snapshot = lab.registry.snapshot();
    let versions: Vec<_> = snapshot
        .layers
        .values()
        .flat_map(|l| l.versions.keys())
        .collect();
    assert_eq!(versions, [&1], "only the old layer version is left");
    let again = apply(
        &parts,
        stack,
        prepared(two_functions("code", false, Some("one")), &code),
        &Statuses::default(),
    )
    .await;
    assert!(matches!(again, Applied::Complete(_)), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_resources_give_the_ref_and_attributes_aws_documents() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let vars = json!({
        "QUEUE_REF": {"Ref": "Queue"},
        "QUEUE_ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
        "QUEUE_NAME": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "QUEUE_URL": {"Fn::GetAtt": ["Queue", "QueueUrl"]},
        "FIFO_NAME": {"Fn::GetAtt": ["Fifo", "QueueName"]},
        "TABLE_REF": {"Ref": "Table"},
        "TABLE_ARN": {"Fn::GetAtt": ["Table", "Arn"]},
        "STREAM_ARN": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "TOPIC_REF": {"Ref": "Topic"},
        "TOPIC_ARN": {"Fn::GetAtt": ["Topic", "TopicArn"]},
        "TOPIC_NAME": {"Fn::GetAtt": ["Topic", "TopicName"]},
        "STAGE_REF": {"Ref": "Stage"},
    });
    let template = json!({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Fifo": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": true}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Rest"}, "StageName": "Prod"}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": "rollcall-lab", "S3Key": "code"},
            "Handler": "bootstrap", "Runtime": "provided.al2023",
            "Environment": {"Variables": vars}}}
    }});
    let stack = create(&parts, template, &code(dir.path(), "a")).await;
    let env = &stack.resources["Fn"].properties["Environment"]["Variables"];
    let scope = &lab.scope;
    let (region, account) = (&scope.region, &scope.account);
    let name = |id: &str, max| lab::template::live::physical_name("demo", id, max);
    let queue = name("Queue", 80);
    let queue_url = format!("https://sqs.{region}.amazonaws.com/{account}/{queue}");
    assert_eq!(env["QUEUE_REF"], queue_url);
    assert_eq!(env["QUEUE_URL"], queue_url);
    assert_eq!(env["QUEUE_NAME"], queue);
    assert_eq!(
        env["QUEUE_ARN"],
        format!("arn:{}:sqs:{region}:{account}:{queue}", scope.partition)
    );
    let fifo = env["FIFO_NAME"].as_str().unwrap();
    assert!(fifo.ends_with(".fifo") && fifo.len() <= 80, "{fifo}");
    let table = name("Table", 255);
    assert_eq!(env["TABLE_REF"], table);
    let table_arn = format!(
        "arn:{}:dynamodb:{region}:{account}:table/{table}",
        scope.partition
    );
    assert_eq!(env["TABLE_ARN"], table_arn);
    let stream = env["STREAM_ARN"].as_str().unwrap();
    assert!(
        stream.starts_with(&format!("{table_arn}/stream/")),
        "{stream}"
    );
    let topic = name("Topic", 256);
    let topic_arn = format!("arn:{}:sns:{region}:{account}:{topic}", scope.partition);
    assert_eq!(env["TOPIC_REF"], topic_arn);
    assert_eq!(env["TOPIC_ARN"], topic_arn);
    assert_eq!(env["TOPIC_NAME"], topic);
    assert_eq!(env["STAGE_REF"], "Prod");
    assert_eq!(stack.resources["Stage"].physical_id, "Prod");
}

/// CodeDeploy's GetApplication on the lab's API port: (HTTP status, body).
async fn get_application(lab: &Lab, name: &str) -> (u16, Value) {
    let addr = lab
        .lambda_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let headers = [
        ("x-amz-target", "CodeDeploy_20141006.GetApplication"),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    let body = json!({"applicationName": name}).to_string();
    let reply = test_support::http::send(addr, "POST", "/", &headers, body).await;
    (reply.status, reply.json())
}

#[tokio::test(flavor = "multi_thread")]
async fn codedeploy_applications_and_groups_leave_with_their_resources() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let code = code(dir.path(), "a");
    let app = lab::template::live::physical_name("demo", "App", 100);
    let group = lab::template::live::physical_name("demo", "Group", 100);
    // A create whose function (after the group, which it names) fails is rolled back: the
    // application and its group go with it.
    let mut failing = template("FnVersionA", "a", "CodeDeployDefault.LambdaAllAtOnce");
    failing["Resources"]["Late"] = json!({"Type": "AWS::Lambda::Function", "Properties": {
        "Code": {"S3Bucket": "rollcall-lab", "S3Key": "code"}, "Handler": "bootstrap",
        "Runtime": "java21", "Environment": {"Variables": {"GROUP": {"Ref": "Group"}}}}});
    let pseudo = Pseudo::for_stack("us-east-1", "123456789012", "demo", "1");
    let empty = LiveStack::new(pseudo, PathBuf::from("template.json"));
    let statuses = Statuses::default();
    let Applied::RolledBack(..) = apply(&parts, empty, prepared(failing, &code), &statuses).await
    else {
        panic!("the create should fail");
    };
    assert!(statuses.of("Group").contains(&"DELETE_COMPLETE".to_owned()));
    let (status, body) = get_application(&lab, &app).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "ApplicationDoesNotExistException");
    assert!(lab.deployments.get_deployment_group(&app, &group).is_err());

    // The same stack again: its application and group are created anew.
    let first = template("FnVersionA", "a", "CodeDeployDefault.LambdaAllAtOnce");
    let stack = create(&parts, first, &code).await;
    let (status, body) = get_application(&lab, &app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["application"]["applicationName"], app);
    let info = lab.deployments.get_deployment_group(&app, &group).unwrap();
    assert_eq!(
        info.deployment_config_name,
        "CodeDeployDefault.LambdaAllAtOnce"
    );

    // An update that leaves CodeDeploy out (the alias shifted directly): both are deleted.
    let mut plain = template("FnVersionA", "a", "CodeDeployDefault.LambdaAllAtOnce");
    let resources = plain["Resources"].as_object_mut().unwrap();
    resources.remove("App");
    resources.remove("Group");
    resources["Alias"]
        .as_object_mut()
        .unwrap()
        .remove("UpdatePolicy");
    let statuses = Statuses::default();
    let updated = apply(&parts, stack, prepared(plain, &code), &statuses).await;
    assert!(matches!(updated, Applied::Complete(_)), "{updated:?}");
    assert_eq!(statuses.of("App"), ["DELETE_COMPLETE"]);
    let (status, body) = get_application(&lab, &app).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "ApplicationDoesNotExistException");
    assert!(lab.deployments.get_deployment_group(&app, &group).is_err());
}
