//! Local code of a template, staged as `sam package` stages it: every local code path becomes an
//! S3 location in [`ARTIFACT_BUCKET`] whose key carries the SHA-256 of the code, so that the
//! translator's hashed `AWS::Lambda::Version` (and `LayerVersion`) logical ids change exactly
//! when the code changes.
//!
//! Paths staged (a string that is not `s3://…`; intrinsics and `{Bucket, Key}` maps are left):
//! `CodeUri` of `AWS::Serverless::Function` (also `Globals.Function.CodeUri`, copied into each
//! function that names no code of its own, as SAM merges it), `ContentUri` of
//! `AWS::Serverless::LayerVersion`, and — the `aws cloudformation package` input shape — `Code` of
//! `AWS::Lambda::Function` and `Content` of `AWS::Lambda::LayerVersion`. A relative path is
//! resolved against the template's directory (what SAM does: `.aws-sam/build/template.yaml` says
//! `CodeUri: HelloFunction`). A directory is digested with [`tree_sha256`], a file must be a zip
//! archive and is digested as bytes.
//!
//! A resource with `Metadata.BuildMethod` in a template that `sam build` did not write names the
//! source that `sam build` builds (this repository's `CodeUri: .` is the whole repository, with
//! `target/`), not a package: it is not digested but staged as `<LogicalId>-unbuilt` and listed in
//! [`Translation::unbuilt`](super::translate::Translation::unbuilt).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::translate::{ARTIFACT_BUCKET, CodePath, TranslateError, UnbuiltCode};
use crate::control::code::tree_sha256;

/// What staging wrote into the template.
#[derive(Debug, Default)]
pub(super) struct Staged {
    /// S3 key -> the local directory or zip it stands for.
    pub artifacts: BTreeMap<String, PathBuf>,
    /// Build sources staged without a digest.
    pub unbuilt: Vec<UnbuiltCode>,
}

/// How the staged location is written into the property.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// SAM: `s3://bucket/key`.
    Uri,
    /// CloudFormation: `{S3Bucket, S3Key}`.
    Object,
}

/// One local code path of the template.
struct Site<'a> {
    logical_id: &'a str,
    property: &'static str,
    uri: &'a str,
    build_method: Option<&'a str>,
}

/// Replaces every local code path of `template` (see the module doc) by its staged location.
pub(super) fn stage(template_path: &Path, template: &mut Value) -> Result<Staged, TranslateError> {
    let mut stager = Stager::new(template_path);
    let global_code = global_code_uri(template);
    let global = match &global_code {
        Some(uri) => {
            let site = Site {
                logical_id: "Globals",
                property: "Function.CodeUri",
                uri,
                build_method: None,
            };
            Some(stager.resolve(&site)?)
        }
        None => None,
    };
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) else {
        return Ok(stager.staged);
    };
    for (logical_id, resource) in resources.iter_mut() {
        let Some(resource) = resource.as_object_mut() else {
            continue;
        };
        let Some((property, shape)) = code_property(resource) else {
            continue;
        };
        let build_method = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildMethod"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let built_by_sam = resource
            .get("Metadata")
            .is_some_and(|m| m.get("SamResourceId").is_some());
        let Some(properties) = resource
            .entry("Properties")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        else {
            continue;
        };
        let local = match properties.get(property) {
            Some(Value::String(uri)) if !uri.starts_with("s3://") => uri.clone(),
            Some(_) => continue,
            None if property == "CodeUri" && uses_global_code(properties) => {
                let Some(resolved) = &global else { continue };
                let key =
                    stager.key(logical_id, resolved, build_method.as_deref(), built_by_sam)?;
                properties.insert(property.into(), staged_value(Shape::Uri, &key));
                continue;
            }
            None => continue,
        };
        let site = Site {
            logical_id,
            property,
            uri: &local,
            build_method: build_method.as_deref(),
        };
        let resolved = stager.resolve(&site)?;
        let key = stager.key(logical_id, &resolved, build_method.as_deref(), built_by_sam)?;
        properties.insert(property.into(), staged_value(shape, &key));
    }
    if global.is_some() {
        remove_global_code_uri(template);
    }
    Ok(stager.staged)
}

/// The code property of a resource type that has local code, and how its location is written.
fn code_property(resource: &Map<String, Value>) -> Option<(&'static str, Shape)> {
    match resource.get("Type")?.as_str()? {
        "AWS::Serverless::Function" => Some(("CodeUri", Shape::Uri)),
        "AWS::Serverless::LayerVersion" => Some(("ContentUri", Shape::Uri)),
        "AWS::Lambda::Function" => Some(("Code", Shape::Object)),
        "AWS::Lambda::LayerVersion" => Some(("Content", Shape::Object)),
        _ => None,
    }
}

/// Whether a SAM function without `CodeUri` takes it from `Globals` (no inline code, no image).
fn uses_global_code(properties: &Map<String, Value>) -> bool {
    !properties.contains_key("InlineCode")
        && !properties.contains_key("ImageUri")
        && properties.get("PackageType").and_then(Value::as_str) != Some("Image")
}

/// `Globals.Function.CodeUri` when it is a local path.
fn global_code_uri(template: &Value) -> Option<String> {
    let uri = template.get("Globals")?.get("Function")?.get("CodeUri")?;
    match uri {
        Value::String(uri) if !uri.starts_with("s3://") => Some(uri.clone()),
        _ => None,
    }
}

