//! The repository's own template.yaml (read, not copied: it changes with the project) through
//! parse_template, resolve_parameters and evaluate_conditions.

use std::collections::BTreeMap;

use cloudformation::{
    ParameterError, Pseudo, StackValues, evaluate_conditions, parse_overrides, parse_template,
    resolve_parameters,
};
use serde_json::{Value, json};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml at the repository root");
    parse_template(&text).expect("template.yaml parses")
}

fn overrides(args: &[&str]) -> BTreeMap<String, String> {
    parse_overrides(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

/// Every value in `v` (depth first).
fn all_values(v: &Value, out: &mut Vec<Value>) {
    out.push(v.clone());
    match v {
        Value::Array(items) => items.iter().for_each(|i| all_values(i, out)),
        Value::Object(map) => map.values().for_each(|i| all_values(i, out)),
        _ => {}
    }
}

#[test]
fn short_forms_are_in_long_form() {
    let t = template();
    let mut values = Vec::new();
    all_values(&t, &mut values);
    // SAM needs `Version.Version` intact: `!GetAtt HelloFunction.Version.Version` splits on the first dot.
    assert!(
        values.contains(&json!({"Fn::GetAtt": ["HelloFunction", "Version.Version"]})),
        "no long-form GetAtt of HelloFunction.Version.Version"
    );
    assert!(values.contains(&json!({"Ref": "MetricsNamespace"})));
    assert_eq!(
        t["Conditions"]["HasPreTrafficHook"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "PreTrafficHook"}, ""]}]})
    );
    assert_eq!(
        t["Conditions"]["HasPostTrafficHook"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "PostTrafficHook"}, ""]}]})
    );
    assert_eq!(
        t["Resources"]["HelloFunction"]["Properties"]["DeploymentPreference"]["Hooks"]["PreTraffic"],
        json!({"Fn::If": ["HasPreTrafficHook", {"Ref": "PreTrafficHook"}, {"Ref": "AWS::NoValue"}]})
    );
    // No YAML tag survives as anything but a long form: every single-key mapping whose key looks
    // like an intrinsic is one CloudFormation knows.
    for v in &values {
        if let Some(map) = v.as_object().filter(|m| m.len() == 1) {
            let key = map.keys().next().unwrap();
            assert!(!key.starts_with('!'), "tag left as a key: {key}");
        }
    }
}

#[test]
fn parameters_take_their_defaults() {
    let t = template();
    let values = resolve_parameters(&t, &BTreeMap::new()).unwrap();
    let mut declared: Vec<&String> = t["Parameters"].as_object().unwrap().keys().collect();
    declared.sort();
    assert_eq!(values.keys().collect::<Vec<_>>(), declared);
    assert_eq!(
        values["DeploymentType"],
        t["Parameters"]["DeploymentType"]["Default"]
    );
    assert_eq!(values["MetricsNamespace"], "Rollcall");
    // Ref of a Number parameter is a string.
    let threshold = &t["Parameters"]["ErrorRateThresholdPercent"]["Default"];
    assert!(threshold.is_number());
    assert_eq!(
        values["ErrorRateThresholdPercent"],
        json!(threshold.to_string())
    );
}

#[test]
fn overrides_replace_defaults() {
    let t = template();
    let values = resolve_parameters(
        &t,
        &overrides(&[
            "DeploymentType=AllAtOnce",
            "ParameterKey=PreTrafficHook,ParameterValue=CodeDeployHook_pre",
            "MetricsNamespace=Rollcall/Test",
        ]),
    )
    .unwrap();
    assert_eq!(values["DeploymentType"], "AllAtOnce");
    assert_eq!(values["PreTrafficHook"], "CodeDeployHook_pre");
    assert_eq!(values["MetricsNamespace"], "Rollcall/Test");
}

#[test]
fn the_metrics_namespace_pattern_refuses_aws_namespaces() {
    let t = template();
    let err = resolve_parameters(&t, &overrides(&["MetricsNamespace=AWS/x"])).unwrap_err();
    assert!(matches!(err, ParameterError::Invalid { ref name, .. } if name == "MetricsNamespace"));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "parameter MetricsNamespace: value \"AWS/x\" does not match AllowedPattern ^(?!AWS/)"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("pass --parameter-overrides MetricsNamespace=<a valid value>"),
        "{text}"
    );
    resolve_parameters(&t, &overrides(&["MetricsNamespace=Rollcall"])).unwrap();
    // `:` first is refused by the same pattern; a look-alike that is not `AWS/` passes.
    assert!(resolve_parameters(&t, &overrides(&["MetricsNamespace=:x"])).is_err());
    resolve_parameters(&t, &overrides(&["MetricsNamespace=AWSx/y"])).unwrap();
}

#[test]
fn an_unknown_deployment_type_names_the_allowed_values() {
    let t = template();
    let err = resolve_parameters(&t, &overrides(&["DeploymentType=Nope"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("parameter DeploymentType: value \"Nope\" is not one of AllowedValues ["),
        "{err}"
    );
    assert!(err.contains("Linear10PercentEvery1Minute"), "{err}");
    assert!(err.contains("AllAtOnce"), "{err}");
}

#[test]
fn an_override_of_an_undeclared_parameter_lists_the_declared_ones() {
    let t = template();
    let err = resolve_parameters(&t, &overrides(&["DeploymentTyp=AllAtOnce"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Parameters: [DeploymentTyp] do not exist in the template (it declares: "),
        "{err}"
    );
    assert!(err.contains("DeploymentType"), "{err}");
    assert!(
        err.ends_with("fix the name in --parameter-overrides"),
        "{err}"
    );
}

#[test]
fn hook_conditions_follow_the_hook_parameters() {
    let t = template();
    let pseudo = Pseudo::for_stack("us-east-1", "123456789012", "rollcall", "id");
    let values = StackValues::new(
        &t,
        resolve_parameters(&t, &BTreeMap::new()).unwrap(),
        pseudo.clone(),
    )
    .unwrap();
    let conditions = evaluate_conditions(&t, &values).unwrap();
    // (Other conditions may come and go with the template; these two gate the hooks.)
    assert!(!conditions["HasPreTrafficHook"], "{conditions:?}");
    assert!(!conditions["HasPostTrafficHook"], "{conditions:?}");

    let parameters =
        resolve_parameters(&t, &overrides(&["PreTrafficHook=CodeDeployHook_pre"])).unwrap();
    let values = StackValues::new(&t, parameters, pseudo).unwrap();
    assert!(values.conditions["HasPreTrafficHook"]);
    assert!(!values.conditions["HasPostTrafficHook"]);
}
