//! `--stack NAME`: the target URL, the alias and the CodeDeploy deployment group of a
//! CloudFormation stack (DescribeStacks' outputs, DescribeStackResources' physical ids, the
//! processed template's `UpdatePolicy.CodeDeployLambdaAliasUpdate`).
//!
//! [`choose`] is pure: it applies the rules to what the three calls returned.

use std::collections::BTreeMap;

use rollout::control_plane::StackReport;
use serde_json::Value;

use super::deployment::describe;
use crate::error::ProberError;

/// A resource of the stack: `(logical id, type, physical id)`.
pub type Resource = (String, String, String);

/// What the stack gives the run.
#[derive(Debug, Clone, PartialEq)]
pub struct StackTarget {
    /// The URL to probe.
    pub url: String,
    /// The alias's ARN, when the stack has one alias (or one alias output).
    pub alias: Option<String>,
    /// `(application, group)` of the alias's CodeDeploy deployment group.
    pub group: Option<(String, String)>,
    /// The report's account of the stack.
    pub report: StackReport,
}

fn bad(stack: &str, reason: String) -> ProberError {
    ProberError::invalid("--stack", stack, reason)
}

fn is_url(v: &str) -> bool {
    v.starts_with("http://") || v.starts_with("https://")
}

/// The URL after `--url` in a command line (the template's `ProberCommand` output).
fn url_in_command(v: &str) -> Option<String> {
    let mut words = v.split_whitespace();
    while let Some(w) = words.next() {
        if w == "--url" {
            return words.next().map(|u| u.trim_matches(['"', '\'']).to_owned());
        }
        if let Some(u) = w.strip_prefix("--url=") {
            return Some(u.trim_matches(['"', '\'']).to_owned());
        }
    }
    None
}

/// True for `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME:ALIAS` with a non-numeric
/// qualifier.
fn is_alias_arn(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 8
        && parts[0] == "arn"
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[7].is_empty()
        && !parts[7].bytes().all(|b| b.is_ascii_digit())
        && parts[7] != "$LATEST"
}

