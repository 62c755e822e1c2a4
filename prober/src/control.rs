//! The control-plane flags (`--alias`, `--deployment`, `--invoke`, `--sigv4`, `--stack`,
//! `--connect-to`), checked by a pure function like the rest of [`crate::config`].

use std::time::Duration;

use http::Uri;
use protocol::lambda_api::names::FunctionRef;

use crate::cli::Cli;
use crate::config::parse_duration;
use crate::error::ProberError;

/// The shortest `--poll`: GetAlias and GetDeployment are control-plane calls with low quotas.
pub const MIN_POLL: Duration = Duration::from_millis(100);

/// Services `--sigv4` signs for.
pub const SIGV4_SERVICES: &[&str] = &["lambda", "execute-api"];

/// Which CodeDeploy deployment to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentSelector {
    /// A deployment id, `d-` and nine characters.
    Id(String),
    /// The newest deployment of the deployment group (given, or the stack's).
    Latest,
}

/// A CodeDeploy deployment group, `APPLICATION/GROUP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentGroup {
    /// The application's name.
    pub application: String,
    /// The deployment group's name.
    pub group: String,
}

/// `--connect-to HOST=URL`: requests for `host` go to `to`'s address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    /// The host name requests are addressed to (kept in `Host` and in signatures).
    pub host: String,
    /// Where they are sent instead (scheme, host and port; no path).
    pub to: Uri,
}

/// `--sigv4`: the service and, when given, the region to sign for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4 {
    /// `lambda` or `execute-api`.
    pub service: String,
    /// `--sigv4-region`; `None`: from the URL's host, else the SDK's region chain.
    pub region: Option<String>,
}

/// Where `--invoke` sends its requests, resolved as the SDK resolves Lambda's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeEndpoint {
    /// The endpoint's URL, e.g. `https://lambda.us-east-1.amazonaws.com`.
    pub url: String,
    /// The region (the function ARN's, else the SDK's), also the one signed for.
    pub region: String,
}

/// Lambda's Invoke URL for `function` at `endpoint`: `POST {endpoint}/2015-03-31/functions/
/// {FunctionName}/invocations[?Qualifier=q]`, the name (or ARN) percent-encoded as the SDK does.
pub fn invoke_url(endpoint: &str, function: &FunctionRef) -> String {
    let name = match (&function.scope, &function.account) {
        (Some(s), _) => format!(
            "arn:{}:lambda:{}:{}:function:{}",
            s.partition, s.region, s.account, function.name
        ),
        (None, Some(account)) => format!("{account}:function:{}", function.name),
        (None, None) => function.name.to_string(),
    };
    let mut url = endpoint.trim_end_matches('/').to_owned();
    url.push_str("/2015-03-31/functions/");
    crate::aws::sigv4::sigv4_escape(&name, &mut url);
    url.push_str("/invocations");
    if let Some(q) = &function.qualifier {
        url.push_str("?Qualifier=");
        crate::aws::sigv4::sigv4_escape(&q.to_string(), &mut url);
    }
    url
}

/// A function reference as given (`--alias`, `--invoke`) and parsed.
#[derive(Debug, Clone)]
pub struct FunctionArg {
    /// The text given.
    pub text: String,
    /// The parsed reference.
    pub reference: FunctionRef,
}

/// The control-plane part of a run's configuration.
#[derive(Debug, Clone, Default)]
pub struct ControlConfig {
    /// `--alias`: a function reference whose qualifier is an alias.
    pub alias: Option<FunctionArg>,
    /// `--poll`.
    pub poll: Duration,
    /// `--deployment`.
    pub deployment: Option<DeploymentSelector>,
    /// `--deployment-group`.
    pub deployment_group: Option<DeploymentGroup>,
    /// `--invoke`.
    pub invoke: Option<FunctionArg>,
    /// `--sigv4` (implied `lambda` by `--invoke`).
    pub sigv4: Option<SigV4>,
    /// `--stack`.
    pub stack: Option<String>,
    /// `--stack-output`.
    pub stack_output: Option<String>,
    /// `--connect-to`, in the order given.
    pub connect_to: Vec<ConnectTo>,
    /// What `--stack` resolved to (set by the caller after resolving the stack; the check
    /// itself stays pure).
    pub stack_found: Option<rollout::control_plane::StackReport>,
}

