//! Intrinsic functions evaluated against what a stack knows: `Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! `Fn::If` with `AWS::NoValue`, and (in [`crate::functions`]) `Fn::Join`, `Fn::Select`, ...

use serde_json::{Map, Value};

use crate::conditions;
use crate::functions;
use crate::load::kind;
use crate::path::Path;
use crate::sub::{self, Part};

/// The pseudo parameter whose `Ref` removes the property (or list item) that holds it.
pub const NO_VALUE: &str = "AWS::NoValue";

/// What a stack knows when it evaluates intrinsics: parameter values, pseudo parameters,
/// the physical ids and attributes of resources created so far, the conditions.
pub trait Context {
    /// A declared parameter's resolved value (see [`crate::resolve_parameters`]).
    fn parameter(&self, name: &str) -> Option<Value>;
    /// A pseudo parameter (`AWS::Region`, ...); `AWS::NoValue` is handled by [`resolve`] itself.
    fn pseudo(&self, name: &str) -> Option<Value>;
    /// `Ref` of a resource already created (`None`: not (yet) known).
    fn resource_ref(&self, logical_id: &str) -> Option<Value>;
    /// `Fn::GetAtt` of a resource already created (`None`: not (yet) known, or no such attribute).
    fn resource_attribute(&self, logical_id: &str, attribute: &str) -> Option<Value>;
    /// A condition's value (see [`crate::evaluate_conditions`]).
    fn condition(&self, name: &str) -> Option<bool>;
    /// The template's `Mappings` section, for `Fn::FindInMap` (`None`: the template has none).
    fn mappings(&self) -> Option<&Value> {
        None
    }
}

/// An intrinsic function that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct IntrinsicError {
    /// Where the function is (`Resources.HelloFunction.Properties.Environment.Variables.X`).
    pub path: String,
    /// The function, the name it could not resolve, and the fix.
    pub message: String,
}

impl IntrinsicError {
    pub(crate) fn new(at: &Path, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError {
            path: at.to_string(),
            message: message.into(),
        }
    }
}

/// `value` with every intrinsic evaluated: `Ref` (parameters, pseudo parameters, resources),
/// `Fn::GetAtt` (list and `"A.B"` forms), `Fn::Sub` (string and `[string, map]` forms,
/// `${!Literal}`, `${Res.Attr}`, `${Param}`, `${AWS::Region}`), `Fn::If` (a `Ref` to
/// `AWS::NoValue` removes the mapping key or list item holding it), `Fn::Join`, `Fn::Select`,
/// `Fn::Split`, `Fn::FindInMap` (from [`Context::mappings`]), `Fn::Base64`, `Fn::GetAZs`,
/// `Fn::ToJsonString`, `Fn::Length`, `Fn::Equals`/`Not`/`And`/`Or` (to booleans; also inline as
/// an `Fn::If` condition) and `Condition`.
///
/// `at` is the path of `value` used in errors (`Resources.X.Properties`). A `value` that is
/// itself `AWS::NoValue` resolves to `null`.
pub fn resolve(value: &Value, ctx: &dyn Context, at: &str) -> Result<Value, IntrinsicError> {
    Ok(eval(value, ctx, &Path::from(at))?.unwrap_or(Value::Null))
}

/// The intrinsic a single-key mapping is, if it is one: `Ref`, `Condition` (with a name) or `Fn::*`.
pub(crate) fn as_intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (key, arg) = map.iter().next()?;
    match key.as_str() {
        "Ref" => Some((key, arg)),
        "Condition" if arg.is_string() => Some((key, arg)),
        k if k.starts_with("Fn::") => Some((key, arg)),
        _ => None,
    }
}

