//! The template's `Conditions`: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition`
//! (a condition may use another; a cycle is an error).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::intrinsics::{Context, IntrinsicError, eval_some, scalar_string};
use crate::load::kind;
use crate::path::Path;

/// Every condition under the template's `Conditions`, evaluated with `ctx`'s parameters and
/// pseudo parameters (conditions referring to conditions are evaluated in turn; a cycle is an
/// error listing it).
pub fn evaluate_conditions(
    template: &Value,
    ctx: &dyn Context,
) -> Result<BTreeMap<String, bool>, IntrinsicError> {
    let root = Path::root().key("Conditions");
    let declared = match template.get("Conditions") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(IntrinsicError::new(
                &root,
                format!(
                    "Conditions must be a mapping of names to conditions, found {}",
                    kind(other)
                ),
            ));
        }
    };
    let mut evaluator = Evaluator {
        declared,
        ctx,
        done: BTreeMap::new(),
        visiting: Vec::new(),
    };
    for name in declared.keys() {
        evaluator.condition(name, &root.key(name))?;
    }
    Ok(evaluator.done)
}

struct Evaluator<'a> {
    declared: &'a serde_json::Map<String, Value>,
    ctx: &'a dyn Context,
    done: BTreeMap<String, bool>,
    visiting: Vec<String>,
}

impl<'a> Evaluator<'a> {
    fn condition(&mut self, name: &str, at: &Path) -> Result<bool, IntrinsicError> {
        if let Some(value) = self.done.get(name) {
            return Ok(*value);
        }
        if let Some(start) = self.visiting.iter().position(|n| n == name) {
            let mut cycle = self.visiting[start..].to_vec();
            cycle.push(name.to_owned());
            return Err(IntrinsicError::new(
                at,
                format!(
                    "circular condition reference {}: break the cycle",
                    cycle.join(" -> ")
                ),
            ));
        }
        let declared: &'a serde_json::Map<String, Value> = self.declared;
        let Some(expression) = declared.get(name) else {
            return Err(IntrinsicError::new(
                at,
                format!(
                    "Condition {name} is not declared under Conditions (declared: {}): fix the name or declare it",
                    declared
                        .keys()
                        .cloned()
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        self.visiting.push(name.to_owned());
        let here = Path::root().key("Conditions").key(name);
        let ctx = self.ctx;
        let result = evaluate(expression, ctx, &here, &mut |n: &str, at: &Path| {
            self.condition(n, at)
        });
        self.visiting.pop();
        let value = result?;
        self.done.insert(name.to_owned(), value);
        Ok(value)
    }
}

/// Evaluates one condition expression; `lookup` gives a named condition's value.
pub(crate) fn evaluate(
    expression: &Value,
    ctx: &dyn Context,
    at: &Path,
    lookup: &mut dyn FnMut(&str, &Path) -> Result<bool, IntrinsicError>,
) -> Result<bool, IntrinsicError> {
    let form = "a condition is Fn::Equals, Fn::Not, Fn::And, Fn::Or or {Condition: Name}";
    let Some((function, arg)) = expression
        .as_object()
        .filter(|map| map.len() == 1)
        .and_then(|map| map.iter().next())
    else {
        return match expression {
            Value::Bool(b) => Ok(*b),
            other => Err(IntrinsicError::new(
                at,
                format!("{form}, found {}", kind(other)),
            )),
        };
    };
    let here = at.key(function);
    let operands = |min: usize, max: usize| -> Result<&Vec<Value>, IntrinsicError> {
        arg.as_array()
            .filter(|items| (min..=max).contains(&items.len()))
            .ok_or_else(|| {
                IntrinsicError::new(
                    &here,
                    format!("{function} takes a list of {min} to {max} conditions"),
                )
            })
    };
    match function.as_str() {
        "Condition" => match arg {
            Value::String(name) => lookup(name, &here),
            other => Err(IntrinsicError::new(
                &here,
                format!("Condition takes a condition's name, found {}", kind(other)),
            )),
        },
        "Fn::Equals" => {
            let items = arg
                .as_array()
                .filter(|items| items.len() == 2)
                .ok_or_else(|| IntrinsicError::new(&here, "Fn::Equals takes [Value1, Value2]"))?;
            let a = eval_some(&items[0], ctx, &here.index(0), "Fn::Equals' first value")?;
            let b = eval_some(&items[1], ctx, &here.index(1), "Fn::Equals' second value")?;
            Ok(comparable(&a) == comparable(&b))
        }
        "Fn::Not" => {
            let items = operands(1, 1)?;
            Ok(!evaluate(&items[0], ctx, &here.index(0), lookup)?)
        }
        "Fn::And" | "Fn::Or" => {
            let items = operands(2, 10)?;
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                values.push(evaluate(item, ctx, &here.index(i), lookup)?);
            }
            Ok(if function == "Fn::And" {
                values.iter().all(|v| *v)
            } else {
                values.iter().any(|v| *v)
            })
        }
        other => Err(IntrinsicError::new(at, format!("{form}, found {other}"))),
    }
}

/// A value as `Fn::Equals` compares it: scalars as strings (`5` equals `"5"`).
fn comparable(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), comparable(v)))
                .collect(),
        ),
        scalar => scalar_string(scalar).map_or(Value::Null, Value::String),
    }
}
