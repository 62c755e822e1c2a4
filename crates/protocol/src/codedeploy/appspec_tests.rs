use super::*;

const YAML: &str = r#"
version: 0.0
Resources:
  - myLambdaFunction:
      Type: AWS::Lambda::Function
      Properties:
        Name: "hello"
        Alias: "live"
        CurrentVersion: 1
        TargetVersion: "2"
Hooks:
  - BeforeAllowTraffic: "CodeDeployHook_pre"
  - AfterAllowTraffic: "CodeDeployHook_post"
"#;

fn expected() -> AppSpec {
    AppSpec {
        function: LambdaFunctionResource {
            logical_name: "myLambdaFunction".into(),
            name: "hello".into(),
            alias: "live".into(),
            current_version: "1".into(),
            target_version: "2".into(),
        },
        before_allow_traffic: Some("CodeDeployHook_pre".into()),
        after_allow_traffic: Some("CodeDeployHook_post".into()),
    }
}

#[test]
fn yaml_and_json_appspecs_read_the_same() {
    assert_eq!(AppSpec::parse(YAML).unwrap(), expected());
    let json = r#"{"version":"0.0","Resources":[{"myLambdaFunction":{"Type":"AWS::Lambda::Function",
        "Properties":{"Name":"hello","Alias":"live","CurrentVersion":"1","TargetVersion":"2"}}}],
        "Hooks":[{"BeforeAllowTraffic":"CodeDeployHook_pre"},{"AfterAllowTraffic":"CodeDeployHook_post"}]}"#;
    assert_eq!(AppSpec::parse(json).unwrap(), expected());
}

#[test]
fn hooks_are_optional() {
    let no_hooks = YAML.split("Hooks:").next().unwrap();
    let spec = AppSpec::parse(no_hooks).unwrap();
    assert_eq!(spec.function, expected().function);
    assert_eq!(
        (spec.before_allow_traffic, spec.after_allow_traffic),
        (None, None)
    );
}

/// Each refusal: the edit to the valid AppSpec, and what the message must name.
#[test]
fn every_refusal_names_the_field_and_is_an_invalid_revision() {
    let two = YAML.replace(
        "Hooks:",
        "  - other:\n      Type: AWS::Lambda::Function\nHooks:",
    );
    let cases: Vec<(String, &str)> = vec![
        (
            "version: 0.0\nResources: [".into(),
            "not well-formed YAML or JSON",
        ),
        ("- just\n- a list".into(), "not a mapping"),
        (
            YAML.replace("version: 0.0", "version: 1.0"),
            "version is 1.0",
        ),
        (YAML.replace("version: 0.0\n", ""), "version is missing"),
        (
            YAML.split("Resources:").next().unwrap().to_owned(),
            "Resources names no resource",
        ),
        (two, "names 2 resources"),
        (
            YAML.replace("AWS::Lambda::Function", "AWS::ECS::Service"),
            "Resources[0].myLambdaFunction.Type is \"AWS::ECS::Service\"",
        ),
        (
            YAML.replace("        Alias: \"live\"\n", ""),
            "Properties.Alias is missing",
        ),
        (
            YAML.replace("        CurrentVersion: 1\n", ""),
            "Properties.CurrentVersion is missing",
        ),
        (
            YAML.replace("TargetVersion: \"2\"", "TargetVersion: \"\""),
            "Properties.TargetVersion is missing",
        ),
        (
            YAML.replace("TargetVersion: \"2\"", "TargetVersion: 1"),
            "CurrentVersion and TargetVersion are both \"1\"",
        ),
        (
            YAML.replace("AfterAllowTraffic:", "AfterInstall:"),
            "Hooks[1] hooks \"AfterInstall\"",
        ),
        (
            YAML.replace("AfterAllowTraffic:", "BeforeAllowTraffic:"),
            "hooks BeforeAllowTraffic twice",
        ),
        (
            YAML.replace("\"CodeDeployHook_post\"", "[a, b]"),
            "Hooks[1].AfterAllowTraffic must name the hook function",
        ),
        (
            YAML.replace(
                "  - myLambdaFunction:",
                "  - myLambdaFunction: 3\n    other:",
            ),
            "Resources[0] must be a mapping with exactly one key",
        ),
    ];
    for (text, needle) in cases {
        let err = AppSpec::parse(&text).expect_err(&text);
        assert!(
            err.to_string().contains(needle),
            "{needle:?} not in {err}\n{text}"
        );
        let api = err.to_codedeploy_error();
        assert_eq!(api.error_type, CodeDeployErrorType::InvalidRevision);
        assert!(err.error_information_message().starts_with(INVALID_APPSPEC));
    }
}