impl ControlConfig {
    /// Checks the control-plane flags of `cli` (their combinations with `--url` included).
    pub fn from_cli(cli: &Cli) -> Result<ControlConfig, ProberError> {
        let poll = parse_duration("--poll", &cli.poll)?;
        if poll < MIN_POLL {
            return Err(ProberError::invalid(
                "--poll",
                &cli.poll,
                "polls closer than 100ms would exhaust the control plane's quota; use e.g. --poll 1s",
            ));
        }
        let alias = cli
            .alias
            .as_deref()
            .map(|a| parse_function("--alias", a, true))
            .transpose()?;
        let invoke = cli
            .invoke
            .as_deref()
            .map(|f| parse_function("--invoke", f, false))
            .transpose()?;
        let deployment = cli
            .deployment
            .as_deref()
            .map(parse_deployment)
            .transpose()?;
        let deployment_group = cli
            .deployment_group
            .as_deref()
            .map(parse_deployment_group)
            .transpose()?;
        if deployment == Some(DeploymentSelector::Latest)
            && deployment_group.is_none()
            && cli.stack.is_none()
        {
            return Err(ProberError::invalid(
                "--deployment",
                "latest",
                "`latest` needs the deployment group: add --deployment-group APPLICATION/GROUP \
                 or --stack NAME",
            ));
        }
        let sigv4 = match (&cli.sigv4, &invoke) {
            (Some(service), _) => {
                if !SIGV4_SERVICES.contains(&service.as_str()) {
                    return Err(ProberError::invalid(
                        "--sigv4",
                        service,
                        "sign for `lambda` (function URLs with AuthType AWS_IAM) or `execute-api` \
                         (API Gateway routes with IAM authorisation)",
                    ));
                }
                if invoke.is_some() && service != "lambda" {
                    return Err(ProberError::invalid(
                        "--sigv4",
                        service,
                        "--invoke calls Lambda's API, signed for `lambda`; leave --sigv4 out",
                    ));
                }
                Some(SigV4 {
                    service: service.clone(),
                    region: cli.sigv4_region.clone(),
                })
            }
            (None, Some(_)) => Some(SigV4 {
                service: "lambda".into(),
                region: cli.sigv4_region.clone(),
            }),
            (None, None) => None,
        };
        let targets = [
            ("--url", cli.url.is_some()),
            ("--invoke", invoke.is_some()),
            ("--stack", cli.stack.is_some()),
        ];
        let given: Vec<&str> = targets.iter().filter(|t| t.1).map(|t| t.0).collect();
        if given.len() > 1 && given != ["--url", "--stack"] {
            return Err(ProberError::invalid(
                given[1],
                "",
                format!(
                    "{} and {} name two targets; give one of --url, --invoke or --stack",
                    given[0], given[1]
                ),
            ));
        }
        if cli.stack_output.is_some() && cli.stack.is_none() {
            return Err(ProberError::MissingFlag {
                flag: "--stack",
                reason: "--stack-output names an output of the stack given with --stack NAME"
                    .into(),
            });
        }
        let connect_to = cli
            .connect_to
            .iter()
            .map(|c| parse_connect_to(c))
            .collect::<Result<_, _>>()?;
        Ok(ControlConfig {
            alias,
            poll,
            deployment,
            deployment_group,
            invoke,
            sigv4,
            stack: cli.stack.clone(),
            stack_output: cli.stack_output.clone(),
            connect_to,
            stack_found: None,
        })
    }

    /// True when the run needs AWS credentials, a region or the control plane.
    pub fn uses_aws(&self) -> bool {
        self.alias.is_some()
            || self.deployment.is_some()
            || self.invoke.is_some()
            || self.sigv4.is_some()
            || self.stack.is_some()
    }
}

