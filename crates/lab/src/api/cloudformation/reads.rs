//! CloudFormation's read operations over the lab's [`Stacks`]: DescribeStacks,
//! DescribeStackResources, DescribeStackResource, ListStackResources, DescribeStackEvents,
//! GetTemplate, ListStacks. Lists that page take `NextToken` as CloudFormation does.

use crate::control::stacks::{CloudFormationError, Stack, StackResource, StackStatus, Stacks};

use super::form::Form;
use super::xml::{self, Xml};

/// How many entries ListStackResources and DescribeStackEvents answer per page (as
/// CloudFormation: 100).
pub const PAGE_SIZE: usize = 100;

/// The stack `StackName` names, or CloudFormation's "does not exist".
fn stack(stacks: &Stacks, form: &Form) -> Result<Stack, CloudFormationError> {
    let name = form.required("StackName")?;
    stacks
        .get(name)
        .ok_or_else(|| CloudFormationError::no_such_stack(name))
}

fn invalid_token(token: &str) -> CloudFormationError {
    CloudFormationError::validation(format!(
        "Invalid NextToken '{token}': send the NextToken of the previous page unchanged"
    ))
}

pub fn describe_stacks(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let listed = match form.get("StackName") {
        Some(_) => vec![stack(stacks, form)?],
        None => stacks
            .list()
            .into_iter()
            .filter(|s| s.status != StackStatus::DeleteComplete)
            .collect(),
    };
    Ok(xml::response("DescribeStacks", request_id, |x| {
        x.members("Stacks", &listed, write_stack);
    }))
}

fn write_stack(x: &mut Xml, s: &Stack) {
    x.text("StackId", &s.stack_id)
        .text("StackName", &s.name)
        .opt("Description", s.description.as_deref());
    x.members("Parameters", &s.parameters, |x, p| {
        x.text("ParameterKey", &p.key)
            .text("ParameterValue", &p.value);
    });
    x.time("CreationTime", s.creation_time);
    if let Some(t) = s.last_updated_time {
        x.time("LastUpdatedTime", t);
    }
    x.open("RollbackConfiguration")
        .close("RollbackConfiguration");
    x.text("StackStatus", s.status.as_str())
        .opt("StackStatusReason", s.status_reason.as_deref())
        .text("DisableRollback", "false");
    x.members("NotificationARNs", std::iter::empty::<()>(), |_, ()| {});
    x.members("Capabilities", &s.capabilities, |x, c| {
        x.out_text(c);
    });
    x.members("Outputs", &s.outputs, |x, o| {
        x.text("OutputKey", &o.key)
            .text("OutputValue", &o.value)
            .opt("Description", o.description.as_deref())
            .opt("ExportName", o.export_name.as_deref());
    });
    x.members("Tags", std::iter::empty::<()>(), |_, ()| {});
    x.text("EnableTerminationProtection", "false");
    x.open("DriftInformation")
        .text("StackDriftStatus", "NOT_CHECKED")
        .close("DriftInformation");
}

/// The resource's fields every resource shape has.
fn write_resource_status(x: &mut Xml, r: &StackResource) {
    x.text("LogicalResourceId", &r.logical_id)
        .opt("PhysicalResourceId", r.physical_id.as_deref())
        .text("ResourceType", &r.resource_type);
}

fn write_drift(x: &mut Xml) {
    x.open("DriftInformation")
        .text("StackResourceDriftStatus", "NOT_CHECKED")
        .close("DriftInformation");
}

pub fn describe_stack_resources(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let physical = form.get("PhysicalResourceId");
    let logical = form.get("LogicalResourceId");
    let stack = match (form.get("StackName"), physical) {
        (Some(_), _) => stack(stacks, form)?,
        (None, Some(physical)) => stacks
            .list()
            .into_iter()
            .find(|s| {
                s.resources
                    .values()
                    .any(|r| r.physical_id.as_deref() == Some(physical))
            })
            .ok_or_else(|| {
                CloudFormationError::validation(format!("Stack for {physical} does not exist"))
            })?,
        (None, None) => {
            return Err(CloudFormationError::validation(
                "Either StackName or PhysicalResourceId must be specified.",
            ));
        }
    };
    let resources = stack.resources.values().filter(|r| {
        logical.is_none_or(|l| r.logical_id == l)
            && physical.is_none_or(|p| r.physical_id.as_deref() == Some(p))
    });
    Ok(xml::response("DescribeStackResources", request_id, |x| {
        x.members("StackResources", resources, |x, r| {
            x.text("StackName", &stack.name)
                .text("StackId", &stack.stack_id);
            write_resource_status(x, r);
            x.time("Timestamp", r.last_updated)
                .text("ResourceStatus", r.status.as_str())
                .opt("ResourceStatusReason", r.status_reason.as_deref());
            write_drift(x);
        });
    }))
}