/// Evaluates `value`; `None` is `AWS::NoValue` (the holder drops it).
pub(crate) fn eval(
    value: &Value,
    ctx: &dyn Context,
    at: &Path,
) -> Result<Option<Value>, IntrinsicError> {
    match value {
        Value::Object(map) => {
            if let Some((name, arg)) = as_intrinsic(map) {
                return intrinsic(name, arg, ctx, &at.key(name));
            }
            let mut out = Map::new();
            for (key, item) in map {
                if let Some(item) = eval(item, ctx, &at.key(key))? {
                    out.insert(key.clone(), item);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(item) = eval(item, ctx, &at.index(i))? {
                    out.push(item);
                }
            }
            Ok(Some(Value::Array(out)))
        }
        scalar => Ok(Some(scalar.clone())),
    }
}

/// Evaluates `value`, which must not be `AWS::NoValue` (an argument of a function).
pub(crate) fn eval_some(
    value: &Value,
    ctx: &dyn Context,
    at: &Path,
    what: &str,
) -> Result<Value, IntrinsicError> {
    eval(value, ctx, at)?.ok_or_else(|| {
        IntrinsicError::new(
            at,
            format!("{what} is Ref AWS::NoValue, which only removes a property or list item: give a value"),
        )
    })
}

/// A scalar as the string CloudFormation makes of it (`5` → `"5"`, `true` → `"true"`).
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `arg` as a list of exactly `N` items, or an error showing the function's form.
pub(crate) fn args<'a, const N: usize>(
    arg: &'a Value,
    at: &Path,
    function: &str,
    form: &str,
) -> Result<&'a [Value; N], IntrinsicError> {
    arg.as_array()
        .and_then(|items| <&[Value; N]>::try_from(items.as_slice()).ok())
        .ok_or_else(|| {
            IntrinsicError::new(
                at,
                format!(
                    "{function} takes {form}, found {}",
                    match arg {
                        Value::Array(items) => format!("a list of {} items", items.len()),
                        other => kind(other).to_owned(),
                    }
                ),
            )
        })
}

fn intrinsic(
    name: &str,
    arg: &Value,
    ctx: &dyn Context,
    at: &Path,
) -> Result<Option<Value>, IntrinsicError> {
    match name {
        "Ref" => match arg {
            Value::String(name) => reference(name, ctx, at),
            other => Err(IntrinsicError::new(
                at,
                format!(
                    "Ref takes the name of a parameter or resource, found {}: write `Ref: Name`",
                    kind(other)
                ),
            )),
        },
        "Condition" => {
            let name = arg.as_str().unwrap_or_default();
            Ok(Some(Value::Bool(condition(name, ctx, at)?)))
        }
        "Fn::GetAtt" => get_att(arg, ctx, at).map(Some),
        "Fn::Sub" => substitute(arg, ctx, at).map(|s| Some(Value::String(s))),
        "Fn::If" => {
            let [test, then, otherwise] = args::<3>(
                arg,
                at,
                "Fn::If",
                "[ConditionName, ValueIfTrue, ValueIfFalse]",
            )?;
            let chosen = if if_condition(test, ctx, &at.index(0))? {
                (then, at.index(1))
            } else {
                (otherwise, at.index(2))
            };
            eval(chosen.0, ctx, &chosen.1)
        }
        "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
            let expression = Value::Object(Map::from_iter([(name.to_owned(), arg.clone())]));
            let mut lookup = |name: &str, at: &Path| condition(name, ctx, at);
            conditions::evaluate(&expression, ctx, at, &mut lookup).map(|b| Some(Value::Bool(b)))
        }
        _ => functions::call(name, arg, ctx, at).map(Some),
    }
}

/// A condition's value from the context, or an error naming it.
fn condition(name: &str, ctx: &dyn Context, at: &Path) -> Result<bool, IntrinsicError> {
    ctx.condition(name).ok_or_else(|| {
        IntrinsicError::new(
            at,
            format!("condition {name} is not declared: add it under Conditions or fix the name"),
        )
    })
}

/// `Fn::If`'s first argument: a condition name, or (leniently) an inline condition expression.
fn if_condition(test: &Value, ctx: &dyn Context, at: &Path) -> Result<bool, IntrinsicError> {
    match test {
        Value::String(name) => condition(name, ctx, at),
        expression => {
            let mut lookup = |name: &str, at: &Path| condition(name, ctx, at);
            conditions::evaluate(expression, ctx, at, &mut lookup)
        }
    }
}

/// `Ref name`: `AWS::NoValue` (`None`), a pseudo parameter, a parameter or a resource.
pub(crate) fn reference(
    name: &str,
    ctx: &dyn Context,
    at: &Path,
) -> Result<Option<Value>, IntrinsicError> {
    if name == NO_VALUE {
        return Ok(None);
    }
    if name.starts_with("AWS::") {
        return ctx.pseudo(name).map(Some).ok_or_else(|| {
            IntrinsicError::new(
                at,
                format!(
                    "Ref {name}: no such pseudo parameter (known: AWS::AccountId, AWS::NotificationARNs, AWS::NoValue, AWS::Partition, AWS::Region, AWS::StackId, AWS::StackName, AWS::URLSuffix)"
                ),
            )
        });
    }
    if let Some(value) = ctx.parameter(name) {
        return Ok(Some(value));
    }
    ctx.resource_ref(name).map(Some).ok_or_else(|| {
        IntrinsicError::new(
            at,
            format!(
                "Ref {name}: no parameter or resource named {name} has a value (declare the parameter under Parameters, or create the resource {name} before the one that refers to it)"
            ),
        )
    })
}

