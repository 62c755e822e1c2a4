//! The CloudFormation resource types the lab emulates, each created, updated and deleted on
//! the lab's own control plane (the registry, the code store, CodeDeploy, CloudWatch), with
//! the `Ref` and `Fn::GetAtt` values AWS gives. Types the lab does not run (IAM roles,
//! permissions, API stages, ...) are recorded with plausible ids and listed as not emulated.

use std::collections::BTreeMap;
use std::sync::Arc;

use protocol::codedeploy::{CreateApplicationInput, CreateDeploymentGroupInput};
use protocol::lambda_api::LambdaError;
use protocol::lambda_api::names::{ArnScope, LayerName, LayerVersionArn};
use serde_json::{Value, json};

use super::function::{code_of, function_config};
use super::live::{LiveResource, LiveStack, physical_name, short_id};
pub use super::recorded::attributes;
use super::recorded::recorded_only;
use crate::api::gateway::LiveRoutes;
use crate::api::lambda::{FunctionControl, function_arn};
use crate::control::Registry;
use crate::control::alarms::LabCloudWatch;
use crate::control::alias::Routing;
use crate::control::deployments::Deployments;
use crate::control::layers::LayerDetails;
use crate::pool::{ACCOUNT_CONCURRENCY, ConcurrencyLimit};

/// The parts of a running lab a stack's resources live in.
#[derive(Debug, Clone)]
pub struct LabParts {
    /// Functions, versions, aliases, layers.
    pub registry: Arc<Registry>,
    /// The code store and the provisioner of new versions.
    pub control: FunctionControl,
    /// CodeDeploy.
    pub deployments: Arc<Deployments>,
    /// CloudWatch (alarms).
    pub cloudwatch: Arc<LabCloudWatch>,
    /// The API front door's routes.
    pub live_routes: Arc<LiveRoutes>,
    /// Partition, Region and account.
    pub scope: ArnScope,
    /// The function URLs' own listeners, by the URL's physical id.
    pub url_listeners: Arc<std::sync::Mutex<BTreeMap<String, crate::api::gateway::Listener>>>,
}

/// Why a resource could not be created, updated or deleted (the stack event's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResourceError(pub String);

impl From<LambdaError> for ResourceError {
    fn from(e: LambdaError) -> Self {
        Self(format!("{} ({})", e.message, e.kind))
    }
}

/// The types the lab runs; any other type is recorded only.
pub const EMULATED: &[&str] = &[
    "AWS::Lambda::Function",
    "AWS::Lambda::Url",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::LayerVersion",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGateway::RestApi",
];

/// `properties.<key>` as text (numbers and booleans as written).
pub fn text(properties: &Value, key: &str) -> Option<String> {
    match properties.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn number(properties: &Value, key: &str) -> Result<Option<u64>, ResourceError> {
    text(properties, key)
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| ResourceError(format!("{key} is {t:?}: give a whole number")))
        })
        .transpose()
}

fn required(properties: &Value, key: &str) -> Result<String, ResourceError> {
    text(properties, key).ok_or_else(|| ResourceError(format!("the property {key} is missing")))
}

