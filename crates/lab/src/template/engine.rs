//! The lab's CloudFormation: a stack is created from a template when the lab starts
//! (`rollcall-lab serve --template`) and updated by `UpdateStack` (what `rollcall-lab deploy`
//! sends) while the lab serves. A template is read, checked against its parameters, expanded
//! by the real SAM translator and applied ([`super::apply`]); errors in the template are
//! answered at once, naming the file, the resource and the property, and leave the stack as
//! it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use cloudformation::{Pseudo, parse_template, resolve, resolve_parameters};

use super::apply::{Applied, Prepared, Recorder, apply, shown_id};
use super::cli::StackSource;
use super::live::LiveStack;
use super::resources::{EMULATED, LabParts};
use super::translate::{TranslateOptions, translate};

/// A template the engine refuses, before anything changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    /// The template file.
    pub path: String,
    /// What is wrong, naming the resource or parameter and the fix.
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The translator's errors name the template already.
        if self.message.starts_with(&self.path) {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// How a stack's create or update ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StackOutcome {
    /// False when it was rolled back.
    pub complete: bool,
    /// Why it was rolled back.
    pub reason: Option<String>,
    /// Resources the lab records but does not run (logical id, type).
    pub not_emulated: Vec<(String, String)>,
    /// Resolved outputs (key, value, description).
    pub outputs: Vec<(String, String, String)>,
}

/// The stacks of one lab.
#[derive(Debug)]
pub struct TemplateEngine {
    pub(super) parts: LabParts,
    python: PathBuf,
    live: Mutex<BTreeMap<String, LiveStack>>,
}

