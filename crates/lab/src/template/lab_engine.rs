//! The template engine plugged into a running lab: `serve --template` creates the stack when
//! the lab starts; CloudFormation's UpdateStack on the lab's API port (what `rollcall-lab
//! deploy` sends) checks and translates the template at once (a refused template is a
//! ValidationError, nothing changed), then applies it while the caller follows the events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::apply::{Prepared, Recorder};
use super::cli::StackSource;
use super::engine::{StackOutcome, TemplateEngine, TemplateError};
use super::resources::LabParts;
use crate::api::cloudformation::{CloudFormationError, StackEngine, StackRequest, TemplateSource};
use crate::control::stacks::{
    NewStack, ResourceStatus, StackOutput, StackParameter, StackStatus, Stacks,
};
use crate::exit::EXIT_USAGE;
use crate::lab::Lab;

/// Progress of one stack into the lab's CloudFormation store.
struct StackRecorder {
    stacks: Arc<Stacks>,
    stack: String,
}

impl Recorder for StackRecorder {
    fn resource(
        &self,
        logical_id: &str,
        physical_id: &str,
        resource_type: &str,
        status: ResourceStatus,
        reason: Option<&str>,
    ) {
        let physical = (!physical_id.is_empty()).then_some(physical_id);
        let _ = self.stacks.set_resource_status(
            &self.stack,
            logical_id,
            physical,
            resource_type,
            status,
            reason,
        );
        tracing::info!(
            target: crate::control::events::PROGRESS_TARGET,
            stack = %self.stack, %logical_id, %resource_type, %status,
            reason = reason.unwrap_or_default(),
            "stack resource"
        );
    }

    fn stack(&self, status: StackStatus, reason: Option<&str>) {
        // `create` and `begin_update` set the stack in progress already.
        let current = self.stacks.get(&self.stack).map(|s| s.status);
        if current != Some(status) {
            let _ = self.stacks.set_stack_status(&self.stack, status, reason);
        }
        tracing::info!(
            target: crate::control::events::PROGRESS_TARGET,
            stack = %self.stack, %status, reason = reason.unwrap_or_default(),
            "stack"
        );
    }
}

/// The engine of a running lab: it answers CloudFormation's CreateStack and UpdateStack on the
/// lab's API port.
#[derive(Debug)]
pub struct LabStackEngine {
    engine: Arc<TemplateEngine>,
    stacks: Arc<Stacks>,
    /// Templates (text and parameters) of each stack's last deploy, to answer "No updates are
    /// to be performed."
    last: Mutex<BTreeMap<String, LastDeploy>>,
    /// Itself, for the updates it spawns.
    this: std::sync::Weak<LabStackEngine>,
}

/// What a stack's last deploy applied: the processed template, the parameters, the code.
type LastDeploy = (Value, BTreeMap<String, Value>, BTreeMap<String, PathBuf>);

impl LabStackEngine {
    /// The engine of `lab`, translating with `python`; plugged into its CloudFormation API.
    pub fn for_lab(lab: &Lab, python: PathBuf) -> Arc<Self> {
        let parts = LabParts {
            registry: Arc::clone(&lab.registry),
            control: lab.control.clone(),
            deployments: Arc::clone(&lab.deployments),
            cloudwatch: Arc::clone(&lab.cloudwatch),
            live_routes: Arc::clone(&lab.live_routes),
            scope: lab.scope.clone(),
            url_listeners: Arc::default(),
        };
        let engine = Arc::new_cyclic(|this| Self {
            engine: TemplateEngine::new(parts, python),
            stacks: Arc::clone(&lab.stacks),
            last: Mutex::new(BTreeMap::new()),
            this: this.clone(),
        });
        lab.set_stack_engine(Arc::clone(&engine) as Arc<dyn StackEngine>);
        engine
    }

    /// Creates stack `source.stack_name` and waits for the end; its outcome.
    pub async fn create(&self, source: &StackSource) -> Result<StackOutcome, TemplateError> {
        let prepared = self.prepare_blocking(source).await?;
        let stack_id = self
            .stacks
            .create(NewStack {
                name: source.stack_name.clone(),
                capabilities: vec!["CAPABILITY_IAM".into(), "CAPABILITY_AUTO_EXPAND".into()],
                ..NewStack::default()
            })
            .map_err(|e| TemplateError {
                path: source.template_path.display().to_string(),
                message: e.message,
            })?;
        Ok(self.run(source, &stack_id, prepared).await)
    }

    /// Reads, checks and translates `source` (blocking: it runs Python).
    pub fn prepare(&self, source: &StackSource) -> Result<Prepared, TemplateError> {
        self.engine.prepare(source)
    }

    /// Updates the stack to `prepared` (from [`Self::prepare`]) and waits for the end, as
    /// UpdateStack does in the background.
    pub async fn update(
        &self,
        source: &StackSource,
        prepared: Prepared,
    ) -> Result<StackOutcome, CloudFormationError> {
        let stack_id = self.stacks.begin_update(&source.stack_name)?;
        Ok(self.run(source, &stack_id, prepared).await)
    }

