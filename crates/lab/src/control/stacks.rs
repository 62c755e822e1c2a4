//! TEMPORARY stand-in until the CloudFormation API helper's store is merged.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::api::cloudformation::CloudFormationError;

/// A stack.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    /// Name.
    pub name: String,
    /// Id.
    pub stack_id: String,
    /// Status.
    pub status: String,
    /// Outputs.
    pub outputs: Vec<(String, String, String)>,
    /// Events: (logical id, status, reason).
    pub events: Vec<(String, String, String)>,
}

/// The stacks.
#[derive(Debug, Default)]
pub struct Stacks(Mutex<BTreeMap<String, Stack>>);

impl Stacks {
    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Stack) -> T) -> Option<T> {
        self.0.lock().unwrap().get_mut(name).map(f)
    }
    /// Create.
    pub fn create(
        &self,
        name: &str,
        region: &str,
        account: &str,
    ) -> Result<String, CloudFormationError> {
        let id = format!("arn:aws:cloudformation:{region}:{account}:stack/{name}/1");
        self.0.lock().unwrap().insert(
            name.into(),
            Stack {
                name: name.into(),
                stack_id: id.clone(),
                status: "CREATE_IN_PROGRESS".into(),
                ..Stack::default()
            },
        );
        Ok(id)
    }
    /// Begin an update.
    pub fn begin_update(&self, name: &str) -> Result<String, CloudFormationError> {
        self.with(name, |s| {
            if s.status.ends_with("_IN_PROGRESS") {
                return Err(CloudFormationError::validation(format!(
                    "Stack:{} is in {} state and can not be updated.",
                    s.stack_id, s.status
                )));
            }
            s.status = "UPDATE_IN_PROGRESS".into();
            Ok(s.stack_id.clone())
        })
        .unwrap_or_else(|| {
            Err(CloudFormationError::validation(format!(
                "Stack [{name}] does not exist"
            )))
        })
    }
    /// A resource's status.
    pub fn resource_status(
        &self,
        stack: &str,
        logical_id: &str,
        _physical_id: &str,
        _resource_type: &str,
        status: &str,
        reason: Option<&str>,
    ) {
        self.with(stack, |s| {
            s.events.push((
                logical_id.into(),
                status.into(),
                reason.unwrap_or_default().into(),
            ))
        });
    }
    /// The stack's status.
    pub fn stack_status(&self, stack: &str, status: &str, reason: Option<&str>) {
        self.with(stack, |s| {
            s.status = status.into();
            s.events.push((
                stack.into(),
                status.into(),
                reason.unwrap_or_default().into(),
            ));
        });
    }
    /// Outputs.
    pub fn set_outputs(&self, stack: &str, outputs: Vec<(String, String, String)>) {
        self.with(stack, |s| s.outputs = outputs);
    }
    /// Parameters.
    pub fn set_parameters(&self, _stack: &str, _parameters: Vec<(String, String)>) {}
    /// Templates.
    pub fn set_templates(&self, _stack: &str, _original: String, _processed: String) {}
    /// A stack.
    pub fn get(&self, name: &str) -> Option<Stack> {
        self.0.lock().unwrap().get(name).cloned()
    }
}