pub fn describe_stack_resource(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let stack = stack(stacks, form)?;
    let logical = form.required("LogicalResourceId")?;
    let r = stack.resources.get(logical).ok_or_else(|| {
        CloudFormationError::validation(format!(
            "Resource {logical} does not exist for stack {}",
            stack.name
        ))
    })?;
    Ok(xml::response("DescribeStackResource", request_id, |x| {
        x.open("StackResourceDetail")
            .text("StackName", &stack.name)
            .text("StackId", &stack.stack_id);
        write_resource_status(x, r);
        x.time("LastUpdatedTimestamp", r.last_updated)
            .text("ResourceStatus", r.status.as_str())
            .opt("ResourceStatusReason", r.status_reason.as_deref())
            .text("Metadata", "{}");
        write_drift(x);
        x.close("StackResourceDetail");
    }))
}

pub fn list_stack_resources(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let stack = stack(stacks, form)?;
    // The token is the logical id the page starts at: stable while resources are added.
    let start = match form.get("NextToken") {
        Some(token) if stack.resources.contains_key(token) => Some(token),
        Some(token) => return Err(invalid_token(token)),
        None => None,
    };
    let mut rest = stack
        .resources
        .range::<str, _>((
            start.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Included),
            std::ops::Bound::Unbounded,
        ))
        .map(|(_, r)| r);
    let page: Vec<&StackResource> = rest.by_ref().take(PAGE_SIZE).collect();
    let next = rest.next().map(|r| r.logical_id.clone());
    Ok(xml::response("ListStackResources", request_id, |x| {
        x.members("StackResourceSummaries", page, |x, r| {
            write_resource_status(x, r);
            x.time("LastUpdatedTimestamp", r.last_updated)
                .text("ResourceStatus", r.status.as_str())
                .opt("ResourceStatusReason", r.status_reason.as_deref());
            write_drift(x);
        });
        x.opt("NextToken", next.as_deref());
    }))
}

pub fn describe_stack_events(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let stack = stack(stacks, form)?;
    // The token is how many of the oldest events are left to list: stable while new events
    // are logged (they are listed first, on the first page of the next call).
    let left = match form.get("NextToken") {
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n <= stack.events.len())
            .ok_or_else(|| invalid_token(token))?,
        None => stack.events.len(),
    };
    let from = left.saturating_sub(PAGE_SIZE);
    let page = stack.events[from..left].iter().rev();
    let next = (from > 0).then(|| from.to_string());
    Ok(xml::response("DescribeStackEvents", request_id, |x| {
        x.members("StackEvents", page, |x, e| {
            x.text("StackId", &stack.stack_id)
                .text("EventId", &e.event_id)
                .text("StackName", &stack.name)
                .text("LogicalResourceId", &e.logical_id)
                .opt("PhysicalResourceId", e.physical_id.as_deref())
                .text("ResourceType", &e.resource_type)
                .time("Timestamp", e.timestamp)
                .text("ResourceStatus", &e.status)
                .opt("ResourceStatusReason", e.status_reason.as_deref());
        });
        x.opt("NextToken", next.as_deref());
    }))
}

pub fn get_template(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let stack = stack(stacks, form)?;
    let body = match form.get("TemplateStage").unwrap_or("Original") {
        "Original" => &stack.template_original,
        "Processed" => &stack.template_processed,
        other => {
            return Err(CloudFormationError::validation(format!(
                "1 validation error detected: Value '{other}' at 'templateStage' failed to \
                 satisfy constraint: Member must satisfy enum value set: [Original, Processed]"
            )));
        }
    };
    Ok(xml::response("GetTemplate", request_id, |x| {
        x.text("TemplateBody", body);
        x.members("StagesAvailable", ["Original", "Processed"], |x, s| {
            x.out_text(s);
        });
    }))
}

pub fn list_stacks(
    stacks: &Stacks,
    form: &Form,
    request_id: &str,
) -> Result<String, CloudFormationError> {
    let filter = form
        .list("StackStatusFilter")
        .iter()
        .map(|s| {
            s.parse::<StackStatus>()
                .map_err(|e| CloudFormationError::validation(format!("StackStatusFilter: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let listed: Vec<Stack> = stacks
        .list()
        .into_iter()
        .filter(|s| filter.is_empty() || filter.contains(&s.status))
        .collect();
    Ok(xml::response("ListStacks", request_id, |x| {
        x.members("StackSummaries", &listed, |x, s| {
            x.text("StackId", &s.stack_id)
                .text("StackName", &s.name)
                .opt("TemplateDescription", s.description.as_deref())
                .time("CreationTime", s.creation_time);
            if let Some(t) = s.last_updated_time {
                x.time("LastUpdatedTime", t);
            }
            x.text("StackStatus", s.status.as_str())
                .opt("StackStatusReason", s.status_reason.as_deref());
            x.open("DriftInformation")
                .text("StackDriftStatus", "NOT_CHECKED")
                .close("DriftInformation");
        });
    }))
}