    async fn prepare_blocking(&self, source: &StackSource) -> Result<Prepared, TemplateError> {
        let engine = Arc::clone(&self.engine);
        let source = source.clone();
        tokio::task::spawn_blocking(move || engine.prepare(&source))
            .await
            .unwrap_or_else(|e| {
                Err(TemplateError {
                    path: String::new(),
                    message: format!("the template's preparation failed: {e}"),
                })
            })
    }

    async fn run(&self, source: &StackSource, stack_id: &str, prepared: Prepared) -> StackOutcome {
        let name = &source.stack_name;
        let updating = self.engine.stack(name).is_some();
        let original = std::fs::read_to_string(&source.template_path).unwrap_or_default();
        let description = prepared
            .template
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let templates = (
            original,
            serde_json::to_string_pretty(&prepared.template).unwrap_or_default(),
            description,
        );
        let parameters = stack_parameters(&prepared.parameters);
        // A stack being created has its template from the start (ROLLBACK_COMPLETE keeps it);
        // an update's template and parameters are the stack's once it completes, as
        // CloudFormation keeps the previous ones through UPDATE_ROLLBACK_COMPLETE.
        if !updating {
            self.record_template(name, templates.clone(), parameters.clone());
        }
        let key = (
            prepared.template.clone(),
            prepared.parameters.clone(),
            prepared.artifacts.clone(),
        );
        let recorder = StackRecorder {
            stacks: Arc::clone(&self.stacks),
            stack: name.clone(),
        };
        let outcome = self.engine.run(name, stack_id, prepared, &recorder).await;
        if outcome.complete {
            if updating {
                self.record_template(name, templates, parameters);
            }
            self.last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.clone(), key);
        }
        let _ = self.stacks.set_outputs(
            name,
            outcome
                .outputs
                .iter()
                .map(|(key, value, description)| StackOutput {
                    key: key.clone(),
                    value: value.clone(),
                    description: (!description.is_empty()).then(|| description.clone()),
                    ..StackOutput::default()
                })
                .collect(),
        );
        outcome
    }

    /// The stack's templates (as submitted, processed; its description) and parameters.
    fn record_template(
        &self,
        name: &str,
        (original, processed, description): (String, String, Option<String>),
        parameters: Vec<StackParameter>,
    ) {
        let _ = self
            .stacks
            .set_templates(name, original, processed, description);
        let _ = self.stacks.set_parameters(name, parameters);
    }

    fn source(&self, request: &StackRequest) -> Result<StackSource, CloudFormationError> {
        let url = match &request.template {
            TemplateSource::Url(url) => url.clone(),
            TemplateSource::Body(_) => {
                return Err(CloudFormationError::validation(
                    "the lab reads templates from files, so that local CodeUri paths resolve: give --template-url file:///absolute/path/template.yaml instead of a TemplateBody",
                ));
            }
            TemplateSource::UsePrevious => self
                .engine
                .stack(&request.stack_name)
                .map(|s| format!("file://{}", s.template_path.display()))
                .ok_or_else(|| CloudFormationError::no_such_stack(&request.stack_name))?,
        };
        let path = url.strip_prefix("file://").ok_or_else(|| {
            CloudFormationError::validation(format!(
                "TemplateURL {url} is not a file:// URL: the lab reads local templates (file:///absolute/path/template.yaml)"
            ))
        })?;
        let previous = self.stacks.get(&request.stack_name);
        let mut overrides = std::collections::BTreeMap::new();
        for p in &request.parameters {
            let value = if p.use_previous_value {
                previous
                    .as_ref()
                    .and_then(|s| s.parameters.iter().find(|q| q.key == p.key))
                    .map(|q| q.value.clone())
            } else {
                p.value.clone()
            };
            if let Some(v) = value {
                overrides.insert(p.key.clone(), v);
            }
        }
        Ok(StackSource {
            stack_name: request.stack_name.clone(),
            template_path: PathBuf::from(path),
            overrides,
        })
    }

    fn blocking<T>(f: impl FnOnce() -> T) -> T {
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(f)
            }
            _ => f(),
        }
    }
}

impl StackEngine for LabStackEngine {
    fn create_stack(&self, request: StackRequest) -> Result<String, CloudFormationError> {
        let _ = request;
        Err(CloudFormationError::validation(
            "the lab creates its stack when it starts (`rollcall-lab serve --template template.yaml`); update it with UpdateStack (`rollcall-lab deploy`)",
        ))
    }