/// Parses a function reference; `alias` requires its qualifier to be an alias.
fn parse_function(flag: &'static str, text: &str, alias: bool) -> Result<FunctionArg, ProberError> {
    let reference = FunctionRef::parse(text).map_err(|e| {
        ProberError::invalid(
            flag,
            text,
            format!("{e}; give NAME:QUALIFIER or an ARN, e.g. hello:live"),
        )
    })?;
    if alias {
        match &reference.qualifier {
            None => {
                return Err(ProberError::invalid(
                    flag,
                    text,
                    "name the alias too, e.g. hello:live or arn:aws:lambda:REGION:ACCOUNT:function:hello:live",
                ));
            }
            Some(q) if q.is_version() => {
                return Err(ProberError::invalid(
                    flag,
                    text,
                    "that qualifier is a version, which has no weights; name the alias, e.g. hello:live",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(FunctionArg {
        text: text.to_owned(),
        reference,
    })
}

pub(crate) fn parse_deployment(text: &str) -> Result<DeploymentSelector, ProberError> {
    if text == "latest" {
        return Ok(DeploymentSelector::Latest);
    }
    let valid = text.len() == 11
        && text.starts_with("d-")
        && text[2..].bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid {
        return Err(ProberError::invalid(
            "--deployment",
            text,
            "a CodeDeploy deployment id is `d-` and nine letters or digits (e.g. d-A1B2C3D4E), \
             or `latest` with --deployment-group or --stack",
        ));
    }
    Ok(DeploymentSelector::Id(text.to_owned()))
}

pub(crate) fn parse_deployment_group(text: &str) -> Result<DeploymentGroup, ProberError> {
    match text.split_once('/') {
        Some((application, group))
            if !application.is_empty() && !group.is_empty() && !group.contains('/') =>
        {
            Ok(DeploymentGroup {
                application: application.to_owned(),
                group: group.to_owned(),
            })
        }
        _ => Err(ProberError::invalid(
            "--deployment-group",
            text,
            "give APPLICATION/GROUP, e.g. rollcall-demo-ServerlessDeploymentApplication-X/rollcall-demo-HelloFunctionDeploymentGroup-Y",
        )),
    }
}

fn parse_connect_to(text: &str) -> Result<ConnectTo, ProberError> {
    let bad = |reason: &str| ProberError::invalid("--connect-to", text, reason.to_owned());
    let (host, to) = text.split_once('=').ok_or_else(|| {
        bad("give HOST=URL, e.g. abc.execute-api.us-east-1.amazonaws.com=http://127.0.0.1:3000")
    })?;
    if host.is_empty() || host.contains(['/', ':', ' ']) {
        return Err(bad("HOST is a host name without scheme, port or path"));
    }
    let uri: Uri = to
        .parse()
        .map_err(|_| bad("URL is not a URL; give e.g. http://127.0.0.1:3000"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let path_empty = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    if !scheme_ok || uri.authority().is_none() || !path_empty {
        return Err(bad(
            "URL is a scheme, host and port only, e.g. http://127.0.0.1:3000",
        ));
    }
    Ok(ConnectTo {
        host: host.to_ascii_lowercase(),
        to: uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn control(args: &[&str]) -> Result<ControlConfig, ProberError> {
        let mut argv = vec!["prober"];
        argv.extend_from_slice(args);
        ControlConfig::from_cli(&Cli::try_parse_from(argv).unwrap())
    }

    fn message(args: &[&str]) -> String {
        control(args).unwrap_err().to_string()
    }

    #[test]
    fn plain_runs_use_no_aws() {
        let c = control(&["--url", "http://x/"]).unwrap();
        assert!(!c.uses_aws());
        assert_eq!(c.poll, Duration::from_secs(1));
    }

    #[test]
    fn alias_needs_an_alias_qualifier() {
        let c = control(&["--url", "http://x/", "--alias", "hello:live"]).unwrap();
        assert_eq!(
            c.alias.unwrap().reference.qualifier.unwrap().to_string(),
            "live"
        );
        assert!(message(&["--alias", "hello"]).contains("name the alias"));
        assert!(message(&["--alias", "hello:3"]).contains("is a version"));
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello:live";
        let c = control(&["--url", "http://x/", "--alias", arn]).unwrap();
        assert!(c.uses_aws());
    }

    #[test]
    fn deployments_are_ids_or_latest_with_a_group() {
        let c = control(&["--url", "http://x/", "--deployment", "d-A1B2C3D4E"]).unwrap();
        assert_eq!(
            c.deployment,
            Some(DeploymentSelector::Id("d-A1B2C3D4E".into()))
        );
        assert!(message(&["--deployment", "latest"]).contains("--deployment-group"));
        assert!(message(&["--deployment", "x"]).contains("d-A1B2C3D4E"));
        let c = control(&["--deployment", "latest", "--deployment-group", "app/grp"]).unwrap();
        assert_eq!(c.deployment_group.unwrap().group, "grp");
        assert!(message(&["--deployment-group", "app"]).contains("APPLICATION/GROUP"));
    }

    #[test]
    fn invoke_signs_for_lambda_and_excludes_url() {
        let c = control(&["--invoke", "hello:live"]).unwrap();
        assert_eq!(c.sigv4.unwrap().service, "lambda");
        assert!(message(&["--invoke", "hello", "--url", "http://x/"]).contains("two targets"));
        assert!(message(&["--invoke", "hello", "--stack", "s"]).contains("two targets"));
        assert!(message(&["--invoke", "hello", "--sigv4", "execute-api"]).contains("`lambda`"));
        let c = control(&["--invoke", "hello", "--sigv4", "lambda"]).unwrap();
        assert_eq!(c.sigv4.unwrap().service, "lambda");
    }

    #[test]
    fn sigv4_services_are_checked() {
        let c = control(&["--url", "http://x/", "--sigv4", "execute-api"]).unwrap();
        assert_eq!(c.sigv4.unwrap().service, "execute-api");
        assert!(message(&["--url", "http://x/", "--sigv4", "s3"]).contains("execute-api"));
    }

    #[test]
    fn connect_to_is_host_equals_origin() {
        let c = control(&[
            "--url",
            "http://x/",
            "--connect-to",
            "ABC.execute-api.us-east-1.amazonaws.com=http://127.0.0.1:3000",
        ])
        .unwrap();
        assert_eq!(
            c.connect_to[0].host,
            "abc.execute-api.us-east-1.amazonaws.com"
        );
        assert_eq!(c.connect_to[0].to.port_u16(), Some(3000));
        for bad in ["abc", "abc=ftp://h", "abc=http://h/path", "a:1=http://h"] {
            assert!(message(&["--url", "http://x/", "--connect-to", bad]).contains("--connect-to"));
        }
    }

    #[test]
    fn invoke_urls_encode_the_name_and_carry_the_qualifier() {
        let f = |s: &str| FunctionRef::parse(s).unwrap();
        assert_eq!(
            invoke_url("http://127.0.0.1:9/", &f("hello:live")),
            "http://127.0.0.1:9/2015-03-31/functions/hello/invocations?Qualifier=live"
        );
        assert_eq!(
            invoke_url("https://lambda.eu-west-1.amazonaws.com", &f("hello")),
            "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/hello/invocations"
        );
        assert_eq!(
            invoke_url(
                "https://l",
                &f("arn:aws:lambda:eu-west-1:123456789012:function:hello:$LATEST")
            ),
            "https://l/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012\
             %3Afunction%3Ahello/invocations?Qualifier=%24LATEST"
        );
        assert_eq!(
            invoke_url("https://l", &f("123456789012:function:hello")),
            "https://l/2015-03-31/functions/123456789012%3Afunction%3Ahello/invocations"
        );
    }

    #[test]
    fn poll_has_a_floor() {
        assert!(message(&["--url", "http://x/", "--poll", "10ms"]).contains("100ms"));
    }
}
