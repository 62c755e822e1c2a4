//! The lab's CloudFormation stacks: the store ([`Stacks`]) the stack engine writes as it creates
//! and updates a stack's resources, and CloudFormation's Query API
//! ([`crate::api::cloudformation`]) reads.
//!
//! Every change of a resource's or the stack's status appends its [`StackEvent`], as
//! CloudFormation's event log does; a stack refuses an update while an operation runs on it, with
//! CloudFormation's words.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

mod error;
mod model;

pub use error::{CloudFormationError, ErrorCode};
pub use model::{
    NewStack, ResourceStatus, Stack, StackEvent, StackOutput, StackParameter, StackResource,
    StackStatus,
};

/// The resource type of a stack's own events.
pub const STACK_RESOURCE_TYPE: &str = "AWS::CloudFormation::Stack";

/// The longest stack name CloudFormation accepts.
const NAME_LIMIT: usize = 128;

/// The lab's stacks, by name; shared (`Arc<Stacks>`) by the stack engine and the API.
#[derive(Debug)]
pub struct Stacks {
    region: String,
    account_id: String,
    stacks: Mutex<BTreeMap<String, Stack>>,
}

impl Stacks {
    /// An empty store whose stack ids are in `region` and `account_id`.
    pub fn new(region: impl Into<String>, account_id: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            account_id: account_id.into(),
            stacks: Mutex::new(BTreeMap::new()),
        }
    }

    /// The region and account of the stacks' ids.
    pub fn home(&self) -> (&str, &str) {
        (&self.region, &self.account_id)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Stack>> {
        // A panic while holding the lock leaves whole values behind: keep serving them.
        self.stacks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a stack in `CREATE_IN_PROGRESS` and returns its id. A name already used is
    /// refused as CloudFormation refuses it (`AlreadyExistsException`), an invalid name with
    /// CloudFormation's `ValidationError`.
    pub fn create(&self, new: NewStack) -> Result<String, CloudFormationError> {
        check_name(&new.name)?;
        let mut stacks = self.lock();
        if stacks.contains_key(&new.name) {
            return Err(CloudFormationError::new(
                ErrorCode::AlreadyExists,
                format!("Stack [{}] already exists", new.name),
            ));
        }
        let stack_id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{}",
            self.region,
            self.account_id,
            new.name,
            uuid_like()
        );
        let now = OffsetDateTime::now_utc();
        let mut stack = Stack {
            name: new.name.clone(),
            stack_id: stack_id.clone(),
            status: StackStatus::CreateInProgress,
            status_reason: Some("User Initiated".into()),
            description: new.description,
            parameters: new.parameters,
            outputs: Vec::new(),
            capabilities: new.capabilities,
            creation_time: now,
            last_updated_time: None,
            resources: BTreeMap::new(),
            events: Vec::new(),
            template_original: new.template_original,
            template_processed: new.template_processed,
        };
        push_stack_event(&mut stack, now);
        stacks.insert(new.name, stack);
        Ok(stack_id)
    }

    /// Starts an update of the stack named (or whose id is) `name_or_id`: `UPDATE_IN_PROGRESS`,
    /// and returns its id. Refused as CloudFormation refuses it: a stack that does not exist,
    /// and one in a state that cannot be updated (an operation in progress, a failed creation).
    pub fn begin_update(&self, name_or_id: &str) -> Result<String, CloudFormationError> {
        let mut stacks = self.lock();
        let stack = find_mut(&mut stacks, name_or_id).ok_or_else(|| {
            CloudFormationError::validation(format!("Stack [{name_or_id}] does not exist"))
        })?;
        if !stack.status.updatable() {
            return Err(CloudFormationError::validation(format!(
                "Stack:{} is in {} state and can not be updated.",
                stack.stack_id, stack.status
            )));
        }
        let now = OffsetDateTime::now_utc();
        stack.status = StackStatus::UpdateInProgress;
        stack.status_reason = Some("User Initiated".into());
        stack.last_updated_time = Some(now);
        push_stack_event(stack, now);
        Ok(stack.stack_id.clone())
    }

    /// Sets the stack's status (and reason), and logs the event.
    pub fn set_stack_status(
        &self,
        stack: &str,
        status: StackStatus,
        reason: Option<&str>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| {
            s.status = status;
            s.status_reason = reason.map(str::to_owned);
            push_stack_event(s, OffsetDateTime::now_utc());
        })
    }

    /// Sets a resource's status (adding the resource the first time), and logs the event. A
    /// `physical_id` of `None` keeps the one the resource has. `DELETE_COMPLETE` (and
    /// `DELETE_SKIPPED`, a retained resource) takes the resource out of the stack, as
    /// CloudFormation's DescribeStackResources no longer lists it; when it names another
    /// physical id than the resource's (the old one of a replaced resource, cleaned up after
    /// an update), only the event is logged and the resource stays as it is.
    pub fn set_resource_status(
        &self,
        stack: &str,
        logical_id: &str,
        physical_id: Option<&str>,
        resource_type: &str,
        status: ResourceStatus,
        reason: Option<&str>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| {
            let now = OffsetDateTime::now_utc();
            let event = |physical_id: Option<String>| StackEvent {
                event_id: format!("{logical_id}-{status}-{}", uuid_like()),
                logical_id: logical_id.to_owned(),
                physical_id,
                resource_type: resource_type.to_owned(),
                status: status.as_str().to_owned(),
                status_reason: reason.map(str::to_owned),
                timestamp: now,
            };
            if status.removes_resource() {
                let current = s.resources.get(logical_id);
                let same = match (physical_id, current.and_then(|r| r.physical_id.as_deref())) {
                    (Some(named), Some(held)) => named == held,
                    _ => true,
                };
                let physical = physical_id
                    .map(str::to_owned)
                    .or_else(|| current.and_then(|r| r.physical_id.clone()));
                if same {
                    s.resources.remove(logical_id);
                }
                s.events.push(event(physical));
                return;
            }
            let resource =
                s.resources
                    .entry(logical_id.to_owned())
                    .or_insert_with(|| StackResource {
                        logical_id: logical_id.to_owned(),
                        physical_id: None,
                        resource_type: resource_type.to_owned(),
                        status,
                        status_reason: None,
                        last_updated: now,
                    });
            if let Some(id) = physical_id {
                resource.physical_id = Some(id.to_owned());
            }
            resource.resource_type = resource_type.to_owned();
            resource.status = status;
            resource.status_reason = reason.map(str::to_owned);
            resource.last_updated = now;
            let physical = resource.physical_id.clone();
            s.events.push(event(physical));
        })
    }

    /// Replaces the stack's resolved outputs.
    pub fn set_outputs(
        &self,
        stack: &str,
        outputs: Vec<StackOutput>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| s.outputs = outputs)
    }

    /// Replaces the stack's resolved parameters.
    pub fn set_parameters(
        &self,
        stack: &str,
        parameters: Vec<StackParameter>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| s.parameters = parameters)
    }

    /// Replaces the stack's templates (as submitted, and processed) and its description.
    pub fn set_templates(
        &self,
        stack: &str,
        original: String,
        processed: String,
        description: Option<String>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| {
            s.template_original = original;
            s.template_processed = processed;
            s.description = description;
        })
    }

    /// Replaces the stack's acknowledged capabilities.
    pub fn set_capabilities(
        &self,
        stack: &str,
        capabilities: Vec<String>,
    ) -> Result<(), CloudFormationError> {
        self.with_stack(stack, |s| s.capabilities = capabilities)
    }

    /// The stack named `name_or_id`, or whose id it is.
    pub fn get(&self, name_or_id: &str) -> Option<Stack> {
        let stacks = self.lock();
        find(&stacks, name_or_id).cloned()
    }

    /// Every stack, by name.
    pub fn list(&self) -> Vec<Stack> {
        self.lock().values().cloned().collect()
    }

    fn with_stack<T>(
        &self,
        name_or_id: &str,
        change: impl FnOnce(&mut Stack) -> T,
    ) -> Result<T, CloudFormationError> {
        let mut stacks = self.lock();
        let stack = find_mut(&mut stacks, name_or_id)
            .ok_or_else(|| CloudFormationError::no_such_stack(name_or_id))?;
        Ok(change(stack))
    }
}