    fn update_stack(&self, request: StackRequest) -> Result<String, CloudFormationError> {
        let source = self.source(&request)?;
        if self.engine.stack(&source.stack_name).is_none() {
            return Err(CloudFormationError::validation(format!(
                "Stack [{}] does not exist",
                source.stack_name
            )));
        }
        let prepared = Self::blocking(|| self.engine.prepare(&source))
            .map_err(|e| CloudFormationError::validation(e.to_string()))?;
        let unchanged = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&source.stack_name)
            .is_some_and(|(t, p, a)| {
                *t == prepared.template && *p == prepared.parameters && *a == prepared.artifacts
            });
        if unchanged {
            return Err(CloudFormationError::validation(
                "No updates are to be performed.",
            ));
        }
        let stack_id = self.stacks.begin_update(&source.stack_name)?;
        let this = self
            .this
            .upgrade()
            .expect("the engine is alive while it answers");
        let id = stack_id.clone();
        let name = source.stack_name.clone();
        let work = tokio::spawn(async move {
            this.run(&source, &id, prepared).await;
        });
        tokio::spawn(watch_update(Arc::clone(&self.stacks), name, work));
        Ok(stack_id)
    }
}

/// Waits for an update running in the background: one that panicked leaves its stack
/// `UPDATE_ROLLBACK_FAILED`, the panic its reason, rather than `UPDATE_IN_PROGRESS` for ever.
async fn watch_update(stacks: Arc<Stacks>, name: String, work: tokio::task::JoinHandle<()>) {
    let Err(e) = work.await else {
        return;
    };
    let cause = if e.is_panic() {
        let panic = e.into_panic();
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned())
    } else {
        e.to_string()
    };
    let reason = format!(
        "the lab's stack engine failed during the update ({cause}): the stack's resources may be partly updated; restart the lab (rollcall-lab serve --template) to start from the template again"
    );
    tracing::error!(stack = %name, "{reason}");
    let _ = stacks.set_stack_status(&name, StackStatus::UpdateRollbackFailed, Some(&reason));
}

/// Parameter values as DescribeStacks gives them (a list as its comma-separated text).
fn stack_parameters(parameters: &BTreeMap<String, Value>) -> Vec<StackParameter> {
    parameters
        .iter()
        .map(|(k, v)| StackParameter {
            key: k.clone(),
            value: cloudformation::value_text(v),
        })
        .collect()
}

/// `serve --template`: creates the stack once the lab serves; the banner's lines about it, or
/// the exit code and message when the template is refused or a resource fails.
pub async fn create_stack_on_start(
    lab: &Lab,
    source: &StackSource,
    python: PathBuf,
) -> Result<String, (i32, String)> {
    let engine = LabStackEngine::for_lab(lab, python);
    let outcome = engine
        .create(source)
        .await
        .map_err(|e| (EXIT_USAGE, e.to_string()))?;
    let path = source.template_path.display();
    if !outcome.complete {
        return Err((
            EXIT_USAGE,
            format!(
                "{path}: stack {} was not created (ROLLBACK_COMPLETE): {}",
                source.stack_name,
                outcome.reason.unwrap_or_default()
            ),
        ));
    }
    let mut text = format!(
        "stack {} from {path}: CREATE_COMPLETE  (rollcall-lab deploy --template {path} updates it; aws cloudformation describe-stacks --endpoint-url {} reads it)\n",
        source.stack_name,
        lab.lambda_url()
    );
    if !outcome.not_emulated.is_empty() {
        let listed: Vec<String> = outcome
            .not_emulated
            .iter()
            .map(|(id, t)| format!("{id} ({t})"))
            .collect();
        text.push_str(&format!(
            "  not emulated (recorded in the stack only): {}\n",
            listed.join(", ")
        ));
    }
    for (key, value, _) in &outcome.outputs {
        text.push_str(&format!("  output {key}: {value}\n"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_update_that_panics_leaves_the_stack_failed_not_in_progress() {
        let stacks = Arc::new(Stacks::new("us-east-1", "123456789012"));
        let new = NewStack {
            name: "demo".into(),
            ..NewStack::default()
        };
        stacks.create(new).unwrap();
        stacks
            .set_stack_status("demo", StackStatus::CreateComplete, None)
            .unwrap();
        stacks.begin_update("demo").unwrap();
        let work = tokio::spawn(async { panic!("boom in the engine") });
        watch_update(Arc::clone(&stacks), "demo".into(), work).await;
        let stack = stacks.get("demo").unwrap();
        assert_eq!(stack.status, StackStatus::UpdateRollbackFailed);
        let reason = stack.status_reason.unwrap_or_default();
        assert!(reason.contains("boom in the engine"), "{reason}");
        // An update that ends leaves the status to the engine.
        let stacks = Arc::new(Stacks::new("us-east-1", "123456789012"));
        stacks
            .create(NewStack {
                name: "calm".into(),
                ..NewStack::default()
            })
            .unwrap();
        watch_update(Arc::clone(&stacks), "calm".into(), tokio::spawn(async {})).await;
        assert_eq!(
            stacks.get("calm").unwrap().status,
            StackStatus::CreateInProgress
        );
    }
}
