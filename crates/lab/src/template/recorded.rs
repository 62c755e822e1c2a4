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
        _ => return None,
    })
}

/// A resource the lab records but does not run: its id and the attributes templates read.
pub(super) fn recorded_only(
    live: &mut LiveResource,
    scope: &ArnScope,
    stack: &str,
    logical_id: &str,
    resource_type: &str,
    properties: &Value,
) {
    let name = physical_name(stack, logical_id, 64);
    let (partition, account) = (&scope.partition, &scope.account);
    match resource_type {
        "AWS::IAM::Role" => {
            let name = text(properties, "RoleName").unwrap_or(name);
            live.attributes.insert(
                "Arn".into(),
                json!(format!("arn:{partition}:iam::{account}:role/{name}")),
            );
            live.attributes.insert(
                "RoleId".into(),
                json!(short_id(stack, logical_id, 21).to_uppercase()),
            );
            live.physical_id = name;
        }
        _ => live.physical_id = name,
    }
    live.ref_value = json!(live.physical_id);
}
