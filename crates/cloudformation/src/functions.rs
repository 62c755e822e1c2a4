//! The list and string functions: `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`,
//! `Fn::Base64`, `Fn::GetAZs`, `Fn::ToJsonString`, `Fn::Length`; the ones the lab cannot play
//! (`Fn::ImportValue`, `Fn::Cidr`, `Fn::Transform`) are refused with the reason.

use base64::Engine as _;
use serde_json::Value;

use crate::intrinsics::{Context, IntrinsicError, args, eval, eval_some, scalar_string};
use crate::load::kind;
use crate::path::Path;

/// Evaluates the function `name` (an `Fn::*` other than GetAtt, Sub, If and the conditions).
pub(crate) fn call(
    name: &str,
    arg: &Value,
    ctx: &dyn Context,
    at: &Path,
) -> Result<Value, IntrinsicError> {
    match name {
        "Fn::Join" => {
            let [delimiter, list] = args::<2>(arg, at, name, "[Delimiter, [Values]]")?;
            let delimiter = string(delimiter, ctx, &at.index(0), "Fn::Join's delimiter")?;
            let items = list_of_strings(list, ctx, &at.index(1), "Fn::Join's values")?;
            Ok(Value::String(items.join(&delimiter)))
        }
        "Fn::Select" => {
            let [index, list] = args::<2>(arg, at, name, "[Index, [Values]]")?;
            let index_value = eval_some(index, ctx, &at.index(0), "Fn::Select's index")?;
            let index: usize = scalar_string(&index_value)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    IntrinsicError::new(
                        &at.index(0),
                        format!("Fn::Select's index must be a whole number, found {index_value}"),
                    )
                })?;
            let items = list_value(list, ctx, &at.index(1), "Fn::Select's values")?;
            let len = items.len();
            items.into_iter().nth(index).ok_or_else(|| {
                IntrinsicError::new(
                    at,
                    format!("Fn::Select index {index} is out of range: the list has {len} items"),
                )
            })
        }
        "Fn::Split" => {
            let [delimiter, source] = args::<2>(arg, at, name, "[Delimiter, String]")?;
            let delimiter = string(delimiter, ctx, &at.index(0), "Fn::Split's delimiter")?;
            if delimiter.is_empty() {
                return Err(IntrinsicError::new(
                    &at.index(0),
                    "Fn::Split's delimiter is empty: give one or more characters",
                ));
            }
            let source = string(source, ctx, &at.index(1), "Fn::Split's string")?;
            Ok(Value::from(
                source.split(delimiter.as_str()).collect::<Vec<_>>(),
            ))
        }
        "Fn::FindInMap" => find_in_map(arg, ctx, at),
        "Fn::Base64" => {
            let text = string(arg, ctx, at, "Fn::Base64's value")?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(text),
            ))
        }
        "Fn::GetAZs" => {
            let region = string(arg, ctx, at, "Fn::GetAZs's region")?;
            let region = if region.is_empty() {
                ctx.pseudo("AWS::Region")
                    .and_then(|r| r.as_str().map(str::to_owned))
                    .ok_or_else(|| IntrinsicError::new(at, "Fn::GetAZs: the stack has no region"))?
            } else {
                region
            };
            // The lab's regions have three zones, named as AWS names them.
            Ok(Value::from(
                ["a", "b", "c"]
                    .iter()
                    .map(|zone| format!("{region}{zone}"))
                    .collect::<Vec<_>>(),
            ))
        }
        "Fn::ToJsonString" => {
            let value = eval_some(arg, ctx, at, "Fn::ToJsonString's value")?;
            Ok(Value::String(value.to_string()))
        }
        "Fn::Length" => {
            let items = list_value(arg, ctx, at, "Fn::Length's value")?;
            Ok(Value::from(items.len()))
        }
        "Fn::ImportValue" => Err(IntrinsicError::new(
            at,
            "Fn::ImportValue: the lab runs one stack and has no other stacks' exports: pass the value as a parameter instead",
        )),
        "Fn::Cidr" => Err(IntrinsicError::new(
            at,
            "Fn::Cidr is not played by the lab (it emulates no VPC): write the CIDR blocks out",
        )),
        "Fn::Transform" => Err(IntrinsicError::new(
            at,
            "Fn::Transform: the lab runs no CloudFormation macros: expand the macro before deploying",
        )),
        other => Err(IntrinsicError::new(
            at,
            format!(
                "unknown intrinsic function {other}: CloudFormation's are Ref, Condition, Fn::Base64, Fn::Cidr, Fn::FindInMap, Fn::GetAtt, Fn::GetAZs, Fn::If, Fn::ImportValue, Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::Transform and the conditions Fn::And, Fn::Equals, Fn::Not, Fn::Or"
            ),
        )),
    }
}

/// `value` evaluated to a scalar, as a string.
fn string(
    value: &Value,
    ctx: &dyn Context,
    at: &Path,
    what: &str,
) -> Result<String, IntrinsicError> {
    let value = eval_some(value, ctx, at, what)?;
    scalar_string(&value).ok_or_else(|| {
        IntrinsicError::new(
            at,
            format!("{what} must be a string, found {}", kind(&value)),
        )
    })
}

/// `value` evaluated to a list (items that are `AWS::NoValue` dropped).
fn list_value(
    value: &Value,
    ctx: &dyn Context,
    at: &Path,
    what: &str,
) -> Result<Vec<Value>, IntrinsicError> {
    match eval(value, ctx, at)? {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(IntrinsicError::new(
            at,
            format!("{what} must be a list, found {}", kind(&other)),
        )),
        None => Ok(Vec::new()),
    }
}

fn list_of_strings(
    value: &Value,
    ctx: &dyn Context,
    at: &Path,
    what: &str,
) -> Result<Vec<String>, IntrinsicError> {
    list_value(value, ctx, at, what)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            scalar_string(item).ok_or_else(|| {
                IntrinsicError::new(
                    &at.index(i),
                    format!("{what} must be strings, found {}", kind(item)),
                )
            })
        })
        .collect()
}

/// `Fn::FindInMap: [MapName, TopLevelKey, SecondLevelKey]` in [`Context::mappings`].
fn find_in_map(arg: &Value, ctx: &dyn Context, at: &Path) -> Result<Value, IntrinsicError> {
    let [map, top, second] = args::<3>(
        arg,
        at,
        "Fn::FindInMap",
        "[MapName, TopLevelKey, SecondLevelKey]",
    )?;
    let map = string(map, ctx, &at.index(0), "Fn::FindInMap's map name")?;
    let top = string(top, ctx, &at.index(1), "Fn::FindInMap's top-level key")?;
    let second = string(
        second,
        ctx,
        &at.index(2),
        "Fn::FindInMap's second-level key",
    )?;
    let missing = |what: String| {
        IntrinsicError::new(
            at,
            format!(
                "Fn::FindInMap [{map}, {top}, {second}]: {what}: add it under Mappings or fix the name"
            ),
        )
    };
    let mapping = ctx
        .mappings()
        .and_then(|m| m.get(&map))
        .ok_or_else(|| missing(format!("Mappings has no map {map}")))?;
    let entry = mapping
        .get(&top)
        .ok_or_else(|| missing(format!("Mappings.{map} has no key {top}")))?;
    entry
        .get(&second)
        .cloned()
        .ok_or_else(|| missing(format!("Mappings.{map}.{top} has no key {second}")))
}