/// Drops the staged `Globals.Function.CodeUri` (every function now names its own), and the
/// sections it leaves empty.
fn remove_global_code_uri(template: &mut Value) {
    let Some(globals) = template.get_mut("Globals").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(function) = globals.get_mut("Function").and_then(Value::as_object_mut) {
        function.remove("CodeUri");
        if function.is_empty() {
            globals.remove("Function");
        }
    }
    if globals.is_empty()
        && let Some(template) = template.as_object_mut()
    {
        template.remove("Globals");
    }
}

fn staged_value(shape: Shape, key: &str) -> Value {
    match shape {
        Shape::Uri => Value::String(format!("s3://{ARTIFACT_BUCKET}/{key}")),
        Shape::Object => json!({ "S3Bucket": ARTIFACT_BUCKET, "S3Key": key }),
    }
}

/// A code path resolved and checked.
#[derive(Debug, Clone)]
struct Resolved {
    /// The path as written.
    uri: String,
    /// Canonical, absolute.
    path: PathBuf,
    property: &'static str,
}

struct Stager<'a> {
    template_path: &'a Path,
    template_dir: PathBuf,
    built_by_sam: bool,
    digests: HashMap<PathBuf, String>,
    staged: Staged,
}

impl<'a> Stager<'a> {
    fn new(template_path: &'a Path) -> Self {
        let template_dir = match template_path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        // `sam build` writes `<build-dir>/template.yaml` and `.aws-sam/build.toml` beside it.
        let built_by_sam = template_dir
            .parent()
            .is_some_and(|parent| parent.join("build.toml").is_file());
        Self {
            template_path,
            template_dir,
            built_by_sam,
            digests: HashMap::new(),
            staged: Staged::default(),
        }
    }

    /// The path a site names, which must exist.
    fn resolve(&self, site: &Site<'_>) -> Result<Resolved, TranslateError> {
        let joined = self.template_dir.join(site.uri);
        let path = std::fs::canonicalize(&joined).map_err(|_| TranslateError::CodeNotFound {
            code: Box::new(CodePath {
                template: self.template_path.to_owned(),
                logical_id: site.logical_id.to_owned(),
                property: site.property,
                uri: site.uri.to_owned(),
                path: joined.clone(),
            }),
            fix: self.missing_fix(site),
        })?;
        Ok(Resolved {
            uri: site.uri.to_owned(),
            path,
            property: site.property,
        })
    }

    fn missing_fix(&self, site: &Site<'_>) -> String {
        if self.built_by_sam {
            "run `sam build` again (this build output is incomplete)".into()
        } else if let Some(method) = site.build_method {
            format!(
                "the resource is built by `sam build` (BuildMethod {method}): correct {} (resolved against the template's directory {}), then run `sam build`",
                site.property,
                self.template_dir.display()
            )
        } else {
            format!(
                "correct {} (a relative path is resolved against the template's directory {}) or create it; a template whose code `sam build` makes: run `sam build` and use .aws-sam/build/template.yaml",
                site.property,
                self.template_dir.display()
            )
        }
    }

    /// The S3 key of a resolved path for `logical_id`, recorded in the artifacts (or the unbuilt
    /// list).
    fn key(
        &mut self,
        logical_id: &str,
        resolved: &Resolved,
        build_method: Option<&str>,
        built_by_sam: bool,
    ) -> Result<String, TranslateError> {
        if let Some(method) = build_method
            && !built_by_sam
            && !self.built_by_sam
        {
            self.staged.unbuilt.push(UnbuiltCode {
                logical_id: logical_id.to_owned(),
                property: resolved.property,
                uri: resolved.uri.clone(),
                path: resolved.path.clone(),
                build_method: method.to_owned(),
            });
            return Ok(format!("{logical_id}-unbuilt"));
        }
        let digest = match self.digests.get(&resolved.path) {
            Some(digest) => digest.clone(),
            None => {
                let digest = self.digest(logical_id, resolved)?;
                self.digests.insert(resolved.path.clone(), digest.clone());
                digest
            }
        };
        let key = format!("{logical_id}-{digest}");
        self.staged
            .artifacts
            .insert(key.clone(), resolved.path.clone());
        Ok(key)
    }

    /// Hex SHA-256 of a code directory's tree or of a zip's bytes.
    fn digest(&self, logical_id: &str, resolved: &Resolved) -> Result<String, TranslateError> {
        let code = || {
            Box::new(CodePath {
                template: self.template_path.to_owned(),
                logical_id: logical_id.to_owned(),
                property: resolved.property,
                uri: resolved.uri.clone(),
                path: resolved.path.clone(),
            })
        };
        let unreadable = |detail: String| TranslateError::CodeUnreadable {
            code: code(),
            detail,
        };
        if resolved.path.is_dir() {
            let (digest, _size) =
                tree_sha256(&resolved.path).map_err(|e| unreadable(e.to_string()))?;
            return Ok(hex(&digest));
        }
        let mut file =
            std::fs::File::open(&resolved.path).map_err(|e| unreadable(e.to_string()))?;
        let mut hash = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut magic = Vec::with_capacity(4);
        loop {
            let n = file
                .read(&mut buffer)
                .map_err(|e| unreadable(e.to_string()))?;
            if n == 0 {
                break;
            }
            if magic.len() < 4 {
                let take = (4 - magic.len()).min(n);
                magic.extend_from_slice(&buffer[..take]);
            }
            hash.update(&buffer[..n]);
        }
        // A zip starts with a local file header, or is empty (end of central directory only).
        if magic != b"PK\x03\x04" && magic != b"PK\x05\x06" {
            return Err(TranslateError::NotAnArchive { code: code() });
        }
        Ok(hex(&hash.finalize()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
