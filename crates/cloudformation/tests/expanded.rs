//! The repository's template as the real SAM translator expands it: creation order and every
//! resource resolved. Fixture fixtures/template.expanded.json: template.yaml of 2026-12-04 read by
//! samcli's yaml_parse and expanded by aws-sam-translator 1.115.0 (SAM CLI 1.170.0's virtualenv),
//! CodeUri/ContentUri staged as s3://rollcall-lab/<digest> (session 5's research script).

use std::collections::BTreeMap;

use cloudformation::{
    Context, Pseudo, StackValues, creation_order, dependencies, output_dependencies,
    parse_overrides, parse_template, resolve, resolve_outputs, resolve_parameters, resources,
};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

fn expanded() -> Value {
    parse_template(include_str!("fixtures/template.expanded.json")).unwrap()
}

fn position(order: &[String], id: &str) -> usize {
    order
        .iter()
        .position(|o| o == id)
        .unwrap_or_else(|| panic!("{id} not in {order:?}"))
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<&'a str> {
    resources(t)
        .unwrap()
        .into_iter()
        .filter(|r| r.resource_type == ty)
        .map(|r| r.logical_id)
        .collect()
}

#[test]
fn the_alias_comes_after_its_deployment_group_and_alarms_and_versions_after_the_function() {
    let t = expanded();
    let order = creation_order(&t).unwrap();
    assert_eq!(order.len(), resources(&t).unwrap().len());
    let alias = of_type(&t, "AWS::Lambda::Alias");
    let [alias] = alias.as_slice() else {
        panic!("one alias: {alias:?}")
    };
    let alias = position(&order, alias);
    // The alias's UpdatePolicy names the deployment group (which names the alarms).
    for group in of_type(&t, "AWS::CodeDeploy::DeploymentGroup") {
        assert!(position(&order, group) < alias, "{order:?}");
    }
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    assert_eq!(alarms.len(), 2);
    for alarm in alarms {
        assert!(position(&order, alarm) < alias, "{order:?}");
    }
    let function = position(&order, "HelloFunction");
    for version in of_type(&t, "AWS::Lambda::Version") {
        assert!(position(&order, version) > function, "{order:?}");
        assert!(position(&order, version) < alias, "{order:?}");
    }
    for layer in of_type(&t, "AWS::Lambda::LayerVersion") {
        assert!(position(&order, layer) < function, "{order:?}");
    }
    assert!(position(&order, "HelloFunctionRole") < function);
}

#[test]
fn the_alias_depends_on_what_its_update_policy_names() {
    let t = expanded();
    let deps = dependencies(&t).unwrap();
    let alias = &deps["HelloFunctionAliaslive"];
    assert!(alias.contains("HelloFunctionDeploymentGroup"), "{alias:?}");
    assert!(
        alias.contains("ServerlessDeploymentApplication"),
        "{alias:?}"
    );
    assert!(alias.contains("HelloFunction"), "{alias:?}");
    // Parameters (PreTrafficHook in the Fn::If) and pseudo parameters are not dependencies.
    assert!(!alias.contains("PreTrafficHook"), "{alias:?}");
    assert!(deps["CodeDeployServiceRole"].is_empty());
    // Fn::Sub variables in the API's body: the alias.
    assert!(deps["ServerlessHttpApi"].contains("HelloFunctionAliaslive"));
}

/// A stand-in for what the lab's engine records when it creates a resource: the `Ref` and the
/// attributes of each type, as AWS documents them (physical ids made up).
fn create(values: &mut StackValues, id: &str, ty: &str, properties: &Value) {
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}");
    let (reference, attributes): (String, Vec<(&str, String)>) = match ty {
        "AWS::IAM::Role" => (
            format!("rollcall-{id}"),
            vec![("Arn", format!("arn:aws:iam::{ACCOUNT}:role/rollcall-{id}"))],
        ),
        "AWS::Lambda::Function" => (
            format!("rollcall-{id}-abc"),
            vec![("Arn", arn("lambda", &format!("function:rollcall-{id}-abc")))],
        ),
        "AWS::Lambda::Version" => {
            let function = properties["FunctionName"].as_str().unwrap();
            (
                arn("lambda", &format!("function:{function}:1")),
                vec![("Version", "1".to_owned())],
            )
        }
        "AWS::Lambda::Alias" => {
            let function = properties["FunctionName"].as_str().unwrap();
            let name = properties["Name"].as_str().unwrap();
            (
                arn("lambda", &format!("function:{function}:{name}")),
                vec![],
            )
        }
        "AWS::Lambda::LayerVersion" => (arn("lambda", &format!("layer:{id}:1")), vec![]),
        "AWS::ApiGatewayV2::Api" => ("api0123".to_owned(), vec![("ApiEndpoint", "x".to_owned())]),
        _ => (format!("rollcall-{id}"), vec![]),
    };
    values.created(
        id,
        Value::String(reference),
        attributes
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v))),
    );
}