/// Creates a resource; its `LiveResource` on success.
pub async fn create(
    parts: &LabParts,
    stack: &LiveStack,
    logical_id: &str,
    resource_type: &str,
    properties: Value,
) -> Result<LiveResource, ResourceError> {
    let stack_name = stack.pseudo.stack_name.clone();
    let mut live = LiveResource {
        resource_type: resource_type.to_owned(),
        physical_id: String::new(),
        ref_value: Value::Null,
        attributes: BTreeMap::new(),
        properties: properties.clone(),
        deletion_policy: None,
        update_replace_policy: None,
        emulated: EMULATED.contains(&resource_type),
    };
    let scope = &parts.scope;
    let home = (scope.region.as_str(), scope.account.as_str());
    match resource_type {
        "AWS::Lambda::LayerVersion" => {
            let name = text(&properties, "LayerName")
                .unwrap_or_else(|| physical_name(&stack_name, logical_id, 64));
            let name = LayerName::parse(&name).map_err(|e| ResourceError(e.to_string()))?;
            let code = code_of(parts, stack, &properties, "Content").await?;
            let details = LayerDetails {
                description: text(&properties, "Description").unwrap_or_default(),
                compatible_runtimes: strings(&properties, "CompatibleRuntimes"),
                compatible_architectures: strings(&properties, "CompatibleArchitectures")
                    .iter()
                    .filter_map(|a| serde_json::from_value(json!(a)).ok())
                    .collect(),
                license_info: text(&properties, "LicenseInfo"),
            };
            let version = parts
                .registry
                .publish_layer_version(scope, &name, &code, details);
            let arn = version.arn.to_string();
            live.physical_id.clone_from(&arn);
            live.ref_value = json!(arn);
            live.attributes.insert("LayerVersionArn".into(), json!(arn));
        }
        "AWS::Lambda::Function" => {
            let name = text(&properties, "FunctionName")
                .unwrap_or_else(|| physical_name(&stack_name, logical_id, 64));
            let (config, meta) = function_config(parts, stack, &name, &properties).await?;
            parts.registry.create_function(
                &parts.control.provisioner,
                config,
                meta,
                ConcurrencyLimit::new(ACCOUNT_CONCURRENCY),
                false,
            )?;
            let arn = function_arn(home, &name, None);
            live.physical_id.clone_from(&name);
            live.ref_value = json!(name);
            live.attributes.insert("Arn".into(), json!(arn));
        }
        "AWS::Lambda::Version" => {
            let function = function_name(&required(&properties, "FunctionName")?);
            let version = parts.registry.publish_version(
                &parts.control.provisioner,
                &function,
                None,
                None,
                text(&properties, "Description"),
            )?;
            let arn = function_arn(home, &function, Some(&version.version));
            live.physical_id.clone_from(&arn);
            live.ref_value = json!(arn);
            live.attributes
                .insert("Version".into(), json!(version.version));
            live.attributes.insert(
                "FunctionArn".into(),
                json!(function_arn(home, &function, None)),
            );
        }
        "AWS::Lambda::Alias" => {
            let function = function_name(&required(&properties, "FunctionName")?);
            let name = required(&properties, "Name")?;
            let routing = routing_of(&properties)?;
            let arn = function_arn(home, &function, Some(&name));
            parts
                .registry
                .create_alias(&function, &name, routing, arn.clone())
                .map_err(|e| ResourceError(e.to_string()))?;
            live.physical_id.clone_from(&arn);
            live.ref_value = json!(arn);
            live.attributes.insert("AliasArn".into(), json!(arn));
        }
        "AWS::CodeDeploy::Application" => {
            let name = text(&properties, "ApplicationName")
                .unwrap_or_else(|| physical_name(&stack_name, logical_id, 100));
            let input: CreateApplicationInput = from_json(json!({
                "applicationName": name,
                "computePlatform": text(&properties, "ComputePlatform").unwrap_or_else(|| "Lambda".into()),
            }))?;
            parts
                .deployments
                .create_application(&input)
                .map_err(|e| ResourceError(e.to_string()))?;
            live.physical_id.clone_from(&name);
            live.ref_value = json!(name);
        }
        "AWS::CodeDeploy::DeploymentGroup" => {
            let name = text(&properties, "DeploymentGroupName")
                .unwrap_or_else(|| physical_name(&stack_name, logical_id, 100));
            let input = deployment_group_input(&name, &properties)?;
            parts
                .deployments
                .create_deployment_group(&input)
                .map_err(|e| ResourceError(e.to_string()))?;
            live.physical_id.clone_from(&name);
            live.ref_value = json!(name);
        }
        "AWS::CloudWatch::Alarm" => {
            let name = text(&properties, "AlarmName")
                .unwrap_or_else(|| physical_name(&stack_name, logical_id, 255));
            put_alarm(parts, &name, &properties)?;
            let arn = format!(
                "arn:{}:cloudwatch:{}:{}:alarm:{name}",
                scope.partition, scope.region, scope.account
            );
            live.physical_id.clone_from(&name);
            live.ref_value = json!(name);
            live.attributes.insert("Arn".into(), json!(arn));
        }
        "AWS::ApiGatewayV2::Api" | "AWS::ApiGateway::RestApi" => {
            let id = short_id(&stack_name, logical_id, 10);
            live.physical_id.clone_from(&id);
            live.ref_value = json!(id);
            live.attributes.insert(
                "ApiEndpoint".into(),
                json!(format!(
                    "https://{id}.execute-api.{}.amazonaws.com",
                    scope.region
                )),
            );
            live.attributes
                .insert("RootResourceId".into(), json!(short_id(&id, "root", 10)));
            live.attributes.insert("ApiId".into(), json!(id));
        }
        "AWS::Lambda::Url" => {
            let id = short_id(&stack_name, logical_id, 32);
            let target = required(&properties, "TargetFunctionArn")?;
            let (function, qualifier) = split_qualified(&target);
            let mode = text(&properties, "InvokeMode");
            let url =
                function_url(parts, &id, &function, qualifier.as_deref(), mode.as_deref()).await?;
            live.physical_id = format!(
                "arn:{}:lambda:{}:{}:url/{id}",
                scope.partition, scope.region, scope.account
            );
            live.ref_value = json!(live.physical_id);
            live.attributes.insert("FunctionUrl".into(), json!(url));
            live.attributes.insert("FunctionArn".into(), json!(target));
        }
        other => recorded_only(
            &mut live,
            scope,
            &stack_name,
            logical_id,
            other,
            &properties,
        ),
    }
    Ok(live)
}

