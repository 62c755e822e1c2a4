//! `lab::template::translate` with the real SAM translator (`python3` + `aws-sam-translator`,
//! installed by scripts/setup.sh): code staging, the hashed Version id following the code, the
//! errors a user meets, and the drift guard of `tests/fixtures/template.expanded.json`.
//! Tests that need the translator are skipped with a message when it is not importable (and fail
//! in CI, which installs it); the others run no Python at all or a stand-in interpreter.

mod template_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lab::template::translate::{
    ARTIFACT_BUCKET, TranslateError, TranslateOptions, Translation, translate,
};
use serde_json::{Value, json};
use template_support::{diff, normalized, translator_version};

const SAM: &str = "AWS::Serverless-2016-10-31";

/// A project directory: a template path and code beside it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, content: &[u8]) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Writes `template.json` (the caller parses it: the JSON is passed on as well).
    fn template(&self, template: &Value) -> PathBuf {
        let path = self.path("template.json");
        std::fs::write(&path, serde_json::to_vec_pretty(template).unwrap()).unwrap();
        path
    }

    fn translate(&self, template: &Value) -> Result<Translation, TranslateError> {
        self.translate_with(template, &TranslateOptions::default())
    }

    fn translate_with(
        &self,
        template: &Value,
        options: &TranslateOptions,
    ) -> Result<Translation, TranslateError> {
        let path = self.template(template);
        translate(&path, template.clone(), &BTreeMap::new(), options)
    }
}

fn no_python() -> TranslateOptions {
    TranslateOptions {
        python: PathBuf::from("/nonexistent/rollcall-test/python3"),
        ..TranslateOptions::default()
    }
}

/// A SAM function shifted by CodeDeploy behind an HTTP API, its code in `hello/`.
fn hello_template() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM,
        "Resources": {
            "HelloFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "hello",
                    "Handler": "hello",
                    "Runtime": "provided.al2023",
                    "AutoPublishAlias": "live",
                    "DeploymentPreference": {"Type": "Linear10PercentEvery1Minute"},
                    "Events": {
                        "Hello": {"Type": "HttpApi", "Properties": {"Path": "/hello", "Method": "GET"}}
                    }
                }
            }
        }
    })
}

/// The logical ids of the resources of `type_`.
fn ids_of(translation: &Translation, type_: &str) -> Vec<String> {
    let resources = translation.template["Resources"].as_object().unwrap();
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == type_)
        .map(|(id, _)| id.clone())
        .collect()
}

