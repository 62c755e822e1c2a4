//! Parameter overrides and constraints on small templates, and the errors' wording.

use std::collections::BTreeMap;

use cloudformation::{
    ParameterError, parse_overrides, parse_template, resolve_parameters, split_overrides,
};
use serde_json::{Value, json};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn resolve(yaml: &str, overrides: &[&str]) -> Result<BTreeMap<String, Value>, ParameterError> {
    let t = parse_template(&format!("{yaml}\nResources: {{}}\n")).unwrap();
    resolve_parameters(&t, &parse_overrides(&args(overrides))?)
}

#[test]
fn both_override_forms_and_values_with_separators() {
    let overrides = parse_overrides(&args(&[
        "A=x=y, z",
        "ParameterKey=B,ParameterValue=p,q=r s",
        "C=",
        "A=x=y, z",
    ]))
    .unwrap();
    assert_eq!(
        overrides,
        BTreeMap::from(
            [("A", "x=y, z"), ("B", "p,q=r s"), ("C", "")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        )
    );
    assert_eq!(
        split_overrides(r#"A=1 B='two words' ParameterKey=C,ParameterValue="x y""#).unwrap(),
        ["A=1", "B=two words", "ParameterKey=C,ParameterValue=x y"]
    );
    assert!(split_overrides("A='open").is_err());
}

#[test]
fn malformed_overrides_say_the_forms() {
    let cases = [
        (
            "NoEquals",
            "parameter override \"NoEquals\": no `=`: write Key=Value or ParameterKey=Key,ParameterValue=Value",
        ),
        (
            "ParameterKey=A,Value=1",
            "parameter override \"ParameterKey=A,Value=1\": ParameterKey without ,ParameterValue=: write Key=Value or ParameterKey=Key,ParameterValue=Value",
        ),
        (
            "=1",
            "parameter override \"=1\": the parameter name must be alphanumeric (as the template declares it): write Key=Value or ParameterKey=Key,ParameterValue=Value",
        ),
        (
            "My-Param=1",
            "parameter override \"My-Param=1\": the parameter name must be alphanumeric (as the template declares it): write Key=Value or ParameterKey=Key,ParameterValue=Value",
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(
            parse_overrides(&args(&[given])).unwrap_err().to_string(),
            expected
        );
    }
    assert_eq!(
        parse_overrides(&args(&["A=1", "A=2"]))
            .unwrap_err()
            .to_string(),
        "parameter A is overridden twice (\"1\" and \"2\"): give it once"
    );
}

#[test]
fn types_give_strings_and_lists() {
    let yaml = r#"
Parameters:
  S: {Type: String, Default: ""}
  N: {Type: Number, Default: 2.5}
  L: {Type: CommaDelimitedList, Default: "a, b ,c"}
  E: {Type: CommaDelimitedList, Default: ""}
  LN: {Type: "List<Number>", Default: "1,2"}
  K: {Type: "AWS::EC2::KeyPair::KeyName", Default: kp}
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "subnet-1,subnet-2"}
"#;
    let values = resolve(yaml, &[]).unwrap();
    assert_eq!(
        Value::from_iter(values),
        json!({"E": [], "K": "kp", "L": ["a", "b", "c"], "LN": ["1", "2"], "N": "2.5", "S": "", "Subnets": ["subnet-1", "subnet-2"]})
    );
    let values = resolve(yaml, &["LN=3, 4", "N=-1"]).unwrap();
    assert_eq!(values["LN"], json!(["3", "4"]));
    assert_eq!(values["N"], "-1");
}

#[test]
fn constraints_are_checked_and_named() {
    let yaml = r#"
Parameters:
  Count: {Type: Number, Default: 5, MinValue: 1, MaxValue: 10}
  Name: {Type: String, Default: abc, MinLength: 2, MaxLength: 4, AllowedPattern: "[a-z]+", ConstraintDescription: lower-case letters}
  Sizes: {Type: "List<Number>", Default: "1", AllowedValues: [1, 2]}
"#;
    resolve(yaml, &[]).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "Count=0",
            "parameter Count: value \"0\" is below MinValue 1: pass --parameter-overrides Count=<a valid value>",
        ),
        (
            "Count=11",
            "parameter Count: value \"11\" is above MaxValue 10: pass --parameter-overrides Count=<a valid value>",
        ),
        (
            "Count=ten",
            "parameter Count: value \"ten\" is not a number (Type Number): pass --parameter-overrides Count=<a valid value>",
        ),
        (
            "Name=a",
            "parameter Name: value \"a\" is shorter than MinLength 2 (lower-case letters): pass --parameter-overrides Name=<a valid value>",
        ),
        (
            "Name=abcde",
            "parameter Name: value \"abcde\" is longer than MaxLength 4 (lower-case letters): pass --parameter-overrides Name=<a valid value>",
        ),
        // The pattern matches the whole value, not a part of it.
        (
            "Name=ab1",
            "parameter Name: value \"ab1\" does not match AllowedPattern [a-z]+ (lower-case letters): pass --parameter-overrides Name=<a valid value>",
        ),
        (
            "Sizes=1,3",
            "parameter Sizes: value \"3\" is not one of AllowedValues [1, 2]: pass --parameter-overrides Sizes=<a valid value>",
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(
            resolve(yaml, &[given]).unwrap_err().to_string(),
            *expected,
            "{given}"
        );
    }
}

#[test]
fn a_parameter_without_default_or_override_says_how_to_pass_it() {
    let yaml = "Parameters:\n  Stage: {Type: String}\n";
    assert_eq!(
        resolve(yaml, &[]).unwrap_err().to_string(),
        "parameter Stage has no Default: pass --parameter-overrides Stage=..."
    );
    assert_eq!(resolve(yaml, &["Stage=prod"]).unwrap()["Stage"], "prod");
}

#[test]
fn declarations_the_lab_cannot_use_are_refused() {
    let cases = [
        (
            "Parameters:\n  A: {Type: Strin, Default: x}\n",
            "Parameters.A: unknown Type Strin: use String, Number, CommaDelimitedList, List<Number> or an AWS-specific type",
        ),
        (
            "Parameters:\n  A: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /x}\n",
            "Parameters.A: Type AWS::SSM::Parameter::Value<String> reads Systems Manager, which the lab has no copy of: declare the parameter `Type: String` and pass its value",
        ),
        (
            "Parameters:\n  A: {Type: String, Default: x, AllowedPattern: '(unclosed'}\n",
            "Parameters.A: AllowedPattern \"(unclosed\" is not a valid regular expression: ",
        ),
        (
            "Parameters:\n  A: {Default: x}\n",
            "Parameters.A: Type is missing or not a string: give one, e.g. `Type: String`",
        ),
    ];
    for (yaml, expected) in cases {
        let err = resolve(yaml, &[]).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
}

#[test]
fn a_template_without_parameters_refuses_any_override() {
    assert_eq!(
        resolve("Description: x", &["A=1"]).unwrap_err().to_string(),
        "Parameters: [A] do not exist in the template (it declares: none): fix the name in --parameter-overrides"
    );
    assert!(resolve("Description: x", &[]).unwrap().is_empty());
}

#[test]
fn declarations_show_type_default_and_no_echo() {
    let t = parse_template(
        "Parameters:\n  Secret: {Type: String, NoEcho: true, Description: a token}\n  N: {Type: Number, Default: 5}\n  L: {Type: CommaDelimitedList, Default: [a, b]}\nResources: {}\n",
    )
    .unwrap();
    let declared = cloudformation::declared_parameters(&t).unwrap();
    let summary: Vec<(&str, &str, Option<&str>, bool)> = declared
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.parameter_type.as_str(),
                d.default.as_deref(),
                d.no_echo,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("L", "CommaDelimitedList", Some("a,b"), false),
            ("N", "Number", Some("5"), false),
            ("Secret", "String", None, true)
        ]
    );
    assert_eq!(declared[2].description.as_deref(), Some("a token"));
}
