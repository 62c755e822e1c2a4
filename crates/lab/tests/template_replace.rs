//! Property changes CloudFormation cannot make in place (a function's or an alias's name, the
//! function a version or alias belongs to) replace the resource: a new one with a new physical
//! id, the old one deleted in the cleanup unless its `UpdateReplacePolicy` is `Retain`.

mod template_support;

use lab::lab::Lab;
use lab::spec::LabSpec;
use lab::template::apply::{Applied, apply};
use serde_json::{Value, json};
use template_support::apply::{Statuses, code, create, options, parts, prepared};

/// Function `function` (kept when replaced if `retain`), its version `V` and alias `alias`.
fn template(function: &str, alias: &str, retain: bool) -> Value {
    let mut f = json!({"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": function,
        "Code": {"S3Bucket": "rollcall-lab", "S3Key": "code"},
        "Handler": "bootstrap", "Runtime": "provided.al2023"}});
    if retain {
        f["UpdateReplacePolicy"] = json!("Retain");
    }
    json!({"Resources": {
        "Fn": f,
        "V": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Alias": {"Type": "AWS::Lambda::Alias", "Properties": {
            "FunctionName": {"Ref": "Fn"}, "Name": alias,
            "FunctionVersion": {"Fn::GetAtt": ["V", "Version"]}}}
    }})
}

/// The aliases of each function the lab has.
fn aliases(lab: &Lab) -> Vec<(String, Vec<String>)> {
    lab.registry
        .snapshot()
        .functions
        .values()
        .map(|f| (f.name.clone(), f.aliases.keys().cloned().collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_function_or_alias_name_replaces_the_resource() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let parts = parts(&lab);
    let code = code(dir.path(), "a");
    let stack = create(&parts, template("one", "live", false), &code).await;
    assert_eq!(aliases(&lab), [("one".to_owned(), vec!["live".to_owned()])]);

    // A new FunctionName: a new function (its version and alias with it); the old one goes.
    let statuses = Statuses::default();
    let Applied::Complete(stack) = apply(
        &parts,
        stack,
        prepared(template("two", "live", false), &code),
        &statuses,
    )
    .await
    else {
        panic!("{:?}", statuses.0.lock().unwrap());
    };
    assert_eq!(stack.resources["Fn"].physical_id, "two");
    assert!(stack.resources["Alias"].physical_id.ends_with(":two:live"));
    assert_eq!(aliases(&lab), [("two".to_owned(), vec!["live".to_owned()])]);
    assert_eq!(
        statuses.of("Fn"),
        ["CREATE_IN_PROGRESS", "CREATE_COMPLETE", "DELETE_COMPLETE"]
    );
    // The cleanup deletes what depends on a resource before it.
    let deleted: Vec<String> = statuses
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, status, _)| status == "DELETE_COMPLETE")
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(deleted, ["Alias", "V", "Fn"]);

    // A new alias Name: a new alias, the old one deleted.
    let Applied::Complete(stack) = apply(
        &parts,
        stack,
        prepared(template("two", "prod", false), &code),
        &Statuses::default(),
    )
    .await
    else {
        panic!("the alias's replacement failed");
    };
    assert!(stack.resources["Alias"].physical_id.ends_with(":two:prod"));
    assert_eq!(aliases(&lab), [("two".to_owned(), vec!["prod".to_owned()])]);

    // UpdateReplacePolicy Retain keeps the replaced function.
    let statuses = Statuses::default();
    let Applied::Complete(stack) = apply(
        &parts,
        stack,
        prepared(template("three", "prod", true), &code),
        &statuses,
    )
    .await
    else {
        panic!("{:?}", statuses.0.lock().unwrap());
    };
    assert_eq!(stack.resources["Fn"].physical_id, "three");
    let names: Vec<String> = aliases(&lab).into_iter().map(|(f, _)| f).collect();
    assert_eq!(names, ["three", "two"]);
    assert_eq!(
        statuses.of("Fn").last().map(String::as_str),
        Some("DELETE_SKIPPED")
    );
}