/// A function URL (`AuthType: NONE`, `InvokeMode` `BUFFERED` or `RESPONSE_STREAM`): a listener
/// of its own on loopback serving every path to `function[:qualifier]` with payload 2.0, as
/// Lambda's URLs do ([`crate::api::url`]); its URL.
async fn function_url(
    parts: &LabParts,
    id: &str,
    function: &str,
    qualifier: Option<&str>,
    invoke_mode: Option<&str>,
) -> Result<String, ResourceError> {
    use crate::api::url::{FunctionUrl, InvokeMode, UrlConfig};
    let invoke_mode = match invoke_mode {
        None => InvokeMode::default(),
        Some(m) => m
            .parse()
            .map_err(|e: String| ResourceError(format!("InvokeMode: {e}")))?,
    };
    let config = UrlConfig {
        function: function.to_owned(),
        qualifier: qualifier.map(str::to_owned),
        invoke_mode,
        account_id: parts.scope.account.to_string(),
        api_id: id.to_owned(),
    };
    let handler = Arc::new(FunctionUrl::new(config, Arc::clone(&parts.registry)));
    let listener =
        crate::api::http::Listener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), handler)
            .await
            .map_err(|e| ResourceError(format!("the function URL's listener: {e}")))?;
    let url = format!("http://{}/", listener.local_addr());
    parts
        .url_listeners
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(format!("url/{id}"), listener);
    Ok(url)
}

/// Updates a resource in place to `properties`; the new `LiveResource`.
pub async fn update(
    parts: &LabParts,
    stack: &LiveStack,
    logical_id: &str,
    old: &LiveResource,
    properties: Value,
) -> Result<LiveResource, ResourceError> {
    let mut live = old.clone();
    live.properties = properties.clone();
    match old.resource_type.as_str() {
        "AWS::Lambda::Function" => {
            let name = old.physical_id.clone();
            let (new_config, new_meta) = function_config(parts, stack, &name, &properties).await?;
            parts.registry.update_latest(
                &parts.control.provisioner,
                &name,
                None,
                false,
                |config, meta| {
                    *config = new_config;
                    let revision = std::mem::take(&mut meta.revision_id);
                    *meta = new_meta;
                    meta.revision_id = revision;
                    Ok(())
                },
            )?;
        }
        "AWS::Lambda::Alias" => {
            let function = function_name(&required(&properties, "FunctionName")?);
            let routing = routing_of(&properties)?;
            parts
                .registry
                .update_alias(
                    &function,
                    old.physical_id.rsplit(':').next().unwrap_or_default(),
                    None,
                    routing.primary,
                    routing.additional,
                )
                .map_err(|e| ResourceError(e.to_string()))?;
        }
        "AWS::CodeDeploy::DeploymentGroup" => {
            let input = deployment_group_input(&old.physical_id, &properties)?;
            parts
                .deployments
                .replace_deployment_group(&input)
                .map_err(|e| ResourceError(e.to_string()))?;
        }
        "AWS::CloudWatch::Alarm" => put_alarm(parts, &old.physical_id, &properties)?,
        // Layer versions and function versions are immutable: a changed one is a new
        // resource (SAM gives it a new logical id); APIs are read for routes by the caller.
        _ => {
            let _ = logical_id;
        }
    }
    Ok(live)
}

