//! Parameter values: `--parameter-overrides` as `sam deploy` takes them, defaults, and the
//! constraints (`AllowedValues`, `AllowedPattern`, `MinLength`/`MaxLength`, `MinValue`/`MaxValue`).

use std::collections::BTreeMap;

use fancy_regex::Regex;
use serde_json::{Map, Value};

use crate::intrinsics::scalar_string;
use crate::load::kind;

/// A parameter override or value that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    /// An override that is neither `Key=Value` nor `ParameterKey=Key,ParameterValue=Value`.
    #[error(
        "parameter override {given:?}: {reason}: write Key=Value or ParameterKey=Key,ParameterValue=Value"
    )]
    Malformed {
        /// The override as given.
        given: String,
        /// What is wrong.
        reason: String,
    },
    /// The same parameter overridden twice with different values.
    #[error("parameter {name} is overridden twice ({first:?} and {second:?}): give it once")]
    Duplicate {
        /// The parameter.
        name: String,
        /// The first value.
        first: String,
        /// The second value.
        second: String,
    },
    /// Overrides naming parameters the template does not declare (CloudFormation's words).
    #[error(
        "Parameters: [{}] do not exist in the template (it declares: {}): fix the name in --parameter-overrides",
        names.join(", "),
        if declared.is_empty() { "none".to_owned() } else { declared.join(", ") }
    )]
    Undeclared {
        /// The unknown names.
        names: Vec<String>,
        /// The names the template declares.
        declared: Vec<String>,
    },
    /// A parameter with neither an override nor a `Default`.
    #[error("parameter {name} has no Default: pass --parameter-overrides {name}=...")]
    Missing {
        /// The parameter.
        name: String,
    },
    /// A value that breaks one of the parameter's constraints.
    #[error("parameter {name}: value {value:?} {problem}{}: pass --parameter-overrides {name}=<a valid value>", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Invalid {
        /// The parameter.
        name: String,
        /// The value refused.
        value: String,
        /// Which constraint it breaks (`is not one of AllowedValues [a, b]`).
        problem: String,
        /// The parameter's `ConstraintDescription`, when it has one.
        description: Option<String>,
    },
    /// A parameter declaration CloudFormation would refuse (bad `Type`, bad pattern, ...).
    #[error("Parameters.{name}: {message}")]
    Declaration {
        /// The parameter.
        name: String,
        /// What is wrong and the fix.
        message: String,
    },
}

/// Overrides as `sam deploy --parameter-overrides` takes them, one per argument: `Key=Value` or
/// `ParameterKey=Key,ParameterValue=Value`. A value may contain `=`, `,` and spaces.
pub fn parse_overrides(args: &[String]) -> Result<BTreeMap<String, String>, ParameterError> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for arg in args {
        let malformed = |reason: &str| ParameterError::Malformed {
            given: arg.clone(),
            reason: reason.to_owned(),
        };
        let (key, value) = if let Some(rest) = arg.strip_prefix("ParameterKey=") {
            let (key, value) = rest
                .split_once(",ParameterValue=")
                .ok_or_else(|| malformed("ParameterKey without ,ParameterValue="))?;
            (key, value)
        } else {
            arg.split_once('=').ok_or_else(|| malformed("no `=`"))?
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(malformed(
                "the parameter name must be alphanumeric (as the template declares it)",
            ));
        }
        if let Some(first) = out.get(key).filter(|first| *first != value) {
            return Err(ParameterError::Duplicate {
                name: key.to_owned(),
                first: first.clone(),
                second: value.to_owned(),
            });
        }
        out.insert(key.to_owned(), value.to_owned());
    }
    Ok(out)
}

/// The words of one `parameter_overrides` string as `samconfig.toml` holds them
/// (`"A=1 B='two words'"` → `["A=1", "B=two words"]`), shell-quoted as SAM CLI reads them.
pub fn split_overrides(text: &str) -> Result<Vec<String>, ParameterError> {
    shlex::split(text).ok_or_else(|| ParameterError::Malformed {
        given: text.to_owned(),
        reason: "unbalanced quotes".to_owned(),
    })
}

