//! The Lambda AppSpec: what `revision.appSpecContent.content` of a Lambda CreateDeployment says
//! (CodeDeploy user guide, "AppSpec 'resources' section (Lambda deployments)" and "AppSpec
//! 'hooks' section"), in YAML or JSON:
//!
//! ```yaml
//! version: 0.0
//! Resources:
//!   - myLambdaFunction:
//!       Type: AWS::Lambda::Function
//!       Properties:
//!         Name: "myLambdaFunction"
//!         Alias: "live"
//!         CurrentVersion: "1"
//!         TargetVersion: "2"
//! Hooks:
//!   - BeforeAllowTraffic: "CodeDeployHook_pre"
//!   - AfterAllowTraffic: "CodeDeployHook_post"
//! ```
//!
//! [`AppSpec::parse`] is pure and names the field of every refusal. CodeDeploy itself accepts
//! the CreateDeployment and fails the deployment with [`INVALID_APPSPEC`] ("... missing or has
//! an invalid configuration", terraform-aws-modules/terraform-aws-lambda#82; for a text that is
//! not YAML it adds "The input AppSpec file is a not well-formed yaml. The template cannot be
//! parsed.", aws/aws-cli#6267). [`AppSpecError::error_information_message`] is that message
//! with our detail; [`AppSpecError::to_codedeploy_error`] is the `InvalidRevisionException`
//! ("The revision was specified in an invalid format.") for a lab that refuses at once.

use serde_json::{Map, Value};

use super::error::{CodeDeployError, CodeDeployErrorType};

/// The start of CodeDeploy's message for a deployment whose Lambda AppSpec it cannot use.
pub const INVALID_APPSPEC: &str = "The deployment failed because the AppSpec file that specifies the AWS Lambda deployment configuration is missing or has an invalid configuration.";

/// The only AppSpec version of Lambda deployments.
pub const APPSPEC_VERSION: &str = "0.0";
/// The resource type of a Lambda deployment.
pub const LAMBDA_FUNCTION_TYPE: &str = "AWS::Lambda::Function";
/// The lifecycle events a Lambda AppSpec can hook.
pub const HOOK_EVENTS: [&str; 2] = ["BeforeAllowTraffic", "AfterAllowTraffic"];

/// The one `AWS::Lambda::Function` resource of a Lambda AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaFunctionResource {
    /// The resource's logical name (the key under `Resources`).
    pub logical_name: String,
    /// `Properties.Name`: the function.
    pub name: String,
    /// `Properties.Alias`: the alias to shift.
    pub alias: String,
    /// `Properties.CurrentVersion`: the version the alias serves now.
    pub current_version: String,
    /// `Properties.TargetVersion`: the version to shift to.
    pub target_version: String,
}

/// A Lambda AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// The function and alias to deploy.
    pub function: LambdaFunctionResource,
    /// `Hooks[].BeforeAllowTraffic`: the function that validates before any traffic shifts.
    pub before_allow_traffic: Option<String>,
    /// `Hooks[].AfterAllowTraffic`: the function that validates after all traffic shifted.
    pub after_allow_traffic: Option<String>,
}