/// Every resource's Properties and UpdatePolicy resolved in creation order.
fn deploy(args: &[&str]) -> (StackValues, BTreeMap<String, Value>) {
    let t = expanded();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let parameters = resolve_parameters(&t, &parse_overrides(&args).unwrap()).unwrap();
    let pseudo = Pseudo::for_stack(REGION, ACCOUNT, "rollcall", "0000");
    let mut values = StackValues::new(&t, parameters, pseudo).unwrap();
    let mut resolved = BTreeMap::new();
    for id in creation_order(&t).unwrap() {
        let definition = &t["Resources"][&id];
        let at = format!("Resources.{id}");
        let mut out = serde_json::Map::new();
        for key in ["Properties", "UpdatePolicy"] {
            if let Some(v) = definition.get(key) {
                out.insert(
                    key.to_owned(),
                    resolve(v, &values, &format!("{at}.{key}")).unwrap(),
                );
            }
        }
        let properties = out.get("Properties").cloned().unwrap_or(Value::Null);
        create(
            &mut values,
            &id,
            definition["Type"].as_str().unwrap(),
            &properties,
        );
        resolved.insert(id, Value::Object(out));
    }
    (values, resolved)
}

#[test]
fn every_resource_resolves_to_concrete_values() {
    let (values, resolved) = deploy(&[]);
    let group = &resolved["HelloFunctionDeploymentGroup"]["Properties"];
    assert_eq!(
        group["DeploymentConfigName"],
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    );
    assert_eq!(
        group["AlarmConfiguration"]["Alarms"],
        json!([{"Name": "rollcall-NewVersionErrorRateAlarm"}, {"Name": "rollcall-NewVersionLatencyAlarm"}])
    );
    assert_eq!(
        group["ServiceRoleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/rollcall-CodeDeployServiceRole")
    );
    // The hooks' Fn::If gives AWS::NoValue when the conditions are false: the keys vanish.
    assert_eq!(
        resolved["HelloFunctionAliaslive"]["UpdatePolicy"],
        json!({"CodeDeployLambdaAliasUpdate": {
            "ApplicationName": "rollcall-ServerlessDeploymentApplication",
            "DeploymentGroupName": "rollcall-HelloFunctionDeploymentGroup",
        }})
    );
    let alias = &resolved["HelloFunctionAliaslive"]["Properties"];
    assert_eq!(alias["FunctionVersion"], "1");
    assert_eq!(alias["FunctionName"], "rollcall-HelloFunction-abc");
    let function = &resolved["HelloFunction"]["Properties"];
    assert_eq!(
        function["Environment"]["Variables"]["ROLLCALL_NAMESPACE"],
        "Rollcall"
    );
    assert_eq!(
        function["Layers"],
        json!([format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:layer:RollcallLayer7f605abc59:1"
        )])
    );
    // The Sub list form with pseudo parameters and a variable map holding a Ref.
    assert_eq!(
        resolved["HelloFunctionHelloPermission"]["Properties"]["SourceArn"],
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:api0123/*/GET/hello")
    );
    let alarm = &resolved["NewVersionLatencyAlarm"]["Properties"];
    assert_eq!(
        alarm["Dimensions"],
        json!([{"Name": "FunctionName", "Value": "rollcall-HelloFunction-abc"}, {"Name": "Version", "Value": "1"}])
    );
    assert_eq!(alarm["Threshold"], "1000");
    // The API body's integration URI: Fn::Sub of the alias's Ref.
    let uri = &resolved["ServerlessHttpApi"]["Properties"]["Body"]["paths"]["/hello"]["get"]["x-amazon-apigateway-integration"]
        ["uri"];
    assert_eq!(
        uri.as_str().unwrap(),
        format!(
            "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:{REGION}:{ACCOUNT}:function:rollcall-HelloFunction-abc:live/invocations"
        )
    );
    // Outputs resolve once everything is created.
    let t = expanded();
    let outputs = resolve_outputs(&t, &values).unwrap();
    assert_eq!(
        outputs["ApiUrl"].value_text(),
        format!("https://api0123.execute-api.{REGION}.amazonaws.com")
    );
    assert_eq!(
        outputs["LiveAliasArn"].value,
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:rollcall-HelloFunction-abc:live")
    );
    assert_eq!(
        outputs["HelloFunctionName"].value,
        "rollcall-HelloFunction-abc"
    );
    assert_eq!(
        outputs["HelloFunctionName"].description.as_deref(),
        t["Outputs"]["HelloFunctionName"]["Description"].as_str()
    );
    let deps = output_dependencies(&t).unwrap();
    assert_eq!(
        deps["ApiUrl"].iter().collect::<Vec<_>>(),
        ["ServerlessHttpApi"]
    );
}

#[test]
fn a_hook_parameter_keeps_its_key() {
    let (_, resolved) = deploy(&["PreTrafficHook=CodeDeployHook_pre"]);
    let policy = &resolved["HelloFunctionAliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
    assert_eq!(policy["BeforeAllowTrafficHook"], "CodeDeployHook_pre");
    assert!(policy.get("AfterAllowTrafficHook").is_none(), "{policy}");
}

#[test]
fn a_resource_resolved_before_what_it_names_is_created_says_which() {
    let t = expanded();
    let parameters = resolve_parameters(&t, &BTreeMap::new()).unwrap();
    let values =
        StackValues::new(&t, parameters, Pseudo::for_stack(REGION, ACCOUNT, "s", "0")).unwrap();
    assert_eq!(values.resource_ref("HelloFunction"), None);
    let err = resolve(
        &t["Resources"]["HelloFunctionAliaslive"]["Properties"],
        &values,
        "Resources.HelloFunctionAliaslive.Properties",
    )
    .unwrap_err();
    assert_eq!(
        err.path,
        "Resources.HelloFunctionAliaslive.Properties.FunctionName.Ref"
    );
    assert!(
        err.message.starts_with(
            "Ref HelloFunction: no parameter or resource named HelloFunction has a value"
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("create the resource HelloFunction before"),
        "{err}"
    );
}
