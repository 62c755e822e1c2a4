//! A typed view of a template's `Resources`.

use serde_json::Value;

use crate::intrinsics::{Context, IntrinsicError};
use crate::load::kind;

/// A `Resources` section that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// No `Resources`, or not a mapping.
    #[error(
        "Resources: {found}: a template declares its resources in a mapping `Resources: {{LogicalId: {{Type: ..., Properties: ...}}}}`"
    )]
    NoResources {
        /// What was found instead (`missing`, `a list`, ...).
        found: String,
    },
    /// A resource that is not a mapping, or has no string `Type`, or a malformed key.
    #[error("Resources.{logical_id}.{key}: {message}")]
    Malformed {
        /// The resource.
        logical_id: String,
        /// The key at fault (`Type`, `DependsOn`, `Condition`, ...).
        key: String,
        /// What is wrong and the fix.
        message: String,
    },
}

/// One resource of a template, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resource<'a> {
    /// Its logical id (the key under `Resources`).
    pub logical_id: &'a str,
    /// `Type` (`AWS::Lambda::Function`).
    pub resource_type: &'a str,
    /// `Properties` (`Null` when absent).
    pub properties: &'a Value,
    /// `Condition`: the condition that must hold for the resource to exist.
    pub condition: Option<&'a str>,
    /// `Metadata` (`Null` when absent).
    pub metadata: &'a Value,
    /// `UpdatePolicy` (`Null` when absent).
    pub update_policy: &'a Value,
    /// `DeletionPolicy` (`Delete`, `Retain`, `Snapshot`), when given.
    pub deletion_policy: Option<&'a str>,
    /// The whole definition.
    pub definition: &'a Value,
}

static NULL: Value = Value::Null;

impl<'a> Resource<'a> {
    /// `DependsOn` (a name or a list of names).
    pub fn depends_on(&self) -> Result<Vec<&'a str>, TemplateError> {
        let malformed = |message: String| TemplateError::Malformed {
            logical_id: self.logical_id.to_owned(),
            key: "DependsOn".to_owned(),
            message,
        };
        match self.definition.get("DependsOn") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(name)) => Ok(vec![name.as_str()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().ok_or_else(|| {
                        malformed(format!(
                            "DependsOn lists logical ids, found {}: write the resources' names",
                            kind(item)
                        ))
                    })
                })
                .collect(),
            Some(other) => Err(malformed(format!(
                "DependsOn is a logical id or a list of them, found {}",
                kind(other)
            ))),
        }
    }

    /// Whether the resource exists under `ctx`'s conditions (without a `Condition`, always).
    pub fn is_included(&self, ctx: &dyn Context) -> Result<bool, IntrinsicError> {
        let Some(name) = self.condition else {
            return Ok(true);
        };
        ctx.condition(name).ok_or_else(|| IntrinsicError {
            path: format!("Resources.{}.Condition", self.logical_id),
            message: format!(
                "condition {name} is not declared: add it under Conditions or fix the name"
            ),
        })
    }

    /// `Metadata.SamResourceId`: the SAM resource this one was generated from, when the
    /// translator recorded it.
    pub fn sam_resource_id(&self) -> Option<&'a str> {
        sam_resource_id(self.definition)
    }
}

/// `Metadata.SamResourceId` of a resource definition, when present.
pub fn sam_resource_id(resource: &Value) -> Option<&str> {
    resource.get("Metadata")?.get("SamResourceId")?.as_str()
}

/// The template's resources, in logical id order.
pub fn resources(template: &Value) -> Result<Vec<Resource<'_>>, TemplateError> {
    let map = match template.get("Resources") {
        Some(Value::Object(map)) => map,
        None => {
            return Err(TemplateError::NoResources {
                found: "missing".to_owned(),
            });
        }
        Some(other) => {
            return Err(TemplateError::NoResources {
                found: format!("found {}", kind(other)),
            });
        }
    };
    let mut out = Vec::with_capacity(map.len());
    for (logical_id, definition) in map {
        let malformed = |key: &str, message: String| TemplateError::Malformed {
            logical_id: logical_id.clone(),
            key: key.to_owned(),
            message,
        };
        if !definition.is_object() {
            return Err(malformed(
                "Type",
                format!(
                    "a resource is a mapping with Type and Properties, found {}",
                    kind(definition)
                ),
            ));
        }
        let resource_type = definition
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                malformed(
                    "Type",
                    "missing or not a string: give the resource type, e.g. `Type: AWS::Lambda::Function`"
                        .to_owned(),
                )
            })?;
        let condition = match definition.get("Condition") {
            None => None,
            Some(Value::String(name)) => Some(name.as_str()),
            Some(other) => {
                return Err(malformed(
                    "Condition",
                    format!(
                        "a resource's Condition is a condition name, found {}",
                        kind(other)
                    ),
                ));
            }
        };
        let deletion_policy = definition.get("DeletionPolicy").and_then(Value::as_str);
        let field = |key: &str| definition.get(key).unwrap_or(&NULL);
        out.push(Resource {
            logical_id,
            resource_type,
            properties: field("Properties"),
            condition,
            metadata: field("Metadata"),
            update_policy: field("UpdatePolicy"),
            deletion_policy,
            definition,
        });
    }
    // (serde_json's map keeps document order when its `preserve_order` feature is on.)
    out.sort_by_key(|r| r.logical_id);
    Ok(out)
}