/// Each declared parameter's value: the override, else its `Default` (as a string: `Ref` of a
/// `Number` parameter is a string), else an error. `CommaDelimitedList` and `List<...>` values
/// become JSON lists of strings (items space-trimmed). The constraints are checked, and an
/// override naming an undeclared parameter is an error listing the declared ones.
pub fn resolve_parameters(
    template: &Value,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, ParameterError> {
    let empty = Map::new();
    let declared = match template.get("Parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ParameterError::Declaration {
                name: "(section)".to_owned(),
                message: format!(
                    "Parameters must be a mapping of names to declarations, found {}",
                    kind(other)
                ),
            });
        }
    };
    let undeclared: Vec<String> = overrides
        .keys()
        .filter(|k| !declared.contains_key(*k))
        .cloned()
        .collect();
    if !undeclared.is_empty() {
        return Err(ParameterError::Undeclared {
            names: undeclared,
            declared: {
                let mut names: Vec<String> = declared.keys().cloned().collect();
                names.sort();
                names
            },
        });
    }
    let mut out = BTreeMap::new();
    for (name, declaration) in declared {
        let value = match overrides.get(name) {
            Some(value) => value.clone(),
            None => default(name, declaration)?,
        };
        out.insert(name.clone(), checked(name, declaration, value)?);
    }
    Ok(out)
}

/// One declared parameter as `DescribeStacks` and `GetTemplateSummary` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterDeclaration {
    /// The parameter's name.
    pub name: String,
    /// `Type` (`String`, `Number`, `CommaDelimitedList`, ...).
    pub parameter_type: String,
    /// `Default`, as a string (a list default joined with commas).
    pub default: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `NoEcho`: the value is shown as `****`.
    pub no_echo: bool,
}

