//! A SAM template expanded into the CloudFormation that AWS deploys, by the real SAM translator
//! (`aws-sam-translator`, what `sam validate` and CloudFormation's `AWS::Serverless-2016-10-31`
//! transform run), offline.
//!
//! [`translate`] stages the template's local code (`template/stage.rs`: each path
//! becomes `s3://rollcall-lab/<LogicalId>-<sha256>`, as `sam package` uploads it), then, when
//! the template has the SAM transform, pipes it as JSON to `python -c <translate.py>` and reads
//! the CloudFormation back. The translator needs no credentials and no network: it is given the
//! region (for `AWS::Region` and ARN partitions) and the account id, and a policy named by
//! anything but an ARN or an AWS managed policy it knows is refused rather than looked up in IAM.
//! A template without a transform is plain CloudFormation and needs no Python.
//!
//! The subprocess is synchronous (`std::process`): call [`translate`] from async code through
//! `tokio::task::spawn_blocking`. One run takes about a second, mostly the translator's imports.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::{Value, json};

use super::stage;
use crate::spec::{DEFAULT_ACCOUNT, DEFAULT_REGION};

/// The bucket named in every staged code location (`s3://rollcall-lab/<key>`).
pub const ARTIFACT_BUCKET: &str = "rollcall-lab";

/// The SAM transform, the only one the lab runs.
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// The `aws-sam-translator` release the lab is tested with (`scripts/setup.sh` installs it).
pub const SAM_TRANSLATOR_VERSION: &str = "1.110.0";

/// The shim run as `python -c`: JSON request on stdin, JSON answer on stdout.
const SHIM: &str = include_str!("translate.py");

/// How much of the translator's stderr a crash report quotes.
const STDERR_TAIL_LINES: usize = 20;

/// How to run the translator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateOptions {
    /// The Python that has `aws-sam-translator` (default `python3`, looked up in `PATH`).
    pub python: PathBuf,
    /// `AWS::Region` of the translation (also picks the partition of the ARNs SAM writes).
    pub region: String,
    /// `AWS::AccountId` of the translation.
    pub account_id: String,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            python: PathBuf::from("python3"),
            region: DEFAULT_REGION.to_owned(),
            account_id: DEFAULT_ACCOUNT.to_owned(),
        }
    }
}

/// A template as CloudFormation would deploy it.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Plain CloudFormation: no `Transform` left, local code replaced by staged S3 locations.
    pub template: Value,
    /// S3 key written into `Code`/`Content` (`<LogicalId>-<sha256 hex>`) -> the local
    /// directory or zip it stands for (canonical path).
    pub artifacts: BTreeMap<String, PathBuf>,
    /// `samtranslator.__version__`; `None` when the template had no transform (no Python run).
    pub translator_version: Option<String>,
    /// Warnings the translator logged (its "Feature … not available" line left out).
    pub warnings: Vec<String>,
    /// Code that `sam build` builds and that was not built (staged as `<LogicalId>-unbuilt`, not
    /// in `artifacts`): a lab cannot run these; see [`Translation::require_built`].
    pub unbuilt: Vec<UnbuiltCode>,
}

impl Translation {
    /// Refuses a translation with [`unbuilt`](Self::unbuilt) code, telling to run `sam build`.
    pub fn require_built(&self, template_path: &Path) -> Result<(), TranslateError> {
        if self.unbuilt.is_empty() {
            return Ok(());
        }
        Err(TranslateError::Unbuilt {
            template: template_path.to_owned(),
            code: self.unbuilt.clone(),
        })
    }
}

/// A resource whose code path is the source `sam build` builds (`Metadata.BuildMethod`) in a
/// template `sam build` did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbuiltCode {
    /// The resource's logical id.
    pub logical_id: String,
    /// `CodeUri`, `ContentUri`, `Code` or `Content`.
    pub property: &'static str,
    /// The path as the template writes it.
    pub uri: String,
    /// The path resolved (canonical).
    pub path: PathBuf,
    /// `Metadata.BuildMethod` (`makefile`, `rust-cargolambda`, …).
    pub build_method: String,
}

/// A local code path of a template, as errors name it:
/// `template.yaml: HelloFunction: CodeUri "hello" (/abs/hello)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePath {
    /// The template.
    pub template: PathBuf,
    /// The resource (`Globals` for `Globals.Function.CodeUri`).
    pub logical_id: String,
    /// `CodeUri`, `ContentUri`, `Code`, `Content` or `Function.CodeUri`.
    pub property: &'static str,
    /// The path as written.
    pub uri: String,
    /// The path resolved against the template's directory.
    pub path: PathBuf,
}

