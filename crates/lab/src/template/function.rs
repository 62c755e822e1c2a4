//! A function's code and configuration from its resolved `AWS::Lambda::Function` properties:
//! the staged code registered in the lab's code store, the layers resolved to their
//! directories, and the command that plays a managed runtime's bootstrap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::lambda_api::LATEST;
use protocol::lambda_api::names::LayerVersionArn;
use serde_json::Value;

use super::live::LiveStack;
use super::resources::{LabParts, ResourceError, number, strings, text};
use crate::control::code::Code;
use crate::control::layers::layer_dirs;
use crate::control::registry::VersionMeta;
use crate::env::FunctionConfig;

/// A code property (`Code` or `Content`: `{S3Bucket, S3Key}`) -> the staged local code.
pub(super) async fn code_of(
    parts: &LabParts,
    stack: &LiveStack,
    properties: &Value,
    key: &str,
) -> Result<Code, ResourceError> {
    let code = properties
        .get(key)
        .ok_or_else(|| ResourceError(format!("the property {key} is missing")))?;
    let s3_key = text(code, "S3Key").unwrap_or_default();
    let path: PathBuf = stack.artifacts.get(&s3_key).cloned().ok_or_else(|| {
        ResourceError(format!(
            "{key} names s3://{}/{s3_key}, which the lab does not have: give the code as a local path in the template (CodeUri/ContentUri), as `sam build` writes it",
            text(code, "S3Bucket").unwrap_or_default()
        ))
    })?;
    let store = parts.control.store.clone();
    tokio::task::spawn_blocking(move || register(&store, &path))
        .await
        .map_err(|e| ResourceError(e.to_string()))?
}

fn register(store: &crate::control::code::CodeStore, path: &Path) -> Result<Code, ResourceError> {
    let is_zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let code = if is_zip {
        let bytes =
            std::fs::read(path).map_err(|e| ResourceError(format!("{}: {e}", path.display())))?;
        store.unpack_zip(&bytes)
    } else {
        store.register_dir(path)
    };
    code.map_err(|e| ResourceError(e.to_string()))
}

/// The argv that plays a managed runtime's `/var/runtime/bootstrap` for `runtime` (`None`:
/// an OS-only runtime, whose package or layer brings `bootstrap`).
pub fn runtime_command(runtime: &str, handler: &str) -> Result<Option<Vec<String>>, ResourceError> {
    if runtime.starts_with("provided") {
        return Ok(None);
    }
    if runtime.starts_with("python3") {
        return Ok(Some(vec![
            "python3".into(),
            "-m".into(),
            "awslambdaric".into(),
            handler.into(),
        ]));
    }
    if runtime.starts_with("nodejs") {
        return Ok(Some(vec!["aws-lambda-ric".into(), handler.into()]));
    }
    Err(ResourceError(format!(
        "the lab runs OS-only runtimes (provided.*), Python (through awslambdaric) and Node.js (through aws-lambda-ric), not {runtime}: use one of those for this function in the lab"
    )))
}

/// What to install when the runtime interface client `runtime` runs through is not there
/// (checked once per process and runtime family).
pub fn missing_runtime_client(runtime: &str) -> Option<String> {
    use std::sync::OnceLock;
    static PYTHON: OnceLock<bool> = OnceLock::new();
    static NODE: OnceLock<bool> = OnceLock::new();
    let (found, what) = if runtime.starts_with("python3") {
        let found = *PYTHON.get_or_init(|| {
            std::process::Command::new("python3")
                .args(["-c", "import awslambdaric"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        (
            found,
            "python3 cannot import awslambdaric: `python3 -m pip install awslambdaric`",
        )
    } else if runtime.starts_with("nodejs") {
        let found = *NODE.get_or_init(|| {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|d| d.join("aws-lambda-ric").is_file())
            })
        });
        (
            found,
            "no aws-lambda-ric on PATH: `npm install -g aws-lambda-ric`",
        )
    } else {
        return None;
    };
    (!found).then(|| {
        format!("Runtime {runtime} runs in the lab through its runtime interface client, and {what}; until then its invocations fail at init")
    })
}

/// A function's configuration and metadata from its resolved properties.
pub(super) async fn function_config(
    parts: &LabParts,
    stack: &LiveStack,
    name: &str,
    properties: &Value,
) -> Result<(FunctionConfig, VersionMeta), ResourceError> {
    let handler = text(properties, "Handler").unwrap_or_default();
    let runtime =
        text(properties, "Runtime").unwrap_or_else(|| crate::spec::DEFAULT_RUNTIME.into());
    let code = code_of(parts, stack, properties, "Code").await?;
    let arns = strings(properties, "Layers")
        .iter()
        .map(|a| {
            a.parse::<LayerVersionArn>()
                .map_err(|e| ResourceError(format!("Layers: {a}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let layers = layer_dirs(&parts.registry.snapshot(), &arns)?;
    let mut config = FunctionConfig::new(name, LATEST, &code.dir, handler.clone());
    config.region.clone_from(&parts.scope.region);
    config.account_id.clone_from(&parts.scope.account);
    if let Some(m) = number(properties, "MemorySize")? {
        config.memory_mb = u32::try_from(m).unwrap_or(u32::MAX);
    }
    if let Some(t) = number(properties, "Timeout")? {
        config.timeout = Duration::from_secs(t);
    }
    config.env_vars = properties
        .pointer("/Environment/Variables")
        .and_then(Value::as_object)
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    config.command = runtime_command(&runtime, &handler)?;
    if let Some(missing) = missing_runtime_client(&runtime) {
        tracing::warn!(function = %name, "{missing}");
    }
    config.honour_exec_wrapper = config.command.is_some();
    config.layer_dirs = layers.iter().map(|(_, dir, _)| dir.clone()).collect();
    let architecture = match strings(properties, "Architectures")
        .first()
        .map(String::as_str)
    {
        Some("arm64") => {
            if std::env::consts::ARCH != "aarch64" {
                tracing::warn!(
                    function = %name,
                    "Architectures arm64: the lab runs the code on this {} host as it is (an arm64 binary needs binfmt_misc with qemu-user-static registered)",
                    std::env::consts::ARCH
                );
            }
            protocol::lambda_api::Architecture::Arm64
        }
        _ => protocol::lambda_api::Architecture::X86_64,
    };
    let meta = VersionMeta {
        runtime,
        description: text(properties, "Description").unwrap_or_default(),
        code_sha256: code.sha256.clone(),
        code_size: code.size,
        layers: layers
            .into_iter()
            .map(|(arn, _, size)| (arn.to_string(), size))
            .collect(),
        architecture,
        ..VersionMeta::default()
    };
    Ok((config, meta))
}
