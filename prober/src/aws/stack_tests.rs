use super::*;

const ALIAS: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-Hello-X:live";

fn outputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn resources() -> Vec<Resource> {
    [
        ("HelloFunctionAliaslive", "AWS::Lambda::Alias", ALIAS),
        (
            "ServerlessDeploymentApplication",
            "AWS::CodeDeploy::Application",
            "demo-App-1",
        ),
        (
            "HelloFunctionDeploymentGroup",
            "AWS::CodeDeploy::DeploymentGroup",
            "demo-Group-2",
        ),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect()
}

fn template() -> Value {
    serde_json::json!({"Resources": {"HelloFunctionAliaslive": {
        "Type": "AWS::Lambda::Alias",
        "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": {
            "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
            "DeploymentGroupName": {"Ref": "HelloFunctionDeploymentGroup"}
        }}
    }}})
}

#[test]
fn the_prober_command_names_the_url_and_the_alias_policy_the_group() {
    let out = outputs(&[
        (
            "ApiUrl",
            "https://abc.execute-api.us-east-1.amazonaws.com/Prod/",
        ),
        ("FunctionUrl", "http://127.0.0.1:9/"),
        (
            "ProberCommand",
            "prober --url https://abc.execute-api.us-east-1.amazonaws.com/Prod/hello --schedule X",
        ),
        ("LiveAliasArn", ALIAS),
    ]);
    let t = choose(
        "demo",
        "CREATE_COMPLETE",
        &out,
        &resources(),
        Some(&template()),
        None,
    )
    .unwrap();
    assert_eq!(
        t.url,
        "https://abc.execute-api.us-east-1.amazonaws.com/Prod/hello"
    );
    assert_eq!(t.report.url_output.as_deref(), Some("ProberCommand"));
    assert_eq!(t.alias.as_deref(), Some(ALIAS));
    assert_eq!(t.group, Some(("demo-App-1".into(), "demo-Group-2".into())));
    let t = choose(
        "demo",
        "CREATE_COMPLETE",
        &out,
        &resources(),
        Some(&template()),
        Some("FunctionUrl"),
    )
    .unwrap();
    assert_eq!(t.url, "http://127.0.0.1:9/");
}

#[test]
fn ambiguous_or_missing_urls_are_refused_listing_the_outputs() {
    let out = outputs(&[("A", "https://a/"), ("B", "https://b/")]);
    let e = choose("demo", "X", &out, &[], None, None).unwrap_err();
    assert_eq!(e.exit_code(), 64);
    assert!(
        e.to_string().contains("A, B") && e.to_string().contains("--stack-output"),
        "{e}"
    );
    let e = choose("demo", "X", &out, &[], None, Some("C")).unwrap_err();
    assert!(e.to_string().contains("no such output"), "{e}");
    let only = outputs(&[("A", "https://a/"), ("N", "not a url")]);
    let t = choose("demo", "X", &only, &[], None, None).unwrap();
    assert_eq!(
        (t.url.as_str(), t.alias, t.group),
        ("https://a/", None, None)
    );
}

#[test]
fn several_aliases_without_an_alias_output_are_refused() {
    let mut r = resources();
    r.push((
        "OtherAlias".into(),
        "AWS::Lambda::Alias".into(),
        "arn:aws:lambda:us-east-1:1:function:o:live".into(),
    ));
    let out = outputs(&[("A", "https://a/")]);
    let e = choose("demo", "X", &out, &r, None, None).unwrap_err();
    assert!(e.to_string().contains("several aliases"), "{e}");
    assert!(is_alias_arn(ALIAS));
    assert!(!is_alias_arn("arn:aws:lambda:us-east-1:1:function:o:3"));
}
