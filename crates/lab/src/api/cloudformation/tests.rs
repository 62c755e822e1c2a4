use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;

use super::*;
use crate::control::stacks::{NewStack, ResourceStatus, StackParameter};

fn api_with(engine: Option<Arc<dyn StackEngine>>) -> (CloudFormationApi, Arc<Stacks>) {
    let stacks = Arc::new(Stacks::new("us-east-1", "123456789012"));
    (CloudFormationApi::new(Arc::clone(&stacks), engine), stacks)
}

async fn call(api: &CloudFormationApi, body: &str) -> (u16, String) {
    let response = api.answer(body.as_bytes(), "req-1");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[test]
fn escaping_covers_markup_quotes_carriage_returns_and_controls() {
    assert_eq!(
        xml::escape("a<b>&\"c\"'d'\r\n\t\u{1}é"),
        "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;&#xD;\n\t\u{FFFD}é"
    );
    assert_eq!(xml::escape("plain"), "plain");
}

#[test]
fn timestamps_have_milliseconds_and_a_z() {
    let t = time::macros::datetime!(2026-12-04 18:24:21.123456 UTC);
    assert_eq!(xml::timestamp(t), "2026-12-04T18:24:21.123Z");
}

#[test]
fn the_form_decodes_percent_encoding_and_member_lists_in_numeric_order() {
    let form = Form::parse(
        b"Action=CreateStack&StackName=demo&TemplateBody=a%26b+c\
          &Capabilities.member.10=TEN&Capabilities.member.2=CAPABILITY_IAM\
          &Parameters.member.1.ParameterKey=Stage&Parameters.member.1.ParameterValue=dev%3Dx",
    );
    assert_eq!(form.get("TemplateBody"), Some("a&b c"));
    assert_eq!(form.list("Capabilities"), ["CAPABILITY_IAM", "TEN"]);
    let params = form.members("Parameters");
    assert_eq!(params.len(), 1);
    assert_eq!(params[0]["ParameterValue"], "dev=x");
}

#[tokio::test]
async fn an_unknown_stack_is_a_validation_error_in_cloudformation_s_shape() {
    let (api, _) = api_with(None);
    let (status, body) = call(
        &api,
        "Action=DescribeStacks&Version=2010-05-15&StackName=x<y",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id x&lt;y does not exist</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"), "{body}");
}

#[tokio::test]
async fn an_unknown_or_missing_action_is_refused() {
    let (api, _) = api_with(None);
    let (status, body) = call(&api, "Action=DeleteStack&StackName=x").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    assert!(body.contains("DeleteStack"), "{body}");
    let (_, body) = call(&api, "StackName=x").await;
    assert!(body.contains("<Code>MissingAction</Code>"), "{body}");
}

#[tokio::test]
async fn describe_stacks_writes_the_stack_with_escaped_values() {
    let (api, stacks) = api_with(None);
    stacks
        .create(NewStack {
            name: "demo".into(),
            description: Some("A & B".into()),
            parameters: vec![StackParameter {
                key: "Stage".into(),
                value: "<dev>".into(),
            }],
            ..NewStack::default()
        })
        .unwrap();
    let (status, body) = call(&api, "Action=DescribeStacks&StackName=demo").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStacksResult><Stacks><member>"), "{body}");
    assert!(
        body.contains("<Description>A &amp; B</Description>"),
        "{body}"
    );
    assert!(body.contains("<member><ParameterKey>Stage</ParameterKey><ParameterValue>&lt;dev&gt;</ParameterValue></member>"), "{body}");
    assert!(
        body.contains("<StackStatus>CREATE_IN_PROGRESS</StackStatus>"),
        "{body}"
    );
    assert!(body.ends_with("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeStacksResponse>"), "{body}");
}

#[tokio::test]
async fn events_page_newest_first_and_a_token_survives_new_events() {
    let (api, stacks) = api_with(None);
    stacks
        .create(NewStack {
            name: "demo".into(),
            ..NewStack::default()
        })
        .unwrap();
    // 1 stack event + 149 resource events.
    for i in 0..149 {
        stacks
            .set_resource_status(
                "demo",
                &format!("R{i:03}"),
                None,
                "AWS::SNS::Topic",
                ResourceStatus::CreateComplete,
                None,
            )
            .unwrap();
    }
    let (_, first) = call(&api, "Action=DescribeStackEvents&StackName=demo").await;
    assert_eq!(first.matches("<member>").count(), reads::PAGE_SIZE);
    assert!(
        first.find("R148").unwrap() < first.find("R147").unwrap(),
        "newest first"
    );
    assert!(first.contains("<NextToken>50</NextToken>"), "{first}");
    // An event logged between pages does not shift the second page.
    stacks
        .set_resource_status(
            "demo",
            "Late",
            None,
            "AWS::SNS::Topic",
            ResourceStatus::CreateComplete,
            None,
        )
        .unwrap();
    let (_, second) = call(
        &api,
        "Action=DescribeStackEvents&StackName=demo&NextToken=50",
    )
    .await;
    assert_eq!(second.matches("<member>").count(), 50);
    assert!(second.contains("R048") && !second.contains("R049") && !second.contains("Late"));
    assert!(!second.contains("<NextToken>"), "{second}");
    let (status, bad) = call(
        &api,
        "Action=DescribeStackEvents&StackName=demo&NextToken=999",
    )
    .await;
    assert_eq!(status, 400);
    assert!(bad.contains("Invalid NextToken"), "{bad}");
}

#[tokio::test]
async fn resources_page_by_logical_id() {
    let (api, stacks) = api_with(None);
    stacks
        .create(NewStack {
            name: "demo".into(),
            ..NewStack::default()
        })
        .unwrap();
    for i in 0..101 {
        stacks
            .set_resource_status(
                "demo",
                &format!("R{i:03}"),
                Some(&format!("p{i}")),
                "AWS::SNS::Topic",
                ResourceStatus::CreateComplete,
                None,
            )
            .unwrap();
    }
    let (_, first) = call(&api, "Action=ListStackResources&StackName=demo").await;
    assert_eq!(first.matches("<member>").count(), 100);
    assert!(first.contains("<NextToken>R100</NextToken>"), "{first}");
    let (_, second) = call(
        &api,
        "Action=ListStackResources&StackName=demo&NextToken=R100",
    )
    .await;
    assert_eq!(second.matches("<member>").count(), 1);
    let (_, one) = call(&api, "Action=DescribeStackResources&PhysicalResourceId=p7").await;
    assert_eq!(one.matches("<member>").count(), 1);
    assert!(
        one.contains("<LogicalResourceId>R007</LogicalResourceId>"),
        "{one}"
    );
    let (_, missing) = call(
        &api,
        "Action=DescribeStackResource&StackName=demo&LogicalResourceId=Nope",
    )
    .await;
    assert!(
        missing.contains("Resource Nope does not exist for stack demo"),
        "{missing}"
    );
}

/// An engine that records what it is handed (the real engine is the template's).
#[derive(Default)]
struct Recording(Mutex<Vec<(bool, StackRequest)>>);

impl StackEngine for Recording {
    fn create_stack(&self, request: StackRequest) -> Result<String, CloudFormationError> {
        self.0.lock().unwrap().push((true, request));
        Ok("arn:created".into())
    }
    fn update_stack(&self, request: StackRequest) -> Result<String, CloudFormationError> {
        self.0.lock().unwrap().push((false, request));
        Err(CloudFormationError::validation(
            "No updates are to be performed.",
        ))
    }
}

#[tokio::test]
async fn create_and_update_hand_the_decoded_request_to_the_engine() {
    let engine = Arc::new(Recording::default());
    let (api, _) = api_with(Some(engine.clone()));
    let (status, body) = call(
        &api,
        "Action=CreateStack&StackName=demo&TemplateURL=file%3A%2F%2F%2Ft.yaml\
         &Parameters.member.1.ParameterKey=Stage&Parameters.member.1.ParameterValue=dev\
         &Capabilities.member.1=CAPABILITY_IAM",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<CreateStackResult><StackId>arn:created</StackId></CreateStackResult>"),
        "{body}"
    );
    let (status, body) = call(
        &api,
        "Action=UpdateStack&StackName=demo&UsePreviousTemplate=true\
         &Parameters.member.1.ParameterKey=Stage&Parameters.member.1.UsePreviousValue=true",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("No updates are to be performed."), "{body}");
    let calls = engine.0.lock().unwrap();
    assert_eq!(
        calls[0],
        (
            true,
            StackRequest {
                stack_name: "demo".into(),
                template: TemplateSource::Url("file:///t.yaml".into()),
                parameters: vec![ParameterRequest {
                    key: "Stage".into(),
                    value: Some("dev".into()),
                    use_previous_value: false
                }],
                capabilities: vec!["CAPABILITY_IAM".into()],
            }
        )
    );
    assert_eq!(calls[1].1.template, TemplateSource::UsePrevious);
    assert!(calls[1].1.parameters[0].use_previous_value);
}

#[tokio::test]
async fn bad_create_requests_are_refused_before_the_engine() {
    let engine = Arc::new(Recording::default());
    let (api, _) = api_with(Some(engine.clone()));
    let (_, both) = call(
        &api,
        "Action=CreateStack&StackName=d&TemplateBody=x&TemplateURL=y",
    )
    .await;
    assert!(
        both.contains("Specify exactly one of TemplateBody or TemplateURL."),
        "{both}"
    );
    let (_, nameless) = call(&api, "Action=CreateStack&TemplateBody=x").await;
    assert!(
        nameless.contains("Value null at &apos;stackName&apos;"),
        "{nameless}"
    );
    let (_, previous) = call(
        &api,
        "Action=UpdateStack&StackName=d&TemplateBody=x&Parameters.member.1.ParameterKey=K\
         &Parameters.member.1.ParameterValue=v&Parameters.member.1.UsePreviousValue=true",
    )
    .await;
    assert!(
        previous.contains("Cannot specify usePreviousValue as true"),
        "{previous}"
    );
    assert!(engine.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_an_engine_create_and_update_say_how_to_start_the_lab() {
    let (api, _) = api_with(None);
    let (status, body) = call(&api, "Action=UpdateStack&StackName=d&TemplateBody=x").await;
    assert_eq!(status, 400);
    assert!(body.contains("rollcall-lab serve --template"), "{body}");
}

#[tokio::test]
async fn get_template_answers_either_stage_and_refuses_others() {
    let (api, stacks) = api_with(None);
    stacks
        .create(NewStack {
            name: "demo".into(),
            template_original: "Transform: X\r\n".into(),
            template_processed: "{\"Resources\": {}}".into(),
            ..NewStack::default()
        })
        .unwrap();
    let (_, original) = call(&api, "Action=GetTemplate&StackName=demo").await;
    assert!(
        original.contains("<TemplateBody>Transform: X&#xD;\n</TemplateBody>"),
        "{original}"
    );
    let (_, processed) = call(
        &api,
        "Action=GetTemplate&StackName=demo&TemplateStage=Processed",
    )
    .await;
    assert!(
        processed.contains("<TemplateBody>{&quot;Resources&quot;: {}}</TemplateBody>"),
        "{processed}"
    );
    let (status, bad) = call(
        &api,
        "Action=GetTemplate&StackName=demo&TemplateStage=Final",
    )
    .await;
    assert_eq!(status, 400, "{bad}");
}
