//! template.yaml as CloudFormation deploys it: expanded offline by the real SAM translator.
//! The example users copy must produce the resources its comments promise (both API payload
//! formats, a function URL and a managed-runtime function behind the alias `live`), publish a
//! new version for the changes a user makes to rehearse a release, and output a prober command
//! line the prober accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rollcall_e2e::cfn::{self, Value, at, get_att, intrinsic, plain_str, ref_target, str_at};
use rollcall_e2e::sam;
use rollcall_e2e::workspace_root;

fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}

fn translate(path: &Path) -> Value {
    sam::translate(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Logical id → resource of the expanded template.
fn resources(expanded: &Value) -> BTreeMap<String, &Value> {
    at(expanded, &["Resources"])
        .and_then(Value::as_mapping)
        .expect("the expanded template has Resources")
        .iter()
        .map(|(id, r)| (plain_str(id).expect("logical id").to_owned(), r))
        .collect()
}

fn of_type<'a>(expanded: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(expanded)
        .into_iter()
        .filter(|(_, r)| str_at(r, &["Type"]) == Some(kind))
        .collect()
}

fn resource<'a>(expanded: &'a Value, id: &str) -> &'a Value {
    at(expanded, &["Resources", id])
        .unwrap_or_else(|| panic!("the expanded template has no resource {id}"))
}

/// The logical id of `function`'s AWS::Lambda::Version (`<Function>Version<hash>`).
fn version_id(expanded: &Value, function: &str) -> String {
    let prefix = format!("{function}Version");
    let ids: Vec<String> = of_type(expanded, "AWS::Lambda::Version")
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.strip_prefix(&prefix).is_some_and(|h| h.len() == 10))
        .collect();
    assert_eq!(ids.len(), 1, "one Version of {function}: {ids:?}");
    ids[0].clone()
}

/// The `Fn::Sub` string of an API's integration for `path`/`method`.
fn integration_uri<'a>(api: &'a Value, path: &str, method: &str) -> &'a Value {
    at(
        api,
        &[
            "Properties",
            "Body",
            "paths",
            path,
            method,
            "x-amazon-apigateway-integration",
        ],
    )
    .unwrap_or_else(|| panic!("no integration for {method} {path}"))
}

