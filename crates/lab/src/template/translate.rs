//! TEMPORARY stand-in (the lead's, for end-to-end work) until the translate helper's module is
//! merged: stages local code as S3 keys and runs the SAM translator.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The bucket staged code is named in.
pub const ARTIFACT_BUCKET: &str = "rollcall-lab";

/// How the translator runs.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    /// The Python with aws-sam-translator.
    pub python: PathBuf,
    /// Region.
    pub region: String,
    /// Account.
    pub account_id: String,
}

/// A translated template.
#[derive(Debug, Clone)]
pub struct Translation {
    /// Plain CloudFormation.
    pub template: Value,
    /// S3 key -> local path.
    pub artifacts: BTreeMap<String, PathBuf>,
    /// The translator's version, when it ran.
    pub translator_version: Option<String>,
}

/// A template that cannot be translated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TranslateError(String);

const SHIM: &str = r#"
import json, sys, os
req = json.load(sys.stdin)
os.environ["AWS_DEFAULT_REGION"] = req["region"]
from samtranslator.translator.transform import transform
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator import __version__
class NoPolicies:
    def load(self): raise SystemExit("a managed policy named by name is not available offline")
try:
    out = transform(req["template"], req["parameters"], NoPolicies(), passthrough_metadata=True)
except InvalidDocumentException as e:
    json.dump({"errors": [{"logical_id": getattr(c, "logical_id", None), "message": c.message} for c in e.causes]}, sys.stdout)
    sys.exit(0)
json.dump({"translator": __version__, "template": out}, sys.stdout)
"#;

/// Stages the template's local code and translates it.
pub fn translate(
    template_path: &Path,
    mut template: Value,
    parameters: &BTreeMap<String, String>,
    options: &TranslateOptions,
) -> Result<Translation, TranslateError> {
    let shown = template_path.display().to_string();
    let dir = template_path.parent().unwrap_or(Path::new("."));
    let mut artifacts = BTreeMap::new();
    if let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) {
        for (id, r) in resources.iter_mut() {
            let key = match r["Type"].as_str().unwrap_or_default() {
                "AWS::Serverless::Function" => "CodeUri",
                "AWS::Serverless::LayerVersion" => "ContentUri",
                _ => continue,
            };
            let Some(uri) = r["Properties"][key].as_str().map(str::to_owned) else {
                continue;
            };
            if uri.starts_with("s3://") {
                continue;
            }
            let path = dir.join(&uri);
            if !path.exists() {
                return Err(TranslateError(format!(
                    "{shown}: {id}: {key} {uri} ({}) does not exist: run `sam build` first, or fix the path",
                    path.display()
                )));
            }
            let digest = crate::control::code::tree_sha256(&path)
                .map_err(|e| TranslateError(format!("{shown}: {id}: {key}: {e}")))?
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let s3_key = format!("{id}-{digest}");
            r["Properties"][key] = json!(format!("s3://{ARTIFACT_BUCKET}/{s3_key}"));
            artifacts.insert(s3_key, path);
        }
    }
    let serverless = template.get("Transform").is_some_and(|t| {
        t.as_str() == Some("AWS::Serverless-2016-10-31")
            || t.as_array()
                .is_some_and(|a| a.iter().any(|x| x == "AWS::Serverless-2016-10-31"))
    });
    if !serverless {
        return Ok(Translation {
            template,
            artifacts,
            translator_version: None,
        });
    }
    let request = json!({"template": template, "parameters": parameters,
                         "region": options.region, "account_id": options.account_id});
    let mut child = std::process::Command::new(&options.python)
        .args(["-c", SHIM])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            TranslateError(format!(
                "{shown}: cannot run {} ({e}): install Python 3 or pass --sam-python PATH",
                options.python.display()
            ))
        })?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(request.to_string().as_bytes())
        .map_err(|e| TranslateError(e.to_string()))?;
    let out = child
        .wait_with_output()
        .map_err(|e| TranslateError(e.to_string()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'samtranslator'") {
        return Err(TranslateError(format!(
            "{shown} has Transform AWS::Serverless-2016-10-31; translating it needs aws-sam-translator: `python3 -m pip install aws-sam-translator==1.110.0` (or --sam-python PATH)"
        )));
    }
    let reply: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| TranslateError(format!("{shown}: the SAM translator failed: {stderr}")))?;
    if let Some(errors) = reply["errors"].as_array() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{shown}: {}: {}",
                    e["logical_id"].as_str().unwrap_or("template"),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect();
        return Err(TranslateError(lines.join("\n")));
    }
    Ok(Translation {
        template: reply["template"].clone(),
        artifacts,
        translator_version: reply["translator"].as_str().map(str::to_owned),
    })
}
