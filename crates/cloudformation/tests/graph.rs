//! Dependencies and creation order on small templates, and the errors' wording.

use cloudformation::{
    GraphError, creation_order, dependencies, output_dependencies, parse_template,
};

fn order(yaml: &str) -> Result<Vec<String>, GraphError> {
    creation_order(&parse_template(yaml).unwrap())
}

#[test]
fn ready_resources_come_alphabetically_and_after_what_they_name() {
    let yaml = r#"
Parameters:
  P: {Type: String}
Conditions:
  C: !Equals [!Ref P, x]
Resources:
  Zed: {Type: T}
  Alpha:
    Type: T
    Properties:
      A: !Sub "${Zed.Arn}/${P}/${AWS::Region}/${!Mid}"
  Mid:
    Type: T
    DependsOn: Alpha
    Properties:
      B: !Ref P
  Beta:
    Type: T
    Metadata:
      X: !If [C, !Ref Mid, !Ref AWS::NoValue]
"#;
    assert_eq!(order(yaml).unwrap(), ["Zed", "Alpha", "Mid", "Beta"]);
    let deps = dependencies(&parse_template(yaml).unwrap()).unwrap();
    assert!(deps["Zed"].is_empty());
    assert_eq!(deps["Alpha"].iter().collect::<Vec<_>>(), ["Zed"]);
    assert_eq!(deps["Mid"].iter().collect::<Vec<_>>(), ["Alpha"]);
    assert_eq!(deps["Beta"].iter().collect::<Vec<_>>(), ["Mid"]);
}

#[test]
fn a_sub_variable_map_hides_names_and_its_values_count() {
    let yaml = r#"
Resources:
  A: {Type: T}
  B:
    Type: T
    Properties:
      X: !Sub ["${Local}-${A}", {Local: !GetAtt C.Arn}]
  C: {Type: T}
"#;
    let deps = dependencies(&parse_template(yaml).unwrap()).unwrap();
    assert_eq!(deps["B"].iter().collect::<Vec<_>>(), ["A", "C"]);
}

#[test]
fn an_alarm_not_in_the_template_is_unresolved() {
    let yaml = r#"
Resources:
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      AlarmConfiguration:
        Alarms:
          - Name: !Ref NoSuchAlarm
          - Name: !Ref OtherMissing
          - Name: !Ref NoSuchAlarm
"#;
    let err = order(yaml).unwrap_err();
    assert_eq!(
        err,
        GraphError::Unresolved {
            resource: "Group".to_owned(),
            path: "Resources.Group.Properties.AlarmConfiguration.Alarms[0].Name.Ref".to_owned(),
            names: vec!["NoSuchAlarm".to_owned(), "OtherMissing".to_owned()],
        }
    );
    assert_eq!(
        err.to_string(),
        "Resources.Group.Properties.AlarmConfiguration.Alarms[0].Name.Ref: Unresolved resource dependencies [NoSuchAlarm, OtherMissing] in the Resources block of the template: declare them under Resources (or Parameters), or fix the name"
    );
}

#[test]
fn depends_on_an_unknown_resource_is_unresolved() {
    let err = order("Resources:\n  A: {Type: T, DependsOn: [Ghost]}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Resources.A.DependsOn: Unresolved resource dependencies [Ghost] in the Resources block of the template: declare it under Resources (or Parameters), or fix the name"
    );
}

#[test]
fn getatt_of_a_parameter_is_refused() {
    let err = order(
        "Parameters:\n  P: {Type: String}\nResources:\n  A:\n    Type: T\n    Properties:\n      X: !Sub '${P.Arn}'\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "Resources.A.Properties.X.Fn::Sub: P is a parameter, and only resources have attributes and can be depended on: name a resource"
    );
}

#[test]
fn a_cycle_is_listed() {
    let yaml = r#"
Resources:
  A: {Type: T, Properties: {X: !Ref B}}
  B: {Type: T, Properties: {X: !GetAtt C.Arn}}
  C: {Type: T, DependsOn: A}
  D: {Type: T, Properties: {X: !Ref A}}
  E: {Type: T}
"#;
    let err = order(yaml).unwrap_err();
    assert_eq!(
        err,
        GraphError::Cycle {
            resources: ["A", "B", "C", "D"].map(String::from).to_vec(),
            cycle: ["A", "B", "C", "A"].map(String::from).to_vec(),
        }
    );
    assert!(
        err.to_string().starts_with("Circular dependency between resources: [A, B, C, D] (A -> B -> C -> A): break the cycle"),
        "{err}"
    );
    // A resource naming itself is a cycle of one.
    let err = order("Resources:\n  A: {Type: T, Properties: {X: !Ref A}}\n").unwrap_err();
    assert!(err.to_string().contains("[A] (A -> A)"), "{err}");
}

#[test]
fn malformed_resources_name_the_key() {
    let err = order("Resources:\n  A: {Properties: {}}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Resources.A.Type: missing or not a string: give the resource type, e.g. `Type: AWS::Lambda::Function`"
    );
    let err = order("Resources:\n  A: {Type: T, DependsOn: {B: 1}}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Resources.A.DependsOn: DependsOn is a logical id or a list of them, found a mapping"
    );
    let err = order("Parameters: {}\n").unwrap_err().to_string();
    assert!(
        err.starts_with("Resources: missing: a template declares its resources in a mapping"),
        "{err}"
    );
}

#[test]
fn undeclared_conditions_are_named_with_the_declared_ones() {
    let err = order(
        "Conditions:\n  IsProd: !Equals [a, b]\nResources:\n  A: {Type: T, Condition: IsPrd}\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "Resources.A.Condition: condition IsPrd is not declared under Conditions (declared: IsProd): fix the name or declare it"
    );
    let err = order("Resources:\n  A: {Type: T, Properties: {X: !If [Nope, a, b]}}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "Resources.A.Properties.X.Fn::If[0]: condition Nope is not declared under Conditions (declared: none): fix the name or declare it"
    );
}

#[test]
fn outputs_name_resources_and_unknown_names_are_refused() {
    let yaml = r#"
Resources:
  Api: {Type: T}
Outputs:
  Url: {Value: !Sub "https://${Api}.${AWS::URLSuffix}"}
  Fixed: {Value: x}
  Bad: {Value: !GetAtt Apii.Arn}
"#;
    let err = output_dependencies(&parse_template(yaml).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Outputs.Bad.Value.Fn::GetAtt: Unresolved resource dependencies [Apii] in the Outputs block of the template: declare it under Resources (or Parameters), or fix the name"
    );
    let yaml = yaml.replace("Apii", "Api");
    let deps = output_dependencies(&parse_template(&yaml).unwrap()).unwrap();
    assert_eq!(deps["Url"].iter().collect::<Vec<_>>(), ["Api"]);
    assert!(deps["Fixed"].is_empty());
}
