//! The template's `Outputs`, resolved once the stack's resources exist.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::intrinsics::{Context, IntrinsicError, resolve, scalar_string};
use crate::load::kind;
use crate::path::Path;

/// One resolved output.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `Value`, resolved (a string, or the list a `Ref` of a list parameter gives).
    pub value: Value,
    /// `Description`, when given.
    pub description: Option<String>,
    /// `Export.Name`, resolved, when given.
    pub export_name: Option<String>,
}

impl Output {
    /// The value as `DescribeStacks` shows it (`OutputValue`): a list joined with commas.
    pub fn value_text(&self) -> String {
        value_text(&self.value)
    }
}

/// A resolved value as CloudFormation shows it in text (`OutputValue`, `ParameterValue`): a
/// list joined with commas, a scalar as itself.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| scalar_string(item).unwrap_or_else(|| item.to_string()))
            .collect::<Vec<_>>()
            .join(","),
        other => scalar_string(other).unwrap_or_else(|| other.to_string()),
    }
}

/// The template's `Outputs` resolved with `ctx`; an output whose `Condition` is false is left
/// out, as CloudFormation leaves it out.
pub fn resolve_outputs(
    template: &Value,
    ctx: &dyn Context,
) -> Result<BTreeMap<String, Output>, IntrinsicError> {
    let root = Path::root().key("Outputs");
    let outputs = match template.get("Outputs") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(IntrinsicError::new(
                &root,
                format!(
                    "Outputs must be a mapping of names to outputs, found {}",
                    kind(other)
                ),
            ));
        }
    };
    let mut out = BTreeMap::new();
    for (name, output) in outputs {
        let at = root.key(name);
        if let Some(condition) = output.get("Condition") {
            let name = condition.as_str().unwrap_or_default();
            let holds = ctx.condition(name).ok_or_else(|| {
                IntrinsicError::new(
                    &at.key("Condition"),
                    format!("condition {condition} is not declared: add it under Conditions or fix the name"),
                )
            })?;
            if !holds {
                continue;
            }
        }
        let value = output.get("Value").ok_or_else(|| {
            IntrinsicError::new(
                &at,
                "an output needs a Value: add `Value: ...` or remove the output",
            )
        })?;
        let value = resolve(value, ctx, &at.key("Value").to_string())?;
        let export_name = match output.get("Export").and_then(|e| e.get("Name")) {
            None => None,
            Some(export) => {
                let here = at.key("Export").key("Name");
                let resolved = resolve(export, ctx, &here.to_string())?;
                Some(scalar_string(&resolved).ok_or_else(|| {
                    IntrinsicError::new(
                        &here,
                        format!("an export name is a string, found {}", kind(&resolved)),
                    )
                })?)
            }
        };
        out.insert(
            name.clone(),
            Output {
                value,
                description: output
                    .get("Description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                export_name,
            },
        );
    }
    Ok(out)
}
