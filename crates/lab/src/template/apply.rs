//! A stack's create or update, played on the lab as CloudFormation plays it: resources in
//! dependency order, each created, updated in place, replaced or left alone by comparing its
//! resolved properties with what the stack has; an alias whose `UpdatePolicy` names
//! CodeDeploy (`CodeDeployLambdaAliasUpdate`, what SAM's `DeploymentPreference` writes) moves
//! through a CodeDeploy deployment, and a failed resource (a stopped or failed deployment
//! too) rolls the whole stack back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use cloudformation::{creation_order, evaluate_conditions, resolve};

use super::live::{LiveResource, LiveStack};
use super::resources::{self, LabParts, ResourceError, function_name, text};
use super::routes::stack_routes;
use crate::api::gateway::RouteTable;
use crate::control::stacks::{ResourceStatus, StackStatus};

/// Where the engine reports progress: CloudFormation's resource and stack statuses.
pub trait Recorder: Send + Sync {
    /// A resource's status changed (`CREATE_IN_PROGRESS`, ...).
    fn resource(
        &self,
        logical_id: &str,
        physical_id: &str,
        resource_type: &str,
        status: ResourceStatus,
        reason: Option<&str>,
    );
    /// The stack's status changed.
    fn stack(&self, status: StackStatus, reason: Option<&str>);
}

/// A template ready to apply: translated, its parameters resolved.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The template file.
    pub template_path: PathBuf,
    /// Plain CloudFormation (after the SAM transform).
    pub template: Value,
    /// Staged code: S3 key -> local path.
    pub artifacts: BTreeMap<String, PathBuf>,
    /// Parameter values.
    pub parameters: BTreeMap<String, Value>,
    /// When given, an alias's CodeDeploy deployment starts only once this is `true` (the
    /// rehearsal starts the shift on the prober's schedule; the rest of the update is done).
    pub shift_gate: Option<tokio::sync::watch::Receiver<bool>>,
}

/// One change made, for the rollback.
enum Step {
    /// A resource new to the stack.
    Created(String),
    /// A resource replaced by a new one (another physical id); the old one stays until the
    /// cleanup.
    Replaced(String, LiveResource),
    /// A resource updated in place, with what it was.
    Updated(String, LiveResource),
}

/// How an apply ended.
#[derive(Debug)]
pub enum Applied {
    /// Every resource is as the template says.
    Complete(LiveStack),
    /// A resource failed; the stack is back as it was before. The reason names the resource.
    RolledBack(LiveStack, String),
}

/// Applies `prepared` over `previous` (an empty stack for a create).
pub async fn apply(
    parts: &LabParts,
    previous: LiveStack,
    prepared: Prepared,
    recorder: &dyn Recorder,
) -> Applied {
    let creating = previous.resources.is_empty();
    let mut stack = previous.clone();
    stack.template_path = prepared.template_path.clone();
    stack.parameters = prepared.parameters.clone();
    stack.artifacts.extend(prepared.artifacts.clone());
    stack.mappings = prepared
        .template
        .get("Mappings")
        .cloned()
        .unwrap_or(Value::Null);
    stack.template = prepared.template.clone();
    recorder.stack(
        if creating {
            StackStatus::CreateInProgress
        } else {
            StackStatus::UpdateInProgress
        },
        Some("User Initiated"),
    );
    let mut steps = Vec::new();
    let gate = prepared.shift_gate.clone();
    match apply_resources(
        parts,
        &mut stack,
        &previous,
        &prepared.template,
        recorder,
        &mut steps,
        gate,
    )
    .await
    {
        Ok(()) => {
            if !creating {
                recorder.stack(StackStatus::UpdateCompleteCleanupInProgress, None);
            }
            clean_up(parts, &previous, &stack, recorder);
            refresh_routes(parts, &stack);
            recorder.stack(
                if creating {
                    StackStatus::CreateComplete
                } else {
                    StackStatus::UpdateComplete
                },
                None,
            );
            Applied::Complete(stack)
        }
        Err(reason) => {
            recorder.stack(
                if creating {
                    StackStatus::RollbackInProgress
                } else {
                    StackStatus::UpdateRollbackInProgress
                },
                Some(&reason),
            );
            roll_back(parts, &mut stack, steps, recorder).await;
            // Every change is undone: the stack is as it was, resources the failed template
            // removed (never deleted before the cleanup) and replaced ones included.
            let stack = previous;
            refresh_routes(parts, &stack);
            recorder.stack(
                if creating {
                    StackStatus::RollbackComplete
                } else {
                    StackStatus::UpdateRollbackComplete
                },
                None,
            );
            Applied::RolledBack(stack, reason)
        }
    }
}

