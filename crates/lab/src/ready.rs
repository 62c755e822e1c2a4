//! The readiness document `rollcall-lab serve --ready-file PATH` writes once both listeners
//! serve: what scripts need to drive the lab, instead of parsing its banner.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lab::Lab;

/// The readiness document, e.g.
///
/// ```json
/// {"api_url": "http://127.0.0.1:41234", "lambda_url": "http://127.0.0.1:41235", "pid": 4242,
///  "functions": {"hello": {"versions": ["$LATEST", "1", "2"],
///                          "aliases": {"live": {"primary": "1", "additional": {"2": 0.1}}}}},
///  "routes": [{"route": "GET /hello", "target": "hello:live", "payload_format": "2.0"}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyFile {
    /// Base URL of the API front door.
    pub api_url: String,
    /// Endpoint URL of the Lambda API (`aws lambda ... --endpoint-url`).
    pub lambda_url: String,
    /// The lab's process id (send it SIGTERM to stop the lab).
    pub pid: u32,
    /// Every function, by name.
    pub functions: BTreeMap<String, ReadyFunction>,
    /// The front door's routes, in the order they were given.
    pub routes: Vec<ReadyRoute>,
    /// Each API of every stack by its AWS host name (`<apiId>.execute-api.<region>.amazonaws.com`,
    /// what the stack's outputs name) -> the front door that serves it here: the prober's
    /// `--connect-to HOST=URL` (`PROBER_CONNECT_TO`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connect_to: BTreeMap<String, String>,
}

/// One function's qualifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyFunction {
    /// `$LATEST`, then the published versions in ascending order.
    pub versions: Vec<String>,
    /// Aliases by name.
    pub aliases: BTreeMap<String, ReadyAlias>,
    /// Its function URL (`functions.<name>.url` in a spec file), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where an alias routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyAlias {
    /// The primary version.
    pub primary: String,
    /// The additional version and its weight (0.0..=1.0), if any (`{"2": 0.1}`).
    pub additional: BTreeMap<String, f64>,
}

/// One route of the front door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyRoute {
    /// The route key: `GET /hello`, `ANY /{proxy+}`, `$default`.
    pub route: String,
    /// What it invokes: `function` (`$LATEST`) or `function:qualifier`.
    pub target: String,
    /// `1.0` or `2.0`.
    pub payload_format: String,
}

impl ReadyFile {
    /// The document describing `lab` now, as process `pid`.
    pub fn of(lab: &Lab, pid: u32) -> Self {
        let snapshot = lab.registry.snapshot();
        let functions = snapshot
            .functions
            .iter()
            .map(|(name, f)| {
                let versions = std::iter::once(f.latest.version.clone())
                    .chain(f.versions.keys().map(u64::to_string))
                    .collect();
                let aliases = f
                    .aliases
                    .iter()
                    .map(|(alias, a)| {
                        let routing = a.routing();
                        let ready = ReadyAlias {
                            primary: routing.primary,
                            additional: routing.additional.into_iter().collect(),
                        };
                        (alias.clone(), ready)
                    })
                    .collect();
                let url = lab.function_url(name);
                (
                    name.clone(),
                    ReadyFunction {
                        versions,
                        aliases,
                        url,
                    },
                )
            })
            .collect();
        let routes = lab
            .live_routes
            .current()
            .routes()
            .iter()
            .map(|r| ReadyRoute {
                // A REST route under its stage is reached at `/Prod/...`.
                route: match &r.stage {
                    Some(stage) => r.route_key().replacen(" /", &format!(" /{stage}/"), 1),
                    None => r.route_key(),
                },
                target: r
                    .target
                    .as_ref()
                    .map_or_else(String::new, |t| match &t.qualifier {
                        Some(q) => format!("{}:{q}", t.function),
                        None => t.function.clone(),
                    }),
                payload_format: r.format.to_string(),
            })
            .collect();
        Self {
            api_url: lab.api_url(),
            lambda_url: lab.lambda_url(),
            pid,
            functions,
            routes,
            connect_to: connect_to(lab),
        }
    }

    /// Writes the document to `path` atomically: a temporary file in the same directory,
    /// flushed, then renamed over `path`, so a reader sees no file or the whole document.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".rollcall-lab-ready-")
            .tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut file, self)?;
        file.write_all(b"\n")?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Every API of every stack (`AWS::ApiGateway::RestApi`, `AWS::ApiGatewayV2::Api`) by the host
/// name AWS would give it -> the lab's front door (which reads the API id from the `Host`).
pub fn connect_to(lab: &Lab) -> BTreeMap<String, String> {
    let (region, _) = lab.stacks.home();
    lab.stacks
        .list()
        .iter()
        .flat_map(|stack| stack.resources.values())
        .filter(|r| {
            matches!(
                r.resource_type.as_str(),
                "AWS::ApiGateway::RestApi" | "AWS::ApiGatewayV2::Api"
            )
        })
        .filter_map(|r| r.physical_id.as_deref())
        .map(|id| {
            (
                format!("{id}.execute-api.{region}.amazonaws.com"),
                lab.api_url(),
            )
        })
        .collect()
}

/// The shell line that points the prober (and any AWS SDK or CLI) at the lab: the stacks'
/// API hosts, the one endpoint serving Lambda, CodeDeploy and CloudFormation, the region, and
/// throwaway credentials (the lab checks none).
pub fn export_line(lab: &Lab) -> String {
    let (region, _) = lab.stacks.home();
    let hosts: Vec<String> = connect_to(lab)
        .into_iter()
        .map(|(host, url)| format!("{host}={url}"))
        .collect();
    let mut line = String::from("export");
    if !hosts.is_empty() {
        line.push_str(&format!(" PROBER_CONNECT_TO={}", hosts.join(",")));
    }
    line.push_str(&format!(
        " AWS_ENDPOINT_URL={} AWS_REGION={region} AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab",
        lab.lambda_url()
    ));
    line
}