/// template.yaml with `from` replaced by `to` (which must occur), expanded.
fn translate_mutated(from: &str, to: &str) -> Value {
    let text = std::fs::read_to_string(template_path()).expect("read template.yaml");
    assert!(
        text.contains(from),
        "template.yaml no longer contains {from:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    // The code the template names, where its relative paths find it.
    std::os::unix::fs::symlink(
        workspace_root().join("examples"),
        dir.path().join("examples"),
    )
    .expect("symlink examples/");
    translate(&path)
}

#[test]
fn the_rest_api_invokes_the_alias_with_payload_1_0_on_stage_prod() {
    let t = translate(&template_path());
    let api = resource(&t, "ServerlessRestApi");
    assert_eq!(str_at(api, &["Type"]), Some("AWS::ApiGateway::RestApi"));
    let integration = integration_uri(api, "/hello", "get");
    assert_eq!(
        integration.get("payloadFormatVersion"),
        None,
        "a REST API has payload 1.0 only"
    );
    let uri = intrinsic(&integration["uri"], "Sub")
        .and_then(plain_str)
        .expect("uri is Fn::Sub");
    assert!(
        uri.ends_with("/functions/${HelloFunctionAliaslive}/invocations"),
        "{uri}"
    );
    let stages = of_type(&t, "AWS::ApiGateway::Stage");
    assert_eq!(stages.len(), 1);
    assert_eq!(
        str_at(stages[0].1, &["Properties", "StageName"]),
        Some("Prod")
    );

    // The HTTP API keeps its routes, payload 2.0, on the alias too.
    let http = resource(&t, "ServerlessHttpApi");
    for (path, method) in [("/hello", "get"), ("/hello-python", "get")] {
        let integration = integration_uri(http, path, method);
        assert_eq!(str_at(integration, &["payloadFormatVersion"]), Some("2.0"));
    }
    let python_uri = intrinsic(&integration_uri(http, "/hello-python", "get")["uri"], "Sub")
        .and_then(plain_str)
        .expect("uri is Fn::Sub");
    assert!(
        python_uri.contains("${HelloPythonFunctionAliaslive}"),
        "{python_uri}"
    );
}

#[test]
fn the_function_url_is_on_the_alias_and_an_output_names_it() {
    let t = translate(&template_path());
    let urls = of_type(&t, "AWS::Lambda::Url");
    assert_eq!(urls.len(), 1);
    let (id, url) = &urls[0];
    assert_eq!(id, "HelloFunctionUrl");
    assert_eq!(str_at(url, &["Properties", "AuthType"]), Some("NONE"));
    assert_eq!(
        ref_target(&url["Properties"]["TargetFunctionArn"]),
        Some("HelloFunctionAliaslive")
    );
    // Every output's GetAtt names a resource CloudFormation will have.
    let outputs = at(&t, &["Outputs"])
        .and_then(Value::as_mapping)
        .expect("Outputs");
    for output in outputs.values() {
        if let Some(target) = get_att(&output["Value"]) {
            resource(&t, target.split('.').next().unwrap());
        }
    }
    assert_eq!(
        get_att(&t["Outputs"]["FunctionUrl"]["Value"]).as_deref(),
        Some("HelloFunctionUrl.FunctionUrl")
    );
}

#[test]
fn the_python_function_runs_behind_the_wrapper_with_the_layer_and_its_own_alias() {
    let t = translate(&template_path());
    let function = resource(&t, "HelloPythonFunction");
    let props = &function["Properties"];
    let runtime = str_at(props, &["Runtime"]).expect("Runtime");
    assert!(runtime.starts_with("python3."), "{runtime}");
    assert_eq!(
        str_at(
            props,
            &["Environment", "Variables", "AWS_LAMBDA_EXEC_WRAPPER"]
        ),
        Some("/opt/rollcall-wrapper")
    );
    let layers = props["Layers"].as_sequence().expect("Layers");
    assert_eq!(layers.len(), 1);
    let layer = resource(&t, ref_target(&layers[0]).expect("Layers[0] is a Ref"));
    assert_eq!(str_at(layer, &["Type"]), Some("AWS::Lambda::LayerVersion"));
    assert!(
        cfn::strings(at(layer, &["Properties", "CompatibleRuntimes"])).contains(&runtime),
        "the layer lists {runtime}"
    );
    assert_eq!(
        cfn::strings(at(props, &["Architectures"])),
        cfn::strings(at(layer, &["Properties", "CompatibleArchitectures"]))
    );

    let version = version_id(&t, "HelloPythonFunction");
    let alias = resource(&t, "HelloPythonFunctionAliaslive");
    assert_eq!(str_at(alias, &["Properties", "Name"]), Some("live"));
    assert_eq!(
        get_att(&alias["Properties"]["FunctionVersion"]),
        Some(format!("{version}.Version"))
    );
    assert!(
        at(alias, &["UpdatePolicy", "CodeDeployLambdaAliasUpdate"]).is_some(),
        "the alias moves through CodeDeploy"
    );

    // The handler is a function of the file the template ships.
    let code_uri = str_at(
        &cfn::load(&template_path()).unwrap()["Resources"]["HelloPythonFunction"],
        &["Properties", "CodeUri"],
    )
    .expect("CodeUri")
    .to_owned();
    let handler = str_at(props, &["Handler"]).expect("Handler");
    let (module, name) = handler.split_once('.').expect("Handler is module.function");
    let source =
        std::fs::read_to_string(workspace_root().join(code_uri).join(format!("{module}.py")))
            .expect("the handler's module is in CodeUri");
    assert!(source.contains(&format!("def {name}(event, context)")));
    assert!(source.contains("AWS_LAMBDA_FUNCTION_VERSION"));
}

/// What a user edits to rehearse a bad release publishes a new version of the function; so does
/// a new layer version (PublishLambdaVersion), and nothing else changes the version when nothing
/// changed.
#[test]
fn a_hello_variable_or_a_layer_change_publishes_a_new_version() {
    let base = version_id(&translate(&template_path()), "HelloFunction");
    assert_eq!(
        version_id(&translate(&template_path()), "HelloFunction"),
        base,
        "the same template gives the same Version id"
    );
    let failing = translate_mutated("HELLO_FAIL_RATE: \"0\"", "HELLO_FAIL_RATE: \"0.2\"");
    assert_ne!(version_id(&failing, "HelloFunction"), base);
    let relayered = translate_mutated("LicenseInfo: Apache-2.0", "LicenseInfo: MIT");
    assert_ne!(
        version_id(&relayered, "HelloFunction"),
        base,
        "a layer-only change must publish a new version (PublishLambdaVersion: true)"
    );
    assert_ne!(
        version_id(&relayered, "HelloPythonFunction"),
        version_id(&translate(&template_path()), "HelloPythonFunction")
    );
}

/// `ProberCommand`, resolved as CloudFormation would, is a command line the prober accepts, with
/// the stack's schedule.
#[test]
fn the_prober_command_output_is_accepted_by_the_prober() {
    let template = cfn::load(&template_path()).unwrap();
    let command = intrinsic(&template["Outputs"]["ProberCommand"]["Value"], "Sub")
        .and_then(plain_str)
        .expect("ProberCommand is !Sub");
    let schedule = str_at(&template, &["Parameters", "DeploymentType", "Default"])
        .expect("DeploymentType default");
    let resolved = command
        .replace("${ServerlessHttpApi}", "abc123")
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::URLSuffix}", "amazonaws.com")
        .replace("${DeploymentType}", schedule);
    assert!(!resolved.contains("${"), "unresolved: {resolved}");
    let words: Vec<&str> = resolved.split_whitespace().collect();
    assert_eq!(words[0], "prober");
    let cli = prober::cli::Cli::from_command_line(&words)
        .unwrap_or_else(|e| panic!("prober refuses {resolved}: {e}"));
    let config = prober::config::Config::from_cli(&cli, |p| std::fs::read(p))
        .unwrap_or_else(|e| panic!("prober refuses {resolved}: {e}"));
    assert_eq!(config.schedule_text.as_deref(), Some(schedule));
    assert!(config.schedule.is_some());
    assert_eq!(
        config.duration, None,
        "the prober runs until the rollout completes"
    );
    assert!(resolved.contains("https://abc123.execute-api.eu-west-1.amazonaws.com/hello "));
}