impl TemplateEngine {
    /// An engine over `parts`, translating SAM templates with `python`.
    pub fn new(parts: LabParts, python: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            parts,
            python,
            live: Mutex::new(BTreeMap::new()),
        })
    }

    /// Reads, checks and translates `source` (blocking: it runs Python).
    pub fn prepare(&self, source: &StackSource) -> Result<Prepared, TemplateError> {
        let path = &source.template_path;
        let error = |message: String| TemplateError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read it ({e}): give the template's path")))?;
        let original = parse_template(&text).map_err(|e| error(e.to_string()))?;
        let parameters =
            resolve_parameters(&original, &source.overrides).map_err(|e| error(e.to_string()))?;
        let as_text: BTreeMap<String, String> = parameters
            .iter()
            .map(|(k, v)| (k.clone(), cloudformation::value_text(v)))
            .collect();
        let options = TranslateOptions {
            python: self.python.clone(),
            region: self.parts.scope.region.clone(),
            account_id: self.parts.scope.account.clone(),
        };
        let translation =
            translate(path, original, &as_text, &options).map_err(|e| TemplateError {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        translation.require_built(path).map_err(|e| TemplateError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        for warning in &translation.warnings {
            tracing::warn!(template = %path.display(), "SAM translator: {warning}");
        }
        if let Some(v) = &translation.translator_version {
            tracing::info!(translator = %v, template = %path.display(), "SAM template translated");
        }
        check_types(&translation.template).map_err(error)?;
        cloudformation::creation_order(&translation.template).map_err(|e| error(e.to_string()))?;
        let pseudo = self.pseudo(&source.stack_name, "");
        dry_resolve(&translation.template, &parameters, pseudo).map_err(error)?;
        self.check_deployment_configs(&translation.template, &parameters)
            .map_err(error)?;
        Ok(Prepared {
            template_path: path.clone(),
            template: translation.template,
            artifacts: translation.artifacts,
            parameters,
            shift_gate: None,
        })
    }

    /// The stack's state now (`None` before its create).
    pub fn stack(&self, name: &str) -> Option<LiveStack> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LiveStack>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pseudo parameters of stack `name`.
    pub fn pseudo(&self, name: &str, stack_id: &str) -> Pseudo {
        let scope = &self.parts.scope;
        Pseudo {
            region: scope.region.clone(),
            account_id: scope.account.clone(),
            partition: scope.partition.clone(),
            stack_name: name.to_owned(),
            stack_id: stack_id.to_owned(),
            url_suffix: "amazonaws.com".into(),
        }
    }

    /// Applies `prepared` to stack `name` (created when the engine has no such stack), with
    /// progress to `recorder`; keeps the result.
    pub async fn run(
        &self,
        name: &str,
        stack_id: &str,
        prepared: Prepared,
        recorder: &dyn Recorder,
    ) -> StackOutcome {
        let previous = self.stack(name).unwrap_or_else(|| {
            LiveStack::new(self.pseudo(name, stack_id), prepared.template_path.clone())
        });
        let (stack, complete, reason) = match apply(&self.parts, previous, prepared, recorder).await
        {
            Applied::Complete(stack) => (stack, true, None),
            Applied::RolledBack(stack, reason) => (stack, false, Some(reason)),
        };
        // A rolled-back update leaves the stack on its previous template.
        let template = &stack.template;
        let not_emulated = stack
            .resources
            .iter()
            .filter(|(_, r)| !EMULATED.contains(&r.resource_type.as_str()))
            .map(|(id, r)| (shown_id(template, id), r.resource_type.clone()))
            .collect();
        let outputs = outputs(template, &stack);
        self.lock().insert(name.to_owned(), stack);
        StackOutcome {
            complete,
            reason,
            not_emulated,
            outputs,
        }
    }
}

impl TemplateEngine {
    /// Every deployment group's `DeploymentConfigName` is one CodeDeploy has (SAM passes an
    /// unknown `DeploymentPreference.Type` through; CodeDeploy would refuse it at deploy).
    fn check_deployment_configs(
        &self,
        template: &Value,
        parameters: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        let mut stack = LiveStack::new(self.pseudo("check", ""), PathBuf::new());
        stack.parameters = parameters.clone();
        let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
            return Ok(());
        };
        for (id, r) in resources {
            if r.get("Type").and_then(Value::as_str) != Some("AWS::CodeDeploy::DeploymentGroup") {
                continue;
            }
            let Some(name) = r.pointer("/Properties/DeploymentConfigName") else {
                continue;
            };
            let Ok(Value::String(name)) = resolve(name, &stack, "") else {
                continue;
            };
            if let Err(e) = self.parts.deployments.deployment_config(&name) {
                return Err(format!(
                    "{}: Properties.DeploymentConfigName: {name} is not a CodeDeploy deployment configuration ({e}); give DeploymentPreference.Type one of CodeDeploy's predefined Lambda configurations (Canary10Percent5Minutes, Linear10PercentEvery1Minute, AllAtOnce, ...)",
                    shown_id(template, id)
                ));
            }
        }
        Ok(())
    }
}

/// Every resource's properties and every output resolved with stand-ins for the resources'
/// ids, so that an intrinsic the lab cannot resolve is refused before anything changes.
fn dry_resolve(
    template: &Value,
    parameters: &BTreeMap<String, Value>,
    pseudo: Pseudo,
) -> Result<(), String> {
    struct StandIns<'a> {
        stack: LiveStack,
        template: &'a Value,
    }
    impl cloudformation::Context for StandIns<'_> {
        fn parameter(&self, name: &str) -> Option<Value> {
            self.stack.parameters.get(name).cloned()
        }
        fn pseudo(&self, name: &str) -> Option<Value> {
            self.stack.pseudo.value(name)
        }
        fn resource_ref(&self, logical_id: &str) -> Option<Value> {
            self.template
                .pointer(&format!("/Resources/{logical_id}"))
                .map(|_| Value::String(format!("stand-in-{logical_id}")))
        }
        fn resource_attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
            let resource_type = self
                .template
                .pointer(&format!("/Resources/{logical_id}/Type"))?
                .as_str()?;
            super::resources::attributes(resource_type)
                .is_none_or(|known| known.contains(&attribute))
                .then(|| Value::String(format!("stand-in-{logical_id}-{attribute}")))
        }
        fn condition(&self, name: &str) -> Option<bool> {
            self.stack.conditions.get(name).copied()
        }
        fn mappings(&self) -> Option<&Value> {
            self.template.get("Mappings")
        }
    }
    let mut stack = LiveStack::new(pseudo, PathBuf::new());
    stack.parameters = parameters.clone();
    let mut stand_ins = StandIns { stack, template };
    stand_ins.stack.conditions =
        cloudformation::evaluate_conditions(template, &stand_ins).map_err(|e| e.to_string())?;
    if let Some(resources) = template.get("Resources").and_then(Value::as_object) {
        for (id, r) in resources {
            for part in ["Properties", "UpdatePolicy"] {
                if let Some(v) = r.get(part) {
                    resolve(v, &stand_ins, &format!("Resources.{id}.{part}"))
                        .map_err(|e| format!("{}: {e}", shown_id(template, id)))?;
                }
            }
        }
    }
    if let Some(outputs) = template.get("Outputs").and_then(Value::as_object) {
        for (key, o) in outputs {
            if let Some(v) = o.get("Value") {
                resolve(v, &stand_ins, &format!("Outputs.{key}.Value"))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// Resource types the lab refuses outright: none are refused; every other type is recorded.
fn check_types(template: &Value) -> Result<(), String> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Err("the template has no Resources: declare at least one resource".into());
    };
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str).is_none() {
            return Err(format!(
                "{}: the resource has no Type",
                shown_id(template, id)
            ));
        }
    }
    Ok(())
}

/// The template's outputs, resolved against `stack` (an output that cannot be resolved says
/// why instead of a value).
fn outputs(template: &Value, stack: &LiveStack) -> Vec<(String, String, String)> {
    let Some(outputs) = template.get("Outputs").and_then(Value::as_object) else {
        return Vec::new();
    };
    outputs
        .iter()
        .filter(|(_, o)| {
            o.get("Condition")
                .and_then(Value::as_str)
                .is_none_or(|c| stack.conditions.get(c).copied().unwrap_or(false))
        })
        .map(|(key, o)| {
            let value = match resolve(
                o.get("Value").unwrap_or(&Value::Null),
                stack,
                &format!("Outputs.{key}.Value"),
            ) {
                Ok(Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(e) => format!("(not resolved by the lab: {e})"),
            };
            let description = o
                .get("Description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (key.clone(), value, description)
        })
        .collect()
}

/// The template a directory or `serve --template` argument names: a path as given, except
/// that `template.yaml` next to a `.aws-sam/build/template.yaml` (what `sam build` wrote) is
/// read from the build, as `sam deploy` does.
pub fn built_template(path: &Path) -> PathBuf {
    let built = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(".aws-sam/build/template.yaml");
    if built.is_file() {
        built
    } else {
        path.to_path_buf()
    }
}