impl fmt::Display for CodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} {:?} ({})",
            self.template.display(),
            self.logical_id,
            self.property,
            self.uri,
            self.path.display()
        )
    }
}

/// One error the translator reported.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TranslatorCause {
    /// The resource (or event) at fault, when the translator names one.
    pub logical_id: Option<String>,
    /// The translator's message.
    pub message: String,
}

/// Why a template could not be translated. Each message names the template and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// A transform other than SAM's.
    #[error(
        "{}: Transform {transform} is not one the lab runs (only {SAM_TRANSFORM}): expand it first, or remove it",
        template.display()
    )]
    UnsupportedTransform {
        /// The template.
        template: PathBuf,
        /// The transform as written.
        transform: String,
    },
    /// A local code path that does not exist.
    #[error("{code} does not exist: {fix}")]
    CodeNotFound {
        /// Where the template names it.
        code: Box<CodePath>,
        /// What to do.
        fix: String,
    },
    /// A local code path that is a file but not a zip archive.
    #[error("{code} is a file but not a zip archive: name the code directory or a .zip")]
    NotAnArchive {
        /// Where the template names it.
        code: Box<CodePath>,
    },
    /// A local code path that could not be read to digest it.
    #[error("{code} cannot be read: {detail}; make it readable")]
    CodeUnreadable {
        /// Where the template names it.
        code: Box<CodePath>,
        /// What failed.
        detail: String,
    },
    /// Code that must be built first (from [`Translation::require_built`]).
    #[error("{}", unbuilt_lines(template, code))]
    Unbuilt {
        /// The template.
        template: PathBuf,
        /// Every unbuilt resource.
        code: Vec<UnbuiltCode>,
    },
    /// The Python interpreter could not be started.
    #[error(
        "{}: has Transform {SAM_TRANSFORM}; translating it runs {}, which could not be started ({source}): install Python 3 or pass --sam-python PATH",
        template.display(), python.display()
    )]
    PythonNotFound {
        /// The template.
        template: PathBuf,
        /// The interpreter tried.
        python: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The interpreter cannot import `samtranslator`.
    #[error(
        "{}: has Transform {SAM_TRANSFORM}; translating it needs aws-sam-translator, which {} ({executable}) cannot import ({detail}): `python3 -m pip install aws-sam-translator=={SAM_TRANSLATOR_VERSION}` (or --sam-python PATH to a Python that has it)",
        template.display(), python.display()
    )]
    TranslatorMissing {
        /// The template.
        template: PathBuf,
        /// The interpreter as given.
        python: PathBuf,
        /// `sys.executable`.
        executable: String,
        /// The import error.
        detail: String,
    },
    /// The translator refused the template (one line per cause).
    #[error("{}", cause_lines(template, causes))]
    Invalid {
        /// The template.
        template: PathBuf,
        /// What the translator reported.
        causes: Vec<TranslatorCause>,
    },
    /// The translator failed without a report: a non-zero exit or output that is not its answer.
    #[error(
        "{}: the SAM translator ({}) failed: {reason}; check that it runs (`{} -c 'import samtranslator'`) or pass --sam-python PATH",
        template.display(), python.display(), python.display()
    )]
    Crash {
        /// The template.
        template: PathBuf,
        /// The interpreter.
        python: PathBuf,
        /// The exit status or the parse error, with the tail of stderr.
        reason: String,
    },
}

fn cause_lines(template: &Path, causes: &[TranslatorCause]) -> String {
    let lines: Vec<String> = causes
        .iter()
        .map(|cause| match &cause.logical_id {
            Some(id) => format!("{}: {id}: {}", template.display(), cause.message),
            None => format!("{}: {}", template.display(), cause.message),
        })
        .collect();
    lines.join("\n")
}

fn unbuilt_lines(template: &Path, code: &[UnbuiltCode]) -> String {
    let lines: Vec<String> = code
        .iter()
        .map(|c| {
            format!(
                "{}: {}: {} {:?} ({}) is the source that `sam build` builds (Metadata.BuildMethod {}), not a deployment package: run `sam build` and use .aws-sam/build/template.yaml",
                template.display(),
                c.logical_id,
                c.property,
                c.uri,
                c.path.display(),
                c.build_method
            )
        })
        .collect();
    lines.join("\n")
}