/// The cleanup of a completed update: what left the stack and what was replaced, deleted in
/// the reverse of the previous template's creation order (what depends on a resource first);
/// kept (`DELETE_SKIPPED`) when its `DeletionPolicy` (left) or the template's
/// `UpdateReplacePolicy` (replaced) is `Retain`.
fn clean_up(parts: &LabParts, previous: &LiveStack, stack: &LiveStack, recorder: &dyn Recorder) {
    let mut order = creation_order(&previous.template).unwrap_or_default();
    order.retain(|id| previous.resources.contains_key(id));
    for id in previous.resources.keys() {
        if !order.contains(id) {
            order.push(id.clone());
        }
    }
    for id in order.iter().rev() {
        let old = &previous.resources[id];
        let policy = match stack.resources.get(id) {
            None => old.deletion_policy.as_deref(),
            Some(now) if now.physical_id != old.physical_id => now.update_replace_policy.as_deref(),
            Some(_) => continue,
        };
        let status = if policy == Some("Retain") {
            ResourceStatus::DeleteSkipped
        } else {
            resources::remove(parts, old);
            ResourceStatus::DeleteComplete
        };
        recorder.resource(id, &old.physical_id, &old.resource_type, status, None);
    }
}

/// The front door serves the stack's APIs' routes from now on.
pub fn refresh_routes(parts: &LabParts, stack: &LiveStack) {
    let (routes, skipped) = stack_routes(stack);
    for s in skipped {
        tracing::warn!(api = %s.api, route = %s.route, reason = %s.reason, "route not served");
    }
    parts.live_routes.replace(RouteTable::new(routes));
}

/// The name errors give a resource: the template's own logical id (SAM's `SamResourceId`)
/// and the generated one when they differ.
pub fn shown_id(template: &Value, logical_id: &str) -> String {
    match template
        .pointer(&format!("/Resources/{logical_id}/Metadata/SamResourceId"))
        .and_then(Value::as_str)
    {
        Some(sam) if sam != logical_id => format!("{sam} ({logical_id})"),
        _ => logical_id.to_owned(),
    }
}