/// Deletes a resource that a rollback takes back, unless its `DeletionPolicy` is `Retain`.
pub fn delete(parts: &LabParts, live: &LiveResource) {
    if live.deletion_policy.as_deref() != Some("Retain") {
        remove(parts, live);
    }
}

/// The properties of `resource_type` that CloudFormation cannot change in place ("Update
/// requires: Replacement" in AWS's resource reference): a change of one makes a new resource.
pub fn replacing_properties(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::Lambda::Function" => &["FunctionName", "PackageType"],
        "AWS::Lambda::Alias" => &["FunctionName", "Name"],
        "AWS::Lambda::Version" => &["FunctionName"],
        "AWS::CodeDeploy::Application" => &["ApplicationName", "ComputePlatform"],
        "AWS::CodeDeploy::DeploymentGroup" => &["ApplicationName", "DeploymentGroupName"],
        "AWS::CloudWatch::Alarm" => &["AlarmName"],
        _ => &[],
    }
}

/// Deletes a resource from the lab, whatever its policies say (the caller checked them).
pub fn remove(parts: &LabParts, live: &LiveResource) {
    let result = match live.resource_type.as_str() {
        "AWS::Lambda::LayerVersion" => {
            if let Ok(arn) = live.physical_id.parse::<LayerVersionArn>() {
                parts
                    .registry
                    .delete_layer_version(arn.name.as_str(), arn.version.0);
            }
            Ok(())
        }
        "AWS::Lambda::Function" => lambda(parts.registry.delete_function(&live.physical_id, None)),
        "AWS::Lambda::Version" => {
            let (function, number) = split_qualified(&live.physical_id);
            lambda(parts.registry.delete_function(&function, number.as_deref()))
        }
        "AWS::Lambda::Alias" => {
            let (function, alias) = split_qualified(&live.physical_id);
            lambda(
                parts
                    .registry
                    .delete_alias(&function, alias.as_deref().unwrap_or_default()),
            )
        }
        "AWS::CloudWatch::Alarm" => {
            parts.cloudwatch.delete_alarm(&live.physical_id);
            Ok(())
        }
        "AWS::CodeDeploy::Application" => {
            codedeploy(parts.deployments.delete_application(&live.physical_id))
        }
        "AWS::CodeDeploy::DeploymentGroup" => codedeploy(
            parts
                .deployments
                .delete_deployment_group(
                    &text(&live.properties, "ApplicationName").unwrap_or_default(),
                    &live.physical_id,
                )
                .map(|_| ()),
        ),
        "AWS::Lambda::Url" => {
            let key = live.physical_id.rsplit(':').next().unwrap_or_default();
            parts
                .url_listeners
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(key);
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(physical_id = %live.physical_id, error = %e, "resource not deleted");
    }
}

fn lambda(result: Result<(), LambdaError>) -> Result<(), String> {
    result.map_err(|e| e.message)
}

fn codedeploy(result: Result<(), protocol::codedeploy::CodeDeployError>) -> Result<(), String> {
    result.map_err(|e| e.message)
}

/// `arn:...:function:name[:qualifier]` -> (name, qualifier).
fn split_qualified(arn: &str) -> (String, Option<String>) {
    let rest = arn.split_once(":function:").map_or(arn, |(_, r)| r);
    match rest.split_once(':') {
        Some((name, q)) => (name.to_owned(), Some(q.to_owned())),
        None => (rest.to_owned(), None),
    }
}

/// A function given by name or ARN -> its name.
pub fn function_name(name_or_arn: &str) -> String {
    split_qualified(name_or_arn).0
}

pub(super) fn strings(properties: &Value, key: &str) -> Vec<String> {
    properties
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ResourceError> {
    serde_json::from_value(value).map_err(|e| ResourceError(e.to_string()))
}

/// The routing of an alias's `FunctionVersion` and `RoutingConfig`.
fn routing_of(properties: &Value) -> Result<Routing, ResourceError> {
    let primary = required(properties, "FunctionVersion")?;
    let additional = properties
        .pointer("/RoutingConfig/AdditionalVersionWeights/0")
        .map(|w| {
            let version = text(w, "FunctionVersion").unwrap_or_default();
            let weight = text(w, "FunctionWeight")
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or_default();
            (version, weight)
        });
    Ok(Routing {
        primary,
        additional,
    })
}

/// CreateDeploymentGroup's input from the resource's properties.
fn deployment_group_input(
    name: &str,
    properties: &Value,
) -> Result<CreateDeploymentGroupInput, ResourceError> {
    let alarms = properties.get("AlarmConfiguration").map(|a| {
        json!({
            "enabled": a.get("Enabled").and_then(Value::as_bool).unwrap_or(false)
                || text(a, "Enabled").as_deref() == Some("true"),
            "ignorePollAlarmFailure": a.get("IgnorePollAlarmFailure").and_then(Value::as_bool).unwrap_or(false),
            "alarms": a.get("Alarms").and_then(Value::as_array).map(|list| {
                list.iter().map(|x| json!({"name": text(x, "Name").unwrap_or_default()})).collect::<Vec<_>>()
            }).unwrap_or_default(),
        })
    });
    let rollback = properties.get("AutoRollbackConfiguration").map(|r| {
        json!({
            "enabled": r.get("Enabled").and_then(Value::as_bool).unwrap_or(false)
                || text(r, "Enabled").as_deref() == Some("true"),
            "events": strings(r, "Events"),
        })
    });
    let style = properties.get("DeploymentStyle").map(|s| {
        json!({
            "deploymentType": text(s, "DeploymentType"),
            "deploymentOption": text(s, "DeploymentOption"),
        })
    });
    let mut input = json!({
        "applicationName": required(properties, "ApplicationName")?,
        "deploymentGroupName": name,
        "serviceRoleArn": text(properties, "ServiceRoleArn").unwrap_or_else(|| "arn:aws:iam::123456789012:role/not-checked".into()),
    });
    if let Some(c) = text(properties, "DeploymentConfigName") {
        input["deploymentConfigName"] = json!(c);
    }
    if let Some(a) = alarms {
        input["alarmConfiguration"] = a;
    }
    if let Some(r) = rollback {
        input["autoRollbackConfiguration"] = r;
    }
    if let Some(s) = style {
        input["deploymentStyle"] = s;
    }
    from_json(input)
}

/// PutMetricAlarm with the resource's properties under `name` (numbers given as text, as
/// parameters give them, made numbers).
fn put_alarm(parts: &LabParts, name: &str, properties: &Value) -> Result<(), ResourceError> {
    let mut request = properties.clone();
    request["AlarmName"] = json!(name);
    numbers_in(&mut request);
    parts
        .cloudwatch
        .put_metric_alarm_json(&request.to_string())
        .map(|_| ())
        .map_err(|e| ResourceError(e.to_string()))
}

/// Numeric fields of PutMetricAlarm that CloudFormation takes as strings too.
fn numbers_in(value: &mut Value) {
    const NUMERIC: &[&str] = &[
        "Threshold",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Period",
    ];
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if NUMERIC.contains(&k.as_str())
                    && let Some(n) = v
                        .as_str()
                        .and_then(|s| s.parse::<f64>().ok())
                        .and_then(serde_json::Number::from_f64)
                {
                    *v = if n
                        .as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && k != "Threshold")
                    {
                        json!(n.as_f64().unwrap_or_default() as i64)
                    } else {
                        Value::Number(n)
                    };
                } else {
                    numbers_in(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(numbers_in),
        _ => {}
    }
}
