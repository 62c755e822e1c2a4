//! Intrinsic functions and conditions on small templates, including the errors' wording.

use std::collections::BTreeMap;

use cloudformation::{
    IntrinsicError, Pseudo, StackValues, evaluate_conditions, parse_template, resolve,
    resolve_parameters,
};
use serde_json::{Value, json};

const TEMPLATE: &str = r#"
Parameters:
  Name: {Type: String, Default: web}
  Size: {Type: Number, Default: 3}
  Zones: {Type: CommaDelimitedList, Default: "a, b,c"}
  Flag: {Type: String, Default: "yes", AllowedValues: ["yes", "no"]}
Mappings:
  Sizes:
    web: {Memory: 256, Tier: small}
Conditions:
  IsWeb: !Equals [!Ref Name, web]
  IsThree: !Equals [!Ref Size, 3]
  Both: !And [!Condition IsWeb, !Condition IsThree]
  Neither: !Not [!Or [!Condition IsWeb, !Condition IsThree]]
  FlagOn: !Equals [yes, !Ref Flag]
Resources:
  Bucket: {Type: AWS::S3::Bucket}
"#;

fn values() -> (Value, StackValues) {
    let t = parse_template(TEMPLATE).unwrap();
    let parameters = resolve_parameters(&t, &BTreeMap::new()).unwrap();
    let pseudo = Pseudo::for_stack("eu-west-1", "123456789012", "demo", "id-1");
    let mut values = StackValues::new(&t, parameters, pseudo).unwrap();
    values.created(
        "Bucket",
        json!("demo-bucket-x1"),
        [("Arn".to_owned(), json!("arn:aws:s3:::demo-bucket-x1"))],
    );
    (t, values)
}

/// `yaml` (one value, short forms allowed) resolved against [`values`].
fn eval(yaml: &str) -> Result<Value, IntrinsicError> {
    let (_, values) = values();
    let wrapped = parse_template(&format!("V: {yaml}")).unwrap();
    resolve(&wrapped["V"], &values, "Resources.R.Properties.V")
}

#[test]
fn conditions_use_parameters_and_each_other() {
    let (t, values) = values();
    let conditions = evaluate_conditions(&t, &values).unwrap();
    assert_eq!(
        conditions,
        BTreeMap::from(
            [
                ("Both", true),
                ("FlagOn", true),
                ("IsThree", true),
                ("IsWeb", true),
                ("Neither", false)
            ]
            .map(|(k, v)| (k.to_owned(), v))
        )
    );
}

#[test]
fn refs_of_parameters_pseudo_parameters_and_resources() {
    assert_eq!(eval("!Ref Name").unwrap(), "web");
    assert_eq!(eval("!Ref Size").unwrap(), "3");
    assert_eq!(eval("!Ref Zones").unwrap(), json!(["a", "b", "c"]));
    assert_eq!(eval("!Ref AWS::StackName").unwrap(), "demo");
    assert_eq!(eval("!Ref Bucket").unwrap(), "demo-bucket-x1");
    assert_eq!(
        eval("!GetAtt Bucket.Arn").unwrap(),
        "arn:aws:s3:::demo-bucket-x1"
    );
    assert_eq!(
        eval("{Fn::GetAtt: Bucket.Arn}").unwrap(),
        "arn:aws:s3:::demo-bucket-x1"
    );
    assert_eq!(
        eval("!GetAtt [Bucket, !Ref AWS::NoValue]")
            .unwrap_err()
            .message,
        "Fn::GetAtt's attribute is Ref AWS::NoValue, which only removes a property or list item: give a value"
    );
}

#[test]
fn sub_in_both_forms() {
    assert_eq!(
        eval("!Sub '${Name}-${AWS::Region}-${Bucket}-${Bucket.Arn}-${!Literal}-${Size}'").unwrap(),
        "web-eu-west-1-demo-bucket-x1-arn:aws:s3:::demo-bucket-x1-${Literal}-3"
    );
    assert_eq!(
        eval("!Sub ['${A}/${Name}', {A: !Join [':', [x, !Ref Name]]}]").unwrap(),
        "x:web/web"
    );
    // A variable of the map shadows a parameter of the same name.
    assert_eq!(eval("!Sub ['${Name}', {Name: other}]").unwrap(), "other");
}

#[test]
fn if_with_no_value_removes_keys_and_items() {
    assert_eq!(
        eval("{A: !If [IsWeb, 1, 2], B: !If [Neither, x, !Ref AWS::NoValue], C: [a, !If [Neither, b, !Ref AWS::NoValue], c]}").unwrap(),
        json!({"A": 1, "C": ["a", "c"]})
    );
    // Only the chosen branch is evaluated: the other may name what does not exist.
    assert_eq!(eval("!If [IsWeb, ok, !Ref Nothing]").unwrap(), "ok");
    // An inline condition (leniently) and the condition functions as values.
    assert_eq!(eval("!If [!Equals [!Ref Name, web], y, n]").unwrap(), "y");
    assert_eq!(eval("!Not [!Condition IsWeb]").unwrap(), false);
    assert_eq!(eval("!Ref AWS::NoValue").unwrap(), Value::Null);
}