/// `Fn::GetAtt`: `[LogicalId, Attribute]` (the attribute may be a `Ref`) or `"LogicalId.Attribute"`.
fn get_att(arg: &Value, ctx: &dyn Context, at: &Path) -> Result<Value, IntrinsicError> {
    let (resource, attribute) = match arg {
        Value::String(s) => match s.split_once('.') {
            Some((r, a)) => (r.to_owned(), a.to_owned()),
            None => {
                return Err(IntrinsicError::new(
                    at,
                    format!("Fn::GetAtt {s:?} names no attribute: write \"LogicalId.Attribute\""),
                ));
            }
        },
        _ => {
            let [resource, attribute] = args::<2>(arg, at, "Fn::GetAtt", "[LogicalId, Attribute]")?;
            let resource = resource.as_str().ok_or_else(|| {
                IntrinsicError::new(
                    &at.index(0),
                    "Fn::GetAtt's logical id must be a literal name",
                )
            })?;
            let attribute = eval_some(attribute, ctx, &at.index(1), "Fn::GetAtt's attribute")?;
            let attribute = scalar_string(&attribute).ok_or_else(|| {
                IntrinsicError::new(
                    &at.index(1),
                    format!(
                        "Fn::GetAtt's attribute must be a string, found {}",
                        kind(&attribute)
                    ),
                )
            })?;
            (resource.to_owned(), attribute)
        }
    };
    attribute_value(&resource, &attribute, ctx, at)
}

fn attribute_value(
    resource: &str,
    attribute: &str,
    ctx: &dyn Context,
    at: &Path,
) -> Result<Value, IntrinsicError> {
    ctx.resource_attribute(resource, attribute).ok_or_else(|| {
        IntrinsicError::new(
            at,
            format!(
                "Fn::GetAtt {resource}.{attribute}: no value (the resource {resource} is not created yet, or has no attribute {attribute}): fix the name, or create {resource} first"
            ),
        )
    })
}

/// `Fn::Sub`: `"text"` or `["text", {Var: value}]`.
fn substitute(arg: &Value, ctx: &dyn Context, at: &Path) -> Result<String, IntrinsicError> {
    let (text, variables) = match arg {
        Value::String(text) => (text.as_str(), Map::new()),
        Value::Array(items) if items.len() == 2 => {
            let text = items[0].as_str().ok_or_else(|| {
                IntrinsicError::new(
                    &at.index(0),
                    format!(
                        "Fn::Sub's first item must be a string, found {}",
                        kind(&items[0])
                    ),
                )
            })?;
            let map = items[1].as_object().ok_or_else(|| {
                IntrinsicError::new(
                    &at.index(1),
                    format!(
                        "Fn::Sub's second item must be a mapping of variables, found {}",
                        kind(&items[1])
                    ),
                )
            })?;
            let mut variables = Map::new();
            for (name, value) in map {
                let here = at.index(1).key(name);
                let value = eval_some(value, ctx, &here, &format!("Fn::Sub variable {name}"))?;
                variables.insert(name.clone(), value);
            }
            (text, variables)
        }
        other => {
            return Err(IntrinsicError::new(
                at,
                format!(
                    "Fn::Sub takes a string or [String, {{Var: Value}}], found {}",
                    match other {
                        Value::Array(items) => format!("a list of {} items", items.len()),
                        other => kind(other).to_owned(),
                    }
                ),
            ));
        }
    };
    let parts = sub::parse(text).map_err(|e| IntrinsicError::new(at, format!("Fn::Sub: {e}")))?;
    let mut out = String::with_capacity(text.len());
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(&t),
            Part::Var(name) => {
                let value = match variables.get(name) {
                    Some(value) => value.clone(),
                    None => match name.split_once('.') {
                        Some((resource, attribute)) if !name.starts_with("AWS::") => {
                            attribute_value(resource, attribute, ctx, at)?
                        }
                        _ => reference(name, ctx, at)?.ok_or_else(|| {
                            IntrinsicError::new(
                                at,
                                "Fn::Sub: ${AWS::NoValue} has no text: remove it",
                            )
                        })?,
                    },
                };
                let text = scalar_string(&value).ok_or_else(|| {
                    IntrinsicError::new(
                        at,
                        format!(
                            "Fn::Sub: ${{{name}}} is {}, and Fn::Sub takes strings only: use Fn::Join (or Fn::Select) for a list",
                            kind(&value)
                        ),
                    )
                })?;
                out.push_str(&text);
            }
        }
    }
    Ok(out)
}