/// A Lambda AppSpec CodeDeploy cannot use; every message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppSpecError {
    /// The text is neither YAML nor JSON.
    #[error(
        "the AppSpec is not well-formed YAML or JSON ({detail}): check its indentation and quoting"
    )]
    NotYamlOrJson {
        /// The parser's complaint, with its position.
        detail: String,
    },
    /// The document is not a mapping of sections.
    #[error(
        "the AppSpec is not a mapping with version, Resources and Hooks: write it as in the Lambda AppSpec example"
    )]
    NotAMapping,
    /// `version` is missing or not 0.0.
    #[error("AppSpec version is {found}: a Lambda AppSpec has version: 0.0")]
    Version {
        /// What was there.
        found: String,
    },
    /// `Resources` is missing or empty.
    #[error(
        "AppSpec Resources names no resource: add one AWS::Lambda::Function with Name, Alias, CurrentVersion and TargetVersion"
    )]
    NoResource,
    /// More than one resource.
    #[error(
        "AppSpec Resources names {count} resources: a Lambda deployment deploys exactly one function alias"
    )]
    TooManyResources {
        /// How many.
        count: usize,
    },
    /// A malformed part: `field` is the path to it.
    #[error("AppSpec {field} {problem}")]
    Malformed {
        /// The path, e.g. `Resources[0]` or `Hooks[1]`.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A resource of another type.
    #[error(
        "AppSpec Resources[0].{logical_name}.Type is {found:?}: a Lambda deployment's resource is {LAMBDA_FUNCTION_TYPE}"
    )]
    ResourceType {
        /// The resource's logical name.
        logical_name: String,
        /// The type given.
        found: String,
    },
    /// A required property is missing or empty.
    #[error(
        "AppSpec Resources[0].{logical_name}.Properties.{property} is missing or empty: {hint}"
    )]
    MissingProperty {
        /// The resource's logical name.
        logical_name: String,
        /// `Name`, `Alias`, `CurrentVersion` or `TargetVersion`.
        property: &'static str,
        /// What to put there.
        hint: &'static str,
    },
    /// CurrentVersion equals TargetVersion.
    #[error(
        "AppSpec CurrentVersion and TargetVersion are both {version:?}: TargetVersion must be the new version, different from the one the alias serves"
    )]
    SameVersion {
        /// The version given twice.
        version: String,
    },
    /// A hook for an event a Lambda deployment does not have.
    #[error(
        "AppSpec Hooks[{index}] hooks {event:?}: a Lambda AppSpec hooks only BeforeAllowTraffic and AfterAllowTraffic"
    )]
    UnknownHookEvent {
        /// The entry's index.
        index: usize,
        /// The event given.
        event: String,
    },
    /// The same event hooked twice.
    #[error("AppSpec Hooks hooks {event} twice: give each event at most one function")]
    DuplicateHook {
        /// The event.
        event: String,
    },
}

impl AppSpecError {
    /// CodeDeploy's `errorInformation.message` for a deployment failed by this AppSpec.
    pub fn error_information_message(&self) -> String {
        format!("{INVALID_APPSPEC} {self}")
    }

    /// The `InvalidRevisionException` a lab that refuses the AppSpec at CreateDeployment answers.
    pub fn to_codedeploy_error(&self) -> CodeDeployError {
        CodeDeployError::new(CodeDeployErrorType::InvalidRevision, self.to_string())
    }
}

impl From<AppSpecError> for CodeDeployError {
    fn from(e: AppSpecError) -> Self {
        e.to_codedeploy_error()
    }
}

impl AppSpec {
    /// Parses a Lambda AppSpec, YAML or JSON (JSON is YAML, so one parser reads both).
    pub fn parse(text: &str) -> Result<Self, AppSpecError> {
        let doc: Value = serde_norway::from_str(text).map_err(|e| AppSpecError::NotYamlOrJson {
            detail: e.to_string(),
        })?;
        let Value::Object(doc) = doc else {
            return Err(AppSpecError::NotAMapping);
        };
        check_version(doc.get("version"))?;
        let function = parse_resources(doc.get("Resources"))?;
        let (before_allow_traffic, after_allow_traffic) = parse_hooks(doc.get("Hooks"))?;
        Ok(Self {
            function,
            before_allow_traffic,
            after_allow_traffic,
        })
    }
}