/// Applies the rules: the URL is `--stack-output KEY`'s value, else the `--url` of an output
/// holding a prober command line, else the only URL output; the alias is the only output
/// naming an alias ARN, else the only `AWS::Lambda::Alias`; its deployment group comes from
/// the alias's `UpdatePolicy.CodeDeployLambdaAliasUpdate` in the processed `template`.
pub fn choose(
    stack: &str,
    status: &str,
    outputs: &BTreeMap<String, String>,
    resources: &[Resource],
    template: Option<&Value>,
    output: Option<&str>,
) -> Result<StackTarget, ProberError> {
    let urls: Vec<&String> = outputs
        .iter()
        .filter(|(_, v)| is_url(v))
        .map(|(k, _)| k)
        .collect();
    let listed = || {
        if urls.is_empty() {
            "it has no URL output".to_owned()
        } else {
            format!(
                "its URL outputs are {}",
                urls.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let (url_output, url) = match output {
        Some(key) => match outputs.get(key) {
            Some(v) if is_url(v) => (key.to_owned(), v.clone()),
            Some(v) => {
                return Err(ProberError::invalid(
                    "--stack-output",
                    key,
                    format!("its value {v:?} is not an http(s) URL; {}", listed()),
                ));
            }
            None => {
                return Err(ProberError::invalid(
                    "--stack-output",
                    key,
                    format!("stack {stack} has no such output; {}", listed()),
                ));
            }
        },
        None => {
            let command = outputs.iter().find_map(|(k, v)| {
                url_in_command(v)
                    .filter(|u| is_url(u))
                    .map(|u| (k.clone(), u))
            });
            match (command, urls.as_slice()) {
                (Some(found), _) => found,
                (None, [only]) => ((*only).clone(), outputs[*only].clone()),
                (None, _) => {
                    return Err(bad(
                        stack,
                        format!(
                            "name the output to probe with --stack-output KEY: {}",
                            listed()
                        ),
                    ));
                }
            }
        }
    };
    let alias_outputs: Vec<&String> = outputs.values().filter(|v| is_alias_arn(v)).collect();
    let alias_resources: Vec<&Resource> = resources
        .iter()
        .filter(|r| r.1 == "AWS::Lambda::Alias")
        .collect();
    let alias = match (alias_outputs.as_slice(), alias_resources.as_slice()) {
        ([only], _) => Some((*only).clone()),
        (_, [only]) => Some(only.2.clone()),
        (_, []) => None,
        (_, several) => {
            let names: Vec<&str> = several.iter().map(|r| r.0.as_str()).collect();
            return Err(bad(
                stack,
                format!(
                    "it has several aliases ({}); give the one to follow with --alias ARN",
                    names.join(", ")
                ),
            ));
        }
    };
    let physical = |logical: &str| {
        resources
            .iter()
            .find(|r| r.0 == logical)
            .map(|r| r.2.clone())
    };
    let name = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("Ref").and_then(Value::as_str).and_then(physical),
        _ => None,
    };
    let group = alias.as_ref().and_then(|arn| {
        let logical = resources
            .iter()
            .find(|r| r.1 == "AWS::Lambda::Alias" && &r.2 == arn)
            .map(|r| r.0.clone())?;
        let policy = template?
            .get("Resources")?
            .get(&logical)?
            .get("UpdatePolicy")?
            .get("CodeDeployLambdaAliasUpdate")?;
        Some((
            name(policy.get("ApplicationName")?)?,
            name(policy.get("DeploymentGroupName")?)?,
        ))
    });
    Ok(StackTarget {
        url,
        alias,
        group,
        report: StackReport {
            stack_name: stack.to_owned(),
            status: status.to_owned(),
            url_output: Some(url_output),
            outputs: outputs.clone(),
        },
    })
}

/// DescribeStacks, DescribeStackResources and GetTemplate (Processed) of `stack`, then
/// [`choose`]. A stack that does not exist, or a call refused, is exit 64.
pub async fn resolve(
    sdk: &aws_config::SdkConfig,
    stack: &str,
    output: Option<&str>,
) -> Result<StackTarget, ProberError> {
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let fail = |call: &'static str, reason: String| ProberError::ControlPlane {
        call,
        resource: stack.to_owned(),
        reason,
        fix: "check the stack's name and the region (AWS_REGION), e.g. with `aws cloudformation \
              describe-stacks`"
            .into(),
    };
    let described = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| fail("cloudformation:DescribeStacks", describe(&e)))?;
    let found = described.stacks().first().ok_or_else(|| {
        fail(
            "cloudformation:DescribeStacks",
            "no stack in the answer".into(),
        )
    })?;
    let outputs: BTreeMap<String, String> = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    let status = found
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let resources: Vec<Resource> = client
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| fail("cloudformation:DescribeStackResources", describe(&e)))?
        .stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_owned(),
                r.resource_type().unwrap_or_default().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let template = client
        .get_template()
        .stack_name(stack)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Processed)
        .send()
        .await
        .map_err(|e| fail("cloudformation:GetTemplate", describe(&e)))?;
    let template: Option<Value> = template
        .template_body()
        .and_then(|b| serde_json::from_str(b).ok());
    choose(
        stack,
        &status,
        &outputs,
        &resources,
        template.as_ref(),
        output,
    )
}

/// The command line completed with what the stack gives: its URL (unless `--url`), its alias
/// (unless `--alias`) and, when the alias has a deployment group, `--deployment latest` of that
/// group (unless `--deployment`).
pub fn apply(cli: &crate::Cli, target: &StackTarget) -> crate::Cli {
    let mut cli = cli.clone();
    if cli.url.is_none() {
        cli.url = Some(target.url.clone());
    }
    if cli.alias.is_none() {
        cli.alias.clone_from(&target.alias);
    }
    if let Some((application, group)) = &target.group {
        if cli.deployment.is_none() {
            cli.deployment = Some("latest".into());
        }
        if cli.deployment_group.is_none() {
            cli.deployment_group = Some(format!("{application}/{group}"));
        }
    }
    cli
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