#[test]
fn list_and_string_functions() {
    assert_eq!(
        eval("!Join ['-', [a, !Ref Size, true]]").unwrap(),
        "a-3-true"
    );
    assert_eq!(eval("!Join [',', !Ref Zones]").unwrap(), "a,b,c");
    assert_eq!(eval("!Select [1, !Ref Zones]").unwrap(), "b");
    assert_eq!(eval("!Select ['2', !Split ['/', 'x/y/z']]").unwrap(), "z");
    assert_eq!(eval("!FindInMap [Sizes, !Ref Name, Memory]").unwrap(), 256);
    assert_eq!(eval("!Base64 hello").unwrap(), "aGVsbG8=");
    assert_eq!(
        eval("!GetAZs ''").unwrap(),
        json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    );
    assert_eq!(
        eval("{Fn::ToJsonString: {a: !Ref Name}}").unwrap(),
        r#"{"a":"web"}"#
    );
    assert_eq!(eval("{Fn::Length: !Ref Zones}").unwrap(), 3);
}

/// Each error names the place and the function, and says what to do.
#[test]
fn errors_name_the_place_and_the_fix() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "!Ref Nope",
            "Resources.R.Properties.V.Ref",
            "Ref Nope: no parameter or resource named Nope has a value (declare the parameter under Parameters, or create the resource Nope before the one that refers to it)",
        ),
        (
            "!Ref AWS::Regio",
            "Resources.R.Properties.V.Ref",
            "Ref AWS::Regio: no such pseudo parameter (known: AWS::AccountId",
        ),
        (
            "!GetAtt Bucket.DomainName",
            "Resources.R.Properties.V.Fn::GetAtt",
            "Fn::GetAtt Bucket.DomainName: no value (the resource Bucket is not created yet, or has no attribute DomainName): fix the name, or create Bucket first",
        ),
        (
            "!If [IsWbe, a, b]",
            "Resources.R.Properties.V.Fn::If[0]",
            "condition IsWbe is not declared: add it under Conditions or fix the name",
        ),
        (
            "!If [IsWeb, a]",
            "Resources.R.Properties.V.Fn::If",
            "Fn::If takes [ConditionName, ValueIfTrue, ValueIfFalse], found a list of 2 items",
        ),
        (
            "!Sub 'x-${Name'",
            "Resources.R.Properties.V.Fn::Sub",
            "Fn::Sub: `${` at byte 2 of \"x-${Name\" is not closed by `}`: write `${Name}`, or `${!Text}` for a literal `${Text}`",
        ),
        (
            "!Sub '${Zones}'",
            "Resources.R.Properties.V.Fn::Sub",
            "Fn::Sub: ${Zones} is a list, and Fn::Sub takes strings only: use Fn::Join (or Fn::Select) for a list",
        ),
        (
            "!Select [5, !Ref Zones]",
            "Resources.R.Properties.V.Fn::Select",
            "Fn::Select index 5 is out of range: the list has 3 items",
        ),
        (
            "!FindInMap [Sizes, web, Cpu]",
            "Resources.R.Properties.V.Fn::FindInMap",
            "Fn::FindInMap [Sizes, web, Cpu]: Mappings.Sizes.web has no key Cpu: add it under Mappings or fix the name",
        ),
        (
            "!Join [',', !Ref Name]",
            "Resources.R.Properties.V.Fn::Join[1]",
            "Fn::Join's values must be a list, found a string",
        ),
        (
            "{Fn::Frobnicate: x}",
            "Resources.R.Properties.V.Fn::Frobnicate",
            "unknown intrinsic function Fn::Frobnicate: CloudFormation's are Ref, Condition,",
        ),
        (
            "!ImportValue shared-vpc",
            "Resources.R.Properties.V.Fn::ImportValue",
            "Fn::ImportValue: the lab runs one stack and has no other stacks' exports: pass the value as a parameter instead",
        ),
        (
            "{A: {B: [x, !Ref Missing]}}",
            "Resources.R.Properties.V.A.B[1].Ref",
            "Ref Missing: no parameter or resource named Missing",
        ),
    ];
    for (yaml, path, message) in cases {
        let err = eval(yaml).expect_err(yaml);
        assert_eq!(err.path, *path, "{yaml}: {err}");
        assert!(err.message.starts_with(message), "{yaml}: {err}");
        assert_eq!(err.to_string(), format!("{}: {}", err.path, err.message));
    }
}