fn find<'a>(stacks: &'a BTreeMap<String, Stack>, name_or_id: &str) -> Option<&'a Stack> {
    stacks
        .get(name_or_id)
        .or_else(|| stacks.values().find(|s| s.stack_id == name_or_id))
}

fn find_mut<'a>(
    stacks: &'a mut BTreeMap<String, Stack>,
    name_or_id: &str,
) -> Option<&'a mut Stack> {
    let name = find(stacks, name_or_id)?.name.clone();
    stacks.get_mut(&name)
}

/// Logs the stack's current status as its own event.
fn push_stack_event(stack: &mut Stack, timestamp: OffsetDateTime) {
    let event = StackEvent {
        event_id: uuid_like(),
        logical_id: stack.name.clone(),
        physical_id: Some(stack.stack_id.clone()),
        resource_type: STACK_RESOURCE_TYPE.into(),
        status: stack.status.as_str().to_owned(),
        status_reason: stack.status_reason.clone(),
        timestamp,
    };
    stack.events.push(event);
}

/// CloudFormation's rule for a stack name: a letter, then letters, digits and hyphens, at most
/// 128 characters.
fn check_name(name: &str) -> Result<(), CloudFormationError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= NAME_LIMIT;
    if valid {
        Ok(())
    } else {
        Err(CloudFormationError::validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             [a-zA-Z][-a-zA-Z0-9]* and have length less than or equal to {NAME_LIMIT}"
        )))
    }
}

/// A random id in a UUID's shape (8-4-4-4-12 hex digits), as CloudFormation's stack and event
/// ids end.
fn uuid_like() -> String {
    let n: u128 = rand::random();
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests;