/// The template's parameter declarations, by name.
pub fn declared_parameters(template: &Value) -> Result<Vec<ParameterDeclaration>, ParameterError> {
    let Some(declared) = template.get("Parameters").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(declared.len());
    for (name, declaration) in declared {
        parameter_type(name, declaration)?;
        out.push(ParameterDeclaration {
            name: name.clone(),
            parameter_type: declaration["Type"].as_str().unwrap_or_default().to_owned(),
            default: match default(name, declaration) {
                Ok(value) => Some(value),
                Err(ParameterError::Missing { .. }) => None,
                Err(other) => return Err(other),
            },
            description: declaration
                .get("Description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            no_echo: declaration
                .get("NoEcho")
                .and_then(scalar_string)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn declaration_error(name: &str, message: impl Into<String>) -> ParameterError {
    ParameterError::Declaration {
        name: name.to_owned(),
        message: message.into(),
    }
}

fn default(name: &str, declaration: &Value) -> Result<String, ParameterError> {
    match declaration.get("Default") {
        None | Some(Value::Null) => Err(ParameterError::Missing {
            name: name.to_owned(),
        }),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                scalar_string(item).ok_or_else(|| {
                    declaration_error(
                        name,
                        "Default lists strings: write them as a string \"a,b\"",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        Some(value) => scalar_string(value).ok_or_else(|| {
            declaration_error(
                name,
                format!("Default must be a string or number, found {}", kind(value)),
            )
        }),
    }
}

/// The parameter's type: whether it is a list, and whether its items are numbers.
fn parameter_type(name: &str, declaration: &Value) -> Result<(bool, bool), ParameterError> {
    let ty = declaration
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            declaration_error(
                name,
                "Type is missing or not a string: give one, e.g. `Type: String`",
            )
        })?;
    if ty.starts_with("AWS::SSM::Parameter::") {
        return Err(declaration_error(
            name,
            format!(
                "Type {ty} reads Systems Manager, which the lab has no copy of: declare the parameter `Type: String` and pass its value"
            ),
        ));
    }
    Ok(match ty {
        "String" => (false, false),
        "Number" => (false, true),
        "CommaDelimitedList" => (true, false),
        "List<Number>" => (true, true),
        t if t.starts_with("List<AWS::") && t.ends_with('>') => (true, false),
        t if t.starts_with("AWS::") => (false, false),
        other => {
            return Err(declaration_error(
                name,
                format!(
                    "unknown Type {other}: use String, Number, CommaDelimitedList, List<Number> or an AWS-specific type"
                ),
            ));
        }
    })
}

fn checked(name: &str, declaration: &Value, value: String) -> Result<Value, ParameterError> {
    let (list, number) = parameter_type(name, declaration)?;
    let description = declaration
        .get("ConstraintDescription")
        .and_then(scalar_string);
    let invalid = |value: &str, problem: String| ParameterError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
        problem,
        description: description.clone(),
    };
    let items: Vec<String> = if list {
        if value.is_empty() {
            Vec::new()
        } else {
            value.split(',').map(|s| s.trim().to_owned()).collect()
        }
    } else {
        vec![value.clone()]
    };
    for item in &items {
        check_item(name, declaration, item, number, &invalid)?;
    }
    if list {
        Ok(Value::from(items))
    } else {
        Ok(Value::String(value))
    }
}

fn check_item(
    name: &str,
    declaration: &Value,
    item: &str,
    number: bool,
    invalid: &dyn Fn(&str, String) -> ParameterError,
) -> Result<(), ParameterError> {
    let bound = |key: &str| -> Result<Option<f64>, ParameterError> {
        match declaration.get(key) {
            None => Ok(None),
            Some(v) => scalar_string(v)
                .and_then(|s| s.parse::<f64>().ok())
                .map(Some)
                .ok_or_else(|| {
                    declaration_error(name, format!("{key} must be a number, found {v}"))
                }),
        }
    };
    if let Some(allowed) = declaration.get("AllowedValues") {
        let allowed: Vec<String> = allowed
            .as_array()
            .ok_or_else(|| declaration_error(name, "AllowedValues must be a list"))?
            .iter()
            .filter_map(scalar_string)
            .collect();
        if !allowed.iter().any(|a| a == item) {
            return Err(invalid(
                item,
                format!("is not one of AllowedValues [{}]", allowed.join(", ")),
            ));
        }
    }
    if number {
        let n: f64 = item
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| invalid(item, "is not a number (Type Number)".to_owned()))?;
        if let Some(min) = bound("MinValue")?.filter(|min| n < *min) {
            return Err(invalid(item, format!("is below MinValue {min}")));
        }
        if let Some(max) = bound("MaxValue")?.filter(|max| n > *max) {
            return Err(invalid(item, format!("is above MaxValue {max}")));
        }
        return Ok(());
    }
    let length = item.chars().count() as f64;
    if let Some(min) = bound("MinLength")?.filter(|min| length < *min) {
        return Err(invalid(item, format!("is shorter than MinLength {min}")));
    }
    if let Some(max) = bound("MaxLength")?.filter(|max| length > *max) {
        return Err(invalid(item, format!("is longer than MaxLength {max}")));
    }
    if let Some(pattern) = declaration.get("AllowedPattern") {
        let pattern = pattern
            .as_str()
            .ok_or_else(|| declaration_error(name, "AllowedPattern must be a string"))?;
        // CloudFormation matches the whole value (Java's `matches`).
        let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| {
            declaration_error(
                name,
                format!("AllowedPattern {pattern:?} is not a valid regular expression: {e}"),
            )
        })?;
        let matched = regex.is_match(item).map_err(|e| {
            declaration_error(
                name,
                format!("AllowedPattern {pattern:?} could not be matched: {e}"),
            )
        })?;
        if !matched {
            return Err(invalid(
                item,
                format!("does not match AllowedPattern {pattern}"),
            ));
        }
    }
    Ok(())
}