#[test]
fn a_condition_cycle_is_listed() {
    let t = parse_template(
        "Conditions:\n  A: !Condition B\n  B: !Not [!Condition C]\n  C: !Condition A\nResources: {}\n",
    )
    .unwrap();
    let values = StackValues::new(
        &parse_template("Resources: {}").unwrap(),
        BTreeMap::new(),
        Pseudo::for_stack("us-east-1", "123456789012", "s", "i"),
    )
    .unwrap();
    let err = evaluate_conditions(&t, &values).unwrap_err();
    assert_eq!(err.path, "Conditions.C.Condition");
    assert_eq!(
        err.message,
        "circular condition reference A -> B -> C -> A: break the cycle"
    );
}

#[test]
fn an_undeclared_condition_is_named_with_the_declared_ones() {
    let t =
        parse_template("Conditions:\n  A: !Condition Bee\n  B: !Equals [1, 1]\nResources: {}\n")
            .unwrap();
    let err = StackValues::new(
        &t,
        BTreeMap::new(),
        Pseudo::for_stack("us-east-1", "123456789012", "s", "i"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Conditions.A.Condition: Condition Bee is not declared under Conditions (declared: A, B): fix the name or declare it"
    );
}

#[test]
fn conditional_outputs_and_resources_follow_their_conditions() {
    let (_, values) = values();
    let t = parse_template(
        r#"
Conditions:
  IsWeb: !Equals [a, a]
  Never: !Equals [a, b]
Resources:
  Always: {Type: T}
  Sometimes: {Type: T, Condition: Never}
Outputs:
  Shown: {Value: !Ref Zones, Condition: IsWeb, Export: {Name: !Sub "${AWS::StackName}-zones"}}
  Hidden: {Value: !Ref Nothing, Condition: Never}
  Bad: {Value: !Ref Nothing}
"#,
    )
    .unwrap();
    let resources = cloudformation::resources(&t).unwrap();
    assert!(resources[0].is_included(&values).unwrap());
    // `values` knows its own template's conditions: Never is not among them.
    let err = resources[1].is_included(&values).unwrap_err();
    assert_eq!(err.path, "Resources.Sometimes.Condition");

    let values = StackValues::new(&t, values.parameters.clone(), values.pseudo.clone()).unwrap();
    assert!(!resources[1].is_included(&values).unwrap());
    let err = cloudformation::resolve_outputs(&t, &values).unwrap_err();
    assert_eq!(err.path, "Outputs.Bad.Value.Ref");
    let mut t = t;
    t["Outputs"].as_object_mut().unwrap().remove("Bad");
    let outputs = cloudformation::resolve_outputs(&t, &values).unwrap();
    assert_eq!(outputs.keys().collect::<Vec<_>>(), ["Shown"]);
    assert_eq!(outputs["Shown"].value_text(), "a,b,c");
    assert_eq!(outputs["Shown"].export_name.as_deref(), Some("demo-zones"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(11),
            ..ProptestConfig::default()
        })]

        /// Fn::Join of Fn::Split gives the text back, and Fn::Select picks what `str::split` does.
        #[test]
        fn join_of_split_is_the_text(text in "[a-c,;${}! ]{0,24}", delimiter in "[,;]{1,2}", index in 0usize..6) {
            let (_, values) = values();
            let split = json!({"Fn::Split": [delimiter, text]});
            let joined = resolve(&json!({"Fn::Join": [delimiter, split]}), &values, "V").unwrap();
            prop_assert_eq!(joined, Value::String(text.clone()));
            let parts: Vec<&str> = text.split(delimiter.as_str()).collect();
            let selected = resolve(&json!({"Fn::Select": [index, split]}), &values, "V");
            match parts.get(index) {
                Some(part) => prop_assert_eq!(selected.unwrap(), Value::String((*part).to_owned())),
                None => prop_assert!(selected.unwrap_err().message.contains("out of range")),
            }
        }

        /// A Sub string whose `${` are all escaped (`${!`) resolves to the text itself.
        #[test]
        fn escaped_sub_text_is_literal(text in "[a-z${}!:/ ]{0,32}") {
            let (_, values) = values();
            let escaped = text.replace("${", "${!");
            let out = resolve(&json!({"Fn::Sub": escaped}), &values, "V").unwrap();
            prop_assert_eq!(out, Value::String(text));
        }

        /// Any value given in either override form comes back as given.
        #[test]
        fn overrides_keep_their_values(key in "[A-Za-z][A-Za-z0-9]{0,12}", value in "\\PC{0,24}") {
            for arg in [format!("{key}={value}"), format!("ParameterKey={key},ParameterValue={value}")] {
                let parsed = cloudformation::parse_overrides(&[arg]).unwrap();
                prop_assert_eq!(parsed.get(&key), Some(&value));
                prop_assert_eq!(parsed.len(), 1);
            }
        }
    }
}
