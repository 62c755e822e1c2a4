//! Resources the lab records but does not run (IAM roles, permissions, API stages, queues,
//! ...): the physical id, `Ref` value and `Fn::GetAtt` attributes AWS gives each, so that a
//! template that reads them resolves as it does on AWS.

use protocol::lambda_api::names::ArnScope;
use serde_json::{Value, json};

use super::live::{LiveResource, physical_name, short_id};
use super::resources::text;

/// The `Fn::GetAtt` attributes the lab gives a resource type (`None`: a type whose
/// attributes the lab does not know, given stand-ins).
pub fn attributes(resource_type: &str) -> Option<&'static [&'static str]> {
    Some(match resource_type {
        "AWS::Lambda::Function" => &["Arn"],
        "AWS::Lambda::Version" => &["Version", "FunctionArn"],
        "AWS::Lambda::Alias" => &["AliasArn"],
        "AWS::Lambda::LayerVersion" => &["LayerVersionArn"],
        "AWS::CloudWatch::Alarm" => &["Arn"],
        "AWS::IAM::Role" => &["Arn", "RoleId"],
        "AWS::Lambda::Url" => &["FunctionUrl", "FunctionArn"],
        "AWS::ApiGatewayV2::Api" | "AWS::ApiGateway::RestApi" => {
            &["ApiEndpoint", "ApiId", "RootResourceId"]
        }
        "AWS::SQS::Queue" => &["Arn", "QueueName", "QueueUrl"],
        "AWS::DynamoDB::Table" => &["Arn", "StreamArn"],
        "AWS::SNS::Topic" => &["TopicArn", "TopicName"],
        "AWS::ApiGateway::Stage" => &[],
        _ => return None,
    })
}

/// A resource the lab records but does not run: its physical id, its `Ref` and the
/// attributes templates read, as each type's "Return values" in AWS's resource reference
/// give them (a name CloudFormation generates when the template gives none).
pub(super) fn recorded_only(
    live: &mut LiveResource,
    scope: &ArnScope,
    stack: &str,
    logical_id: &str,
    resource_type: &str,
    properties: &Value,
) {
    let (partition, region, account) = (&scope.partition, &scope.region, &scope.account);
    // A generated name within `max` characters, `.fifo` kept at its end when `fifo` says.
    let generated = |max: usize, fifo: &str| {
        if flag(properties, fifo) {
            format!(
                "{}.fifo",
                physical_name(stack, logical_id, max - ".fifo".len())
            )
        } else {
            physical_name(stack, logical_id, max)
        }
    };
    let named = |key: &str, max: usize, fifo: &str| {
        text(properties, key).unwrap_or_else(|| generated(max, fifo))
    };
    let mut attribute = |key: &str, value: String| {
        live.attributes.insert(key.into(), json!(value));
    };
    let (physical_id, ref_value) = match resource_type {
        "AWS::IAM::Role" => {
            let name = named("RoleName", 64, "");
            attribute("Arn", format!("arn:{partition}:iam::{account}:role/{name}"));
            attribute("RoleId", short_id(stack, logical_id, 21).to_uppercase());
            (name.clone(), name)
        }
        // Ref: the queue's URL.
        "AWS::SQS::Queue" => {
            let name = named("QueueName", 80, "FifoQueue");
            let url = format!("https://sqs.{region}.amazonaws.com/{account}/{name}");
            attribute(
                "Arn",
                format!("arn:{partition}:sqs:{region}:{account}:{name}"),
            );
            attribute("QueueName", name);
            attribute("QueueUrl", url.clone());
            (url.clone(), url)
        }
        // Ref: the table's name; StreamArn only with a stream.
        "AWS::DynamoDB::Table" => {
            let name = named("TableName", 255, "");
            let arn = format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}");
            if properties.get("StreamSpecification").is_some() {
                attribute("StreamArn", format!("{arn}/stream/{}", stream_label()));
            }
            attribute("Arn", arn);
            (name.clone(), name)
        }
        // Ref: the topic's ARN.
        "AWS::SNS::Topic" => {
            let name = named("TopicName", 256, "FifoTopic");
            let arn = format!("arn:{partition}:sns:{region}:{account}:{name}");
            attribute("TopicArn", arn.clone());
            attribute("TopicName", name);
            (arn.clone(), arn)
        }
        // Ref: the stage's name.
        "AWS::ApiGateway::Stage" => {
            let name = named("StageName", 128, "");
            (name.clone(), name)
        }
        _ => {
            let name = physical_name(stack, logical_id, 64);
            (name.clone(), name)
        }
    };
    live.physical_id = physical_id;
    live.ref_value = json!(ref_value);
}

/// Whether `properties.<key>` is true (`true` or `"true"`, as parameters give it).
fn flag(properties: &Value, key: &str) -> bool {
    !key.is_empty()
        && (properties.get(key).and_then(Value::as_bool) == Some(true)
            || text(properties, key).as_deref() == Some("true"))
}

/// A DynamoDB stream's label: its creation time, `2015-06-27T00:48:05.899` (UTC).
fn stream_label() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}
