//! A template applied through the lab's stack engine (`LabStackEngine`, what `serve
//! --template` and UpdateStack run) and read back from the lab's CloudFormation store, as
//! DescribeStacks and GetTemplate answer. Plain CloudFormation with local code (no
//! Transform), so no Python.

mod template_support;

use std::path::{Path, PathBuf};

use lab::api::cloudformation::{StackEngine, StackRequest, TemplateSource};
use lab::control::stacks::StackStatus;
use lab::lab::Lab;
use lab::spec::LabSpec;
use lab::template::cli::StackSource;
use lab::template::lab_engine::LabStackEngine;
use serde_json::{Value, json};
use template_support::apply::options;

/// A code dir running `hello` as `bootstrap`.
fn code(dir: &Path) -> PathBuf {
    let code = dir.join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(
        test_support::executable(&["hello"], "hello"),
        code.join("bootstrap"),
    )
    .unwrap();
    code
}

/// Writes `template` as `name` in `dir`; the stack source of it.
fn source(dir: &Path, name: &str, template: &Value) -> StackSource {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(template).unwrap()).unwrap();
    StackSource {
        stack_name: "demo".into(),
        template_path: path,
        overrides: Default::default(),
    }
}

/// One function of `runtime`, a parameter `Mark` defaulting to `mark`, an output `Marked`.
fn template(runtime: &str, mark: &str) -> Value {
    json!({
        "Description": format!("mark {mark}"),
        "Parameters": {"Mark": {"Type": "String", "Default": mark}},
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "Code": "code", "Handler": "bootstrap", "Runtime": runtime,
                "Environment": {"Variables": {"MARK": {"Ref": "Mark"}}}}}
        },
        "Outputs": {"Marked": {"Value": {"Fn::Sub": "${Fn}/${Mark}"}}}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_leaves_the_stacks_template_parameters_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    code(dir.path());
    let lab = Lab::start_spec(&LabSpec::new(), &options()).await.unwrap();
    let engine = LabStackEngine::for_lab(&lab, "python3".into());
    let first = source(dir.path(), "v1.json", &template("provided.al2023", "a"));
    let created = engine.create(&first).await.unwrap();
    assert!(created.complete, "{created:?}");
    let before = lab.stacks.get("demo").unwrap();
    assert_eq!(before.parameters[0].value, "a");
    assert!(
        before.outputs[0].value.ends_with("/a"),
        "{:?}",
        before.outputs
    );

    // A runtime the lab does not run: the function's update fails, the stack rolls back.
    let second = source(dir.path(), "v2.json", &template("java21", "b"));
    let prepared = engine.prepare(&second).unwrap();
    let updated = engine.update(&second, prepared).await.unwrap();
    assert!(!updated.complete, "{updated:?}");
    let after = lab.stacks.get("demo").unwrap();
    assert_eq!(after.status, StackStatus::UpdateRollbackComplete);
    assert_eq!(after.parameters, before.parameters);
    assert_eq!(after.outputs, before.outputs);
    assert_eq!(updated.outputs[0].1, before.outputs[0].value);
    assert_eq!(after.template_original, before.template_original);
    assert_eq!(after.template_processed, before.template_processed);
    assert_eq!(after.description.as_deref(), Some("mark a"));
    // UsePreviousTemplate reads the template of the stack as it is: the first, unchanged.
    let again = engine.update_stack(StackRequest {
        stack_name: "demo".into(),
        template: TemplateSource::UsePrevious,
        parameters: Vec::new(),
        capabilities: Vec::new(),
    });
    let refused = again.expect_err("nothing changed");
    assert!(
        refused.message.contains("No updates are to be performed"),
        "{refused:?}"
    );
}