fn version_id(translation: &Translation) -> String {
    let ids = ids_of(translation, "AWS::Lambda::Version");
    assert_eq!(ids.len(), 1, "one version: {ids:?}");
    ids[0].clone()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_sam_function_translates_and_its_version_id_follows_its_code() {
    let Some(version) = translator_version("sam_function_translates") else {
        return;
    };
    let project = Project::new();
    project.write("hello/hello", b"#!/bin/sh\necho one\n");
    let template = hello_template();

    let started = Instant::now();
    let first = project.translate(&template).unwrap();
    eprintln!("one translation took {:?}", started.elapsed());

    assert_eq!(first.translator_version.as_deref(), Some(version.as_str()));
    assert!(
        first.template.get("Transform").is_none(),
        "no Transform left"
    );
    assert!(first.unbuilt.is_empty());
    let function = &first.template["Resources"]["HelloFunction"];
    assert_eq!(function["Type"], "AWS::Lambda::Function");
    assert_eq!(function["Properties"]["Code"]["S3Bucket"], ARTIFACT_BUCKET);
    let key = function["Properties"]["Code"]["S3Key"].as_str().unwrap();
    let (digest, _) = lab::control::code::tree_sha256(&project.path("hello")).unwrap();
    assert_eq!(key, format!("HelloFunction-{}", hex(&digest)));
    let code_dir = std::fs::canonicalize(project.path("hello")).unwrap();
    assert_eq!(
        first.artifacts,
        BTreeMap::from([(key.to_owned(), code_dir)])
    );
    let alias = &first.template["Resources"]["HelloFunctionAliaslive"];
    assert_eq!(alias["Type"], "AWS::Lambda::Alias");
    assert!(alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"].is_object());
    assert_eq!(
        ids_of(&first, "AWS::ApiGatewayV2::Api"),
        ["ServerlessHttpApi"]
    );
    assert_eq!(
        ids_of(&first, "AWS::CodeDeploy::DeploymentGroup"),
        ["HelloFunctionDeploymentGroup"]
    );
    let first_version = version_id(&first);
    assert!(first_version.starts_with("HelloFunctionVersion"));

    let again = project.translate(&template).unwrap();
    assert_eq!(
        version_id(&again),
        first_version,
        "same code, same version id"
    );
    assert_eq!(again.artifacts, first.artifacts);

    project.write("hello/hello", b"#!/bin/sh\necho two\n");
    let changed = project.translate(&template).unwrap();
    assert_ne!(
        version_id(&changed),
        first_version,
        "new code, new version id"
    );
    let new_key = changed.template["Resources"]["HelloFunction"]["Properties"]["Code"]["S3Key"]
        .as_str()
        .unwrap();
    assert_ne!(new_key, key);
    assert_eq!(changed.artifacts.keys().collect::<Vec<_>>(), [new_key]);
}

#[test]
fn globals_code_uri_is_staged_for_each_function_that_names_none() {
    if translator_version("globals_code_uri").is_none() {
        return;
    }
    let project = Project::new();
    project.write("shared/app.py", b"def handler(event, context): return 1\n");
    let function =
        json!({"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler"}});
    let template = json!({
        "Transform": SAM,
        "Globals": {"Function": {"CodeUri": "shared", "Runtime": "python3.13"}},
        "Resources": {"One": function, "Two": function}
    });
    let translation = project.translate(&template).unwrap();
    let (digest, _) = lab::control::code::tree_sha256(&project.path("shared")).unwrap();
    for id in ["One", "Two"] {
        let code = &translation.template["Resources"][id]["Properties"]["Code"];
        let key = format!("{id}-{}", hex(&digest));
        assert_eq!(code["S3Key"], key.as_str());
        assert_eq!(
            translation.artifacts[&key],
            std::fs::canonicalize(project.path("shared")).unwrap()
        );
        // The rest of Globals still applies.
        assert_eq!(
            translation.template["Resources"][id]["Properties"]["Runtime"],
            "python3.13"
        );
    }
    assert_eq!(translation.artifacts.len(), 2);
}

#[test]
fn a_deployment_preference_without_an_alias_is_refused_naming_the_function() {
    if translator_version("deployment_preference_without_alias").is_none() {
        return;
    }
    let project = Project::new();
    project.write("hello/hello", b"binary");
    let mut template = hello_template();
    template["Resources"]["HelloFunction"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("AutoPublishAlias");
    let error = project.translate(&template).unwrap_err();
    let TranslateError::Invalid { causes, .. } = &error else {
        panic!("not a translator refusal: {error}");
    };
    assert_eq!(causes.len(), 1, "{causes:?}");
    assert_eq!(causes[0].logical_id.as_deref(), Some("HelloFunction"));
    let message = error.to_string();
    let expected = format!(
        "{}: HelloFunction: 'DeploymentPreference' requires AutoPublishAlias property to be specified.",
        project.path("template.json").display()
    );
    assert_eq!(message, expected);
}

#[test]
fn a_policy_named_but_not_known_is_refused_with_the_fix() {
    if translator_version("policy_by_name").is_none() {
        return;
    }
    let project = Project::new();
    project.write("hello/hello", b"binary");
    let mut template = hello_template();
    template["Resources"]["HelloFunction"]["Properties"]["Policies"] = json!(["MyTeamPolicy"]);
    let error = project.translate(&template).unwrap_err();
    assert!(matches!(error, TranslateError::Invalid { .. }), "{error}");
    assert!(
        error.to_string().contains("write the policy's ARN"),
        "{error}"
    );
}

#[test]
fn a_missing_code_directory_is_named_before_any_python_runs() {
    let project = Project::new();
    let error = project
        .translate_with(&hello_template(), &no_python())
        .unwrap_err();
    assert!(
        matches!(error, TranslateError::CodeNotFound { .. }),
        "{error}"
    );
    let message = error.to_string();
    for part in [
        project.path("template.json").display().to_string(),
        "HelloFunction: CodeUri \"hello\"".to_owned(),
        project.path("hello").display().to_string(),
        "does not exist".to_owned(),
    ] {
        assert!(message.contains(&part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn a_python_that_cannot_be_started_is_named_with_the_fix() {
    let project = Project::new();
    project.write("hello/hello", b"binary");
    let error = project
        .translate_with(&hello_template(), &no_python())
        .unwrap_err();
    assert!(
        matches!(error, TranslateError::PythonNotFound { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("/nonexistent/rollcall-test/python3"),
        "{message}"
    );
    assert!(
        message.ends_with("install Python 3 or pass --sam-python PATH"),
        "{message}"
    );
}

/// A `python3` that starts without site-packages (`-I -S`), where pip installs the translator.
fn python_without_site_packages(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("python3");
    std::fs::write(&path, "#!/bin/sh\nexec python3 -I -S \"$@\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_python_without_the_translator_is_told_how_to_install_it() {
    let bin = tempfile::tempdir().unwrap();
    let python = python_without_site_packages(bin.path());
    let runs = |code: &str| {
        std::process::Command::new(&python)
            .args(["-c", code])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !runs("import json") {
        eprintln!("SKIPPED python_without_translator: no python3 to run");
        return;
    }
    assert!(
        !runs("import samtranslator"),
        "-I -S still imports samtranslator"
    );
    let project = Project::new();
    project.write("hello/hello", b"binary");
    let options = TranslateOptions {
        python: python.clone(),
        ..TranslateOptions::default()
    };
    let error = project
        .translate_with(&hello_template(), &options)
        .unwrap_err();
    assert!(
        matches!(error, TranslateError::TranslatorMissing { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("No module named 'samtranslator'"),
        "{message}"
    );
    assert!(
        message.contains(
            "`python3 -m pip install aws-sam-translator==1.110.0` (or --sam-python PATH to a Python that has it)"
        ),
        "{message}"
    );
}

fn stand_in_python(dir: &Path, script: &str) -> TranslateOptions {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("python3");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    TranslateOptions {
        python: path,
        ..TranslateOptions::default()
    }
}

#[test]
fn a_translator_that_crashes_is_reported_with_its_stderr() {
    let bin = tempfile::tempdir().unwrap();
    let project = Project::new();
    project.write("hello/hello", b"binary");

    let options = stand_in_python(bin.path(), "echo 'Traceback: boom' >&2; exit 3");
    let error = project
        .translate_with(&hello_template(), &options)
        .unwrap_err();
    assert!(matches!(error, TranslateError::Crash { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("exit status: 3"), "{message}");
    assert!(message.contains("Traceback: boom"), "{message}");

    let options = stand_in_python(bin.path(), "cat >/dev/null; echo 'not json'");
    let error = project
        .translate_with(&hello_template(), &options)
        .unwrap_err();
    assert!(matches!(error, TranslateError::Crash { .. }), "{error}");
    assert!(
        error.to_string().contains("not the shim's answer"),
        "{error}"
    );
}

#[test]
fn plain_cloudformation_is_staged_without_python() {
    let project = Project::new();
    project.write("fn/bootstrap", b"#!/bin/sh\n");
    // The smallest zip: an end-of-central-directory record.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    project.write("layer.zip", &empty_zip);
    let template = json!({
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "fn", "Handler": "x", "Runtime": "provided.al2023"}},
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": "layer.zip"}},
            "Remote": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Bucket": "b", "S3Key": "k"}}}
        }
    });
    let translation = project.translate_with(&template, &no_python()).unwrap();
    assert_eq!(translation.translator_version, None);
    let (dir_digest, _) = lab::control::code::tree_sha256(&project.path("fn")).unwrap();
    let fn_key = format!("Fn-{}", hex(&dir_digest));
    use sha2::Digest as _;
    let layer_key = format!("Layer-{}", hex(&sha2::Sha256::digest(&empty_zip)));
    let resources = &translation.template["Resources"];
    assert_eq!(
        resources["Fn"]["Properties"]["Code"],
        json!({"S3Bucket": ARTIFACT_BUCKET, "S3Key": fn_key})
    );
    assert_eq!(
        resources["Layer"]["Properties"]["Content"],
        json!({"S3Bucket": ARTIFACT_BUCKET, "S3Key": layer_key})
    );
    assert_eq!(resources["Remote"], template["Resources"]["Remote"]);
    let canonical = |p: &str| std::fs::canonicalize(project.path(p)).unwrap();
    assert_eq!(
        translation.artifacts,
        BTreeMap::from([
            (fn_key, canonical("fn")),
            (layer_key, canonical("layer.zip"))
        ])
    );
}

#[test]
fn a_code_file_that_is_not_a_zip_is_refused() {
    let project = Project::new();
    project.write("notes.txt", b"not a zip");
    let template = json!({"Resources": {"Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": "notes.txt"}}}});
    let error = project.translate_with(&template, &no_python()).unwrap_err();
    assert!(
        matches!(error, TranslateError::NotAnArchive { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("Layer: Content \"notes.txt\""),
        "{error}"
    );
}

#[test]
fn another_transform_is_refused_by_name() {
    let project = Project::new();
    let template = json!({"Transform": ["AWS::LanguageExtensions", SAM], "Resources": {}});
    let error = project.translate_with(&template, &no_python()).unwrap_err();
    assert!(
        matches!(error, TranslateError::UnsupportedTransform { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("Transform AWS::LanguageExtensions"),
        "{error}"
    );
}

/// A resource built by `sam build`, read from its source template.
fn built_function(code_uri: &str) -> Value {
    json!({"Resources": {"HelloFunction": {
        "Type": "AWS::Serverless::Function",
        "Metadata": {"BuildMethod": "makefile"},
        "Properties": {"CodeUri": code_uri, "Handler": "hello", "Runtime": "provided.al2023"}
    }}})
}

#[test]
fn build_sources_are_listed_as_unbuilt_and_not_digested() {
    let project = Project::new();
    project.write("Makefile", b"build-HelloFunction:\n");
    let path = project.template(&built_function("."));
    let translation =
        translate(&path, built_function("."), &BTreeMap::new(), &no_python()).unwrap();
    assert!(translation.artifacts.is_empty());
    assert_eq!(translation.unbuilt.len(), 1);
    assert_eq!(translation.unbuilt[0].logical_id, "HelloFunction");
    assert_eq!(
        translation.template["Resources"]["HelloFunction"]["Properties"]["CodeUri"],
        format!("s3://{ARTIFACT_BUCKET}/HelloFunction-unbuilt")
    );
    let error = translation.require_built(&path).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}: HelloFunction: CodeUri \".\"", path.display())),
        "{error}"
    );
    assert!(error.contains("run `sam build`"), "{error}");
}

#[test]
fn sam_build_output_is_digested() {
    let project = Project::new();
    project.write(".aws-sam/build.toml", b"");
    project.write(".aws-sam/build/HelloFunction/hello", b"binary");
    let path = project.path(".aws-sam/build/template.yaml");
    let template = built_function("HelloFunction");
    let translation = translate(&path, template, &BTreeMap::new(), &no_python()).unwrap();
    assert!(translation.unbuilt.is_empty());
    assert!(translation.require_built(&path).is_ok());
    let dir = std::fs::canonicalize(project.path(".aws-sam/build/HelloFunction")).unwrap();
    assert_eq!(translation.artifacts.values().collect::<Vec<_>>(), [&dir]);

    std::fs::remove_dir_all(&dir).unwrap();
    let error = translate(
        &path,
        built_function("HelloFunction"),
        &BTreeMap::new(),
        &no_python(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("run `sam build` again (this build output is incomplete)"),
        "{error}"
    );
}

// ---- drift guard -------------------------------------------------------------------------------

const BLESS: &str =
    "ROLLCALL_BLESS=1 cargo nextest run -p lab --test template_translate expanded_fixture";

/// `tests/fixtures/template.expanded.json` is the translation of the repository's template.yaml
/// (what the engine's tests read without Python); `ROLLCALL_BLESS=1` rewrites it.
#[test]
fn expanded_fixture_matches_the_repository_template() {
    if translator_version("expanded_fixture").is_none() {
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let template_path = manifest.join("../../template.yaml");
    let fixture_path = manifest.join("tests/fixtures/template.expanded.json");
    let template = template_support::read_yaml_template(&template_path);
    let translation = translate(
        &template_path,
        template,
        &BTreeMap::new(),
        &TranslateOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if std::env::var("ROLLCALL_BLESS").as_deref() == Ok("1") {
        let mut text = serde_json::to_string_pretty(&translation.template).unwrap();
        text.push('\n');
        std::fs::write(&fixture_path, text).unwrap();
        eprintln!("rewrote {}", fixture_path.display());
        return;
    }
    let text = std::fs::read_to_string(&fixture_path)
        .unwrap_or_else(|e| panic!("{}: {e}; write it: {BLESS}", fixture_path.display()));
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let (got, want) = (normalized(&translation.template), normalized(&fixture));
    let mut differences = Vec::new();
    diff("", &want, &got, &mut differences);
    assert!(
        differences.is_empty(),
        "{} is not the translation of template.yaml any more (hashed ids and code digests aside); differences (fixture -> now):\n{}\nregenerate it: {BLESS}",
        fixture_path.display(),
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