fn check_version(version: Option<&Value>) -> Result<(), AppSpecError> {
    let ok = match version {
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => s.trim() == APPSPEC_VERSION,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(AppSpecError::Version {
        found: version.map_or_else(|| "missing".to_owned(), Value::to_string),
    })
}

fn malformed(field: impl Into<String>, problem: impl Into<String>) -> AppSpecError {
    AppSpecError::Malformed {
        field: field.into(),
        problem: problem.into(),
    }
}

/// The one key and value of a list entry like `- myLambdaFunction: {...}`.
fn single_entry<'a>(
    field: &str,
    entry: &'a Value,
) -> Result<(&'a String, &'a Value), AppSpecError> {
    match entry {
        Value::Object(map) if map.len() == 1 => Ok(map.iter().next().expect("one entry")),
        _ => Err(malformed(
            field,
            "must be a mapping with exactly one key (e.g. `- myLambdaFunction:` or `- BeforeAllowTraffic: fn`)",
        )),
    }
}

fn parse_resources(resources: Option<&Value>) -> Result<LambdaFunctionResource, AppSpecError> {
    let list = match resources {
        None | Some(Value::Null) => return Err(AppSpecError::NoResource),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(malformed(
                "Resources",
                "must be a list of resources (`- myLambdaFunction:`)",
            ));
        }
    };
    let entry = match list.as_slice() {
        [] => return Err(AppSpecError::NoResource),
        [one] => one,
        many => {
            return Err(AppSpecError::TooManyResources { count: many.len() });
        }
    };
    let (logical_name, body) = single_entry("Resources[0]", entry)?;
    let field = format!("Resources[0].{logical_name}");
    let Value::Object(body) = body else {
        return Err(malformed(
            field,
            "must be a mapping with Type and Properties",
        ));
    };
    let found = body.get("Type").and_then(Value::as_str).unwrap_or_default();
    if found != LAMBDA_FUNCTION_TYPE {
        return Err(AppSpecError::ResourceType {
            logical_name: logical_name.clone(),
            found: found.to_owned(),
        });
    }
    let empty = Map::new();
    let props = match body.get("Properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            return Err(malformed(
                format!("{field}.Properties"),
                "must be a mapping with Name, Alias, CurrentVersion and TargetVersion",
            ));
        }
    };
    let get = |property: &'static str, hint: &'static str| {
        let text = match props.get(property) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        if text.is_empty() {
            Err(AppSpecError::MissingProperty {
                logical_name: logical_name.clone(),
                property,
                hint,
            })
        } else {
            Ok(text)
        }
    };
    let resource = LambdaFunctionResource {
        logical_name: logical_name.clone(),
        name: get("Name", "the function's name")?,
        alias: get("Alias", "the alias whose traffic shifts, e.g. live")?,
        current_version: get("CurrentVersion", "the version the alias serves now")?,
        target_version: get("TargetVersion", "the published version to shift to")?,
    };
    if resource.current_version == resource.target_version {
        return Err(AppSpecError::SameVersion {
            version: resource.target_version,
        });
    }
    Ok(resource)
}

type Hooks = (Option<String>, Option<String>);

fn parse_hooks(hooks: Option<&Value>) -> Result<Hooks, AppSpecError> {
    let list = match hooks {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(malformed(
                "Hooks",
                "must be a list like `- BeforeAllowTraffic: <function>`",
            ));
        }
    };
    let (mut before, mut after) = (None, None);
    for (index, entry) in list.iter().enumerate() {
        let field = format!("Hooks[{index}]");
        let (event, function) = single_entry(&field, entry)?;
        let slot = match event.as_str() {
            "BeforeAllowTraffic" => &mut before,
            "AfterAllowTraffic" => &mut after,
            _ => {
                return Err(AppSpecError::UnknownHookEvent {
                    index,
                    event: event.clone(),
                });
            }
        };
        let function = function.as_str().map(str::trim).unwrap_or_default();
        if function.is_empty() {
            return Err(malformed(
                format!("{field}.{event}"),
                "must name the hook function (a string)",
            ));
        }
        if slot.replace(function.to_owned()).is_some() {
            return Err(AppSpecError::DuplicateHook {
                event: event.clone(),
            });
        }
    }
    Ok((before, after))
}

#[cfg(test)]
#[path = "appspec_tests.rs"]
mod tests;