/// Expands `template` (long-form JSON, parsed by the caller from `template_path`) into plain
/// CloudFormation with its local code staged; see the module doc.
pub fn translate(
    template_path: &Path,
    mut template: Value,
    parameters: &BTreeMap<String, String>,
    options: &TranslateOptions,
) -> Result<Translation, TranslateError> {
    let has_sam = sam_transform(template_path, &template)?;
    let staged = stage::stage(template_path, &mut template)?;
    let mut translation = Translation {
        template,
        artifacts: staged.artifacts,
        translator_version: None,
        warnings: Vec::new(),
        unbuilt: staged.unbuilt,
    };
    if has_sam {
        let answer = run_translator(template_path, &translation.template, parameters, options)?;
        translation.template = answer.template;
        translation.translator_version = Some(answer.translator);
        translation.warnings = answer.warnings;
    }
    Ok(translation)
}

/// Whether the template has the SAM transform; any other transform is refused.
fn sam_transform(template_path: &Path, template: &Value) -> Result<bool, TranslateError> {
    let unsupported = |transform: &Value| TranslateError::UnsupportedTransform {
        template: template_path.to_owned(),
        transform: match transform {
            Value::String(name) => name.clone(),
            other => other.to_string(),
        },
    };
    let transforms = match template.get("Transform") {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
    };
    let mut has_sam = false;
    for transform in transforms {
        match transform.as_str() {
            Some(SAM_TRANSFORM) => has_sam = true,
            _ => return Err(unsupported(transform)),
        }
    }
    Ok(has_sam)
}

/// The shim's successful answer.
struct Answer {
    translator: String,
    template: Value,
    warnings: Vec<String>,
}

/// What the shim prints (one of three shapes, see translate.py).
#[derive(Deserialize)]
struct Reply {
    translator: Option<String>,
    template: Option<Value>,
    #[serde(default)]
    warnings: Vec<String>,
    errors: Option<Vec<TranslatorCause>>,
    missing: Option<String>,
    python: Option<String>,
    detail: Option<String>,
}

fn run_translator(
    template_path: &Path,
    template: &Value,
    parameters: &BTreeMap<String, String>,
    options: &TranslateOptions,
) -> Result<Answer, TranslateError> {
    let python = &options.python;
    let crash = |reason: String| TranslateError::Crash {
        template: template_path.to_owned(),
        python: python.clone(),
        reason,
    };
    let request = json!({
        "template": template,
        "parameters": parameters,
        "region": options.region,
        "account_id": options.account_id,
    });
    let input = serde_json::to_vec(&request).map_err(|e| crash(e.to_string()))?;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SHIM)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TranslateError::PythonNotFound {
            template: template_path.to_owned(),
            python: python.clone(),
            source,
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let output = std::thread::scope(|scope| {
        // A write error means the interpreter exited early: its status and stderr tell why.
        scope.spawn(move || {
            let _ = stdin.write_all(&input);
        });
        child.wait_with_output()
    })
    .map_err(|e| crash(format!("waiting for it: {e}")))?;
    let stderr = StderrTail(String::from_utf8_lossy(&output.stderr).into_owned());
    if !output.status.success() {
        return Err(crash(format!("{}{stderr}", output.status)));
    }
    let reply: Reply = serde_json::from_slice(&output.stdout).map_err(|e| {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let head: String = stdout.chars().take(200).collect();
        crash(format!(
            "its output is not the shim's answer ({e}): {head:?}{stderr}"
        ))
    })?;
    if reply.missing.is_some() {
        return Err(TranslateError::TranslatorMissing {
            template: template_path.to_owned(),
            python: python.clone(),
            executable: reply.python.unwrap_or_default(),
            detail: reply.detail.unwrap_or_default(),
        });
    }
    if let Some(causes) = reply.errors {
        return Err(TranslateError::Invalid {
            template: template_path.to_owned(),
            causes,
        });
    }
    match (reply.translator, reply.template) {
        (Some(translator), Some(template)) if template.is_object() => Ok(Answer {
            translator,
            template,
            warnings: reply.warnings,
        }),
        _ => Err(crash(format!("its answer has no template object{stderr}"))),
    }
}

/// The last lines of the interpreter's stderr, as a suffix of a crash reason.
struct StderrTail(String);

impl fmt::Display for StderrTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.0.trim_end().lines().collect();
        if lines.is_empty() {
            return write!(f, " (no stderr)");
        }
        let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
        write!(f, "; stderr:\n{}", tail.join("\n"))
    }
}