async fn apply_resources(
    parts: &LabParts,
    stack: &mut LiveStack,
    previous: &LiveStack,
    template: &Value,
    recorder: &dyn Recorder,
    steps: &mut Vec<Step>,
    mut gate: Option<tokio::sync::watch::Receiver<bool>>,
) -> Result<(), String> {
    stack.conditions = evaluate_conditions(template, &*stack).map_err(|e| e.to_string())?;
    let order = creation_order(template).map_err(|e| e.to_string())?;
    let wanted: Vec<String> = order
        .into_iter()
        .filter(|id| {
            template
                .pointer(&format!("/Resources/{id}/Condition"))
                .and_then(Value::as_str)
                .is_none_or(|c| stack.conditions.get(c).copied().unwrap_or(false))
        })
        .collect();
    // Resources leaving the stack are not Refs any more.
    stack.resources.retain(|id, _| wanted.contains(id));
    for id in wanted {
        let resource = &template["Resources"][&id];
        let resource_type = resource["Type"].as_str().unwrap_or_default().to_owned();
        let shown = shown_id(template, &id);
        let fail = |e: String| format!("{shown}: {e}");
        let properties = resolve(
            resource.get("Properties").unwrap_or(&json!({})),
            &*stack,
            &format!("Resources.{id}.Properties"),
        )
        .map_err(|e| fail(e.to_string()))?;
        let update_policy = resolve(
            resource.get("UpdatePolicy").unwrap_or(&Value::Null),
            &*stack,
            &format!("Resources.{id}.UpdatePolicy"),
        )
        .map_err(|e| fail(e.to_string()))?;
        let policy = |name: &str| {
            resource
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (deletion_policy, update_replace_policy) =
            (policy("DeletionPolicy"), policy("UpdateReplacePolicy"));
        let old = previous
            .resources
            .get(&id)
            .filter(|o| o.resource_type == resource_type)
            .cloned();
        let immutable = matches!(
            resource_type.as_str(),
            "AWS::Lambda::Version" | "AWS::Lambda::LayerVersion"
        );
        let replaced = |old: &LiveResource| {
            immutable
                || resources::replacing_properties(&resource_type)
                    .iter()
                    .any(|p| old.properties.get(p) != properties.get(p))
        };
        let live = match old {
            Some(old) if old.properties == properties => old,
            Some(old) if !replaced(&old) => {
                recorder.resource(
                    &id,
                    &old.physical_id,
                    &resource_type,
                    ResourceStatus::UpdateInProgress,
                    None,
                );
                steps.push(Step::Updated(id.clone(), old.clone()));
                let updated = if let Some(policy) = update_policy.get("CodeDeployLambdaAliasUpdate")
                    && resource_type == "AWS::Lambda::Alias"
                    && old.properties.get("FunctionVersion") != properties.get("FunctionVersion")
                {
                    if let Some(gate) = gate.as_mut() {
                        let _ = gate.wait_for(|open| *open).await;
                    }
                    shift_with_codedeploy(parts, &id, &old, &properties, policy, recorder)
                        .await
                        .map(|()| LiveResource {
                            properties: properties.clone(),
                            ..old.clone()
                        })
                } else {
                    resources::update(parts, stack, &id, &old, properties).await
                };
                let mut updated = updated.map_err(|e| {
                    recorder.resource(
                        &id,
                        &old.physical_id,
                        &resource_type,
                        ResourceStatus::UpdateFailed,
                        Some(&e.0),
                    );
                    fail(e.0)
                })?;
                updated.deletion_policy = deletion_policy;
                updated.update_replace_policy = update_replace_policy;
                recorder.resource(
                    &id,
                    &updated.physical_id,
                    &resource_type,
                    ResourceStatus::UpdateComplete,
                    None,
                );
                updated
            }
            _ => {
                let replaced = previous.resources.get(&id).cloned();
                recorder.resource(
                    &id,
                    "",
                    &resource_type,
                    ResourceStatus::CreateInProgress,
                    None,
                );
                let created = resources::create(parts, stack, &id, &resource_type, properties)
                    .await
                    .map_err(|e| {
                        recorder.resource(
                            &id,
                            "",
                            &resource_type,
                            ResourceStatus::CreateFailed,
                            Some(&e.0),
                        );
                        fail(e.0)
                    })?;
                let mut created = created;
                created.deletion_policy = deletion_policy;
                created.update_replace_policy = update_replace_policy;
                steps.push(match replaced {
                    Some(old) => Step::Replaced(id.clone(), old),
                    None => Step::Created(id.clone()),
                });
                recorder.resource(
                    &id,
                    &created.physical_id,
                    &resource_type,
                    ResourceStatus::CreateComplete,
                    None,
                );
                created
            }
        };
        let is_api = matches!(
            live.resource_type.as_str(),
            "AWS::ApiGatewayV2::Api" | "AWS::ApiGateway::RestApi"
        );
        stack.resources.insert(id, live);
        if is_api {
            refresh_routes(parts, stack);
        }
    }
    Ok(())
}

/// Undoes `steps`, newest first: created resources deleted (unless retained), updated ones
/// put back (an alias straight back to its old routing), replaced ones the stack's again,
/// their replacements deleted in the cleanup (`UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS`),
/// as CloudFormation does.
async fn roll_back(
    parts: &LabParts,
    stack: &mut LiveStack,
    steps: Vec<Step>,
    recorder: &dyn Recorder,
) {
    let mut replacements = Vec::new();
    for step in steps.into_iter().rev() {
        match step {
            Step::Replaced(id, old) => {
                recorder.resource(
                    &id,
                    &old.physical_id,
                    &old.resource_type,
                    ResourceStatus::UpdateComplete,
                    None,
                );
                if let Some(new) = stack.resources.insert(id.clone(), old) {
                    replacements.push((id, new));
                }
            }
            Step::Created(id) => {
                if let Some(live) = stack.resources.remove(&id) {
                    resources::delete(parts, &live);
                    recorder.resource(
                        &id,
                        &live.physical_id,
                        &live.resource_type,
                        ResourceStatus::DeleteComplete,
                        None,
                    );
                }
            }
            Step::Updated(id, old) => {
                let Some(current) = stack.resources.get(&id).cloned() else {
                    stack.resources.insert(id, old);
                    continue;
                };
                recorder.resource(
                    &id,
                    &old.physical_id,
                    &old.resource_type,
                    ResourceStatus::UpdateInProgress,
                    None,
                );
                match resources::update(parts, stack, &id, &current, old.properties.clone()).await {
                    Ok(_) => recorder.resource(
                        &id,
                        &old.physical_id,
                        &old.resource_type,
                        ResourceStatus::UpdateComplete,
                        None,
                    ),
                    Err(e) => recorder.resource(
                        &id,
                        &old.physical_id,
                        &old.resource_type,
                        ResourceStatus::UpdateFailed,
                        Some(&e.0),
                    ),
                }
                stack.resources.insert(id, old);
            }
        }
    }
    if !replacements.is_empty() {
        recorder.stack(StackStatus::UpdateRollbackCompleteCleanupInProgress, None);
    }
    for (id, new) in replacements {
        resources::delete(parts, &new);
        // A replacement under the same physical id (a group of a new application) leaves the
        // stack's resource as it is.
        if stack.resources.get(&id).map(|r| &r.physical_id) == Some(&new.physical_id) {
            continue;
        }
        recorder.resource(
            &id,
            &new.physical_id,
            &new.resource_type,
            ResourceStatus::DeleteComplete,
            None,
        );
    }
}

/// Moves an alias from its current version to the template's through CodeDeploy, as
/// CloudFormation does for `CodeDeployLambdaAliasUpdate`: a deployment of the policy's
/// application and group with the Lambda AppSpec (and its hooks), waited for.
async fn shift_with_codedeploy(
    parts: &LabParts,
    logical_id: &str,
    old: &LiveResource,
    properties: &Value,
    policy: &Value,
    recorder: &dyn Recorder,
) -> Result<(), ResourceError> {
    let function = function_name(&text(properties, "FunctionName").unwrap_or_default());
    let alias = text(properties, "Name").unwrap_or_default();
    let current = text(&old.properties, "FunctionVersion").unwrap_or_default();
    let target = text(properties, "FunctionVersion").unwrap_or_default();
    let mut hooks = Vec::new();
    if let Some(h) = text(policy, "BeforeAllowTrafficHook") {
        hooks.push(json!({"BeforeAllowTraffic": function_name(&h)}));
    }
    if let Some(h) = text(policy, "AfterAllowTrafficHook") {
        hooks.push(json!({"AfterAllowTraffic": function_name(&h)}));
    }
    let mut appspec = json!({"version": 0.0, "Resources": [{logical_id: {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": function, "Alias": alias,
                       "CurrentVersion": current, "TargetVersion": target}}}]});
    if !hooks.is_empty() {
        appspec["Hooks"] = json!(hooks);
    }
    let input = serde_json::from_value(json!({
        "applicationName": text(policy, "ApplicationName").unwrap_or_default(),
        "deploymentGroupName": text(policy, "DeploymentGroupName").unwrap_or_default(),
        "description": format!("CloudFormation stack update: {function}:{alias} from version {current} to {target}"),
        "revision": {"revisionType": "AppSpecContent",
                     "appSpecContent": {"content": appspec.to_string()}}
    }))
    .map_err(|e| ResourceError(e.to_string()))?;
    let created = parts
        .deployments
        .create_deployment(&input)
        .map_err(|e| ResourceError(format!("CodeDeploy refused the deployment: {e}")))?;
    let id = created.deployment_id;
    recorder.resource(
        logical_id,
        &old.physical_id,
        &old.resource_type,
        ResourceStatus::UpdateInProgress,
        Some(&format!(
            "CodeDeploy deployment {id} is shifting {function}:{alias} from {current} to {target}"
        )),
    );
    let running = parts
        .deployments
        .deployment(&id)
        .map_err(|e| ResourceError(e.to_string()))?;
    running.finished().await;
    let info = serde_json::to_value(
        parts
            .deployments
            .get_deployment(&id)
            .map_err(|e| ResourceError(e.to_string()))?,
    )
    .unwrap_or_default();
    match info["status"].as_str() {
        Some("Succeeded") => Ok(()),
        status => Err(ResourceError(format!(
            "CodeDeploy deployment {id} ended {}: {}",
            status.unwrap_or("without a status"),
            info.pointer("/errorInformation/message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
        ))),
    }
}
