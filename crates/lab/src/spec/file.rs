//! The spec file (`rollcall-lab serve --spec lab.yaml`): YAML (so JSON too), read into the raw
//! shapes below with unknown keys refused, then checked into a [`LabSpec`]. Every error names
//! the key path (`functions.hello.memory`), the line and column where the parser gives them,
//! the file (from [`LabSpec::load`]) and the fix. Relative paths resolve against the spec
//! file's directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::lambda_api::names::{AliasName, ArnScope, FunctionName, LayerName, Qualifier};
use serde::Deserialize;

use super::model::{
    Code, DEFAULT_ACCOUNT, DEFAULT_REGION, DEFAULT_RUNTIME, FunctionSpec, LabSpec, LayerSpec,
    RouteSpec, SpecError, UrlSpec, VersionSpec,
};
use crate::api::gateway::{PayloadFormat, Route};
use crate::api::url::InvokeMode;
use crate::control::alias::Routing;

/// A YAML scalar read as text: `3`, `0.5`, `true` and `"x"` all give their written form, so
/// that `PORT: 8080` or `version: 1` need no quotes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A YAML mapping that refuses a key written twice (a plain map would keep the last one
/// silently, losing the first).
#[derive(Debug)]
struct Unique<K, V>(BTreeMap<K, V>);

impl<K, V> Default for Unique<K, V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K, V> IntoIterator for Unique<K, V> {
    type Item = (K, V);
    type IntoIter = std::collections::btree_map::IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'de, K, V> Deserialize<'de> for Unique<K, V>
where
    K: Deserialize<'de> + Ord + fmt::Display,
    V: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct M<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K, V> serde::de::Visitor<'de> for M<K, V>
        where
            K: Deserialize<'de> + Ord + fmt::Display,
            V: Deserialize<'de>,
        {
            type Value = Unique<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<K>()? {
                    if out.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "key {key} is written twice; keep one (a second would silently replace the first)"
                        )));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(Unique(out))
            }
        }
        d.deserialize_map(M(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    region: Option<String>,
    account: Option<Text>,
    seed: Option<u64>,
    payload_format: Option<Text>,
    #[serde(default)]
    layers: Unique<String, RawLayer>,
    #[serde(default)]
    functions: Unique<String, RawFunction>,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    content: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    code: PathBuf,
    handler: Option<String>,
    runtime: Option<String>,
    command: Option<Vec<String>>,
    memory: Option<u32>,
    timeout: Option<Text>,
    #[serde(default)]
    environment: Unique<String, Text>,
    #[serde(default)]
    layers: Vec<String>,
    reserved_concurrency: Option<u32>,
    #[serde(default)]
    versions: Vec<RawVersion>,
    #[serde(default)]
    aliases: Unique<String, RawAlias>,
    url: Option<RawUrl>,
    stream_bandwidth_cap: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUrl {
    invoke_mode: Option<String>,
    qualifier: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    code: Option<PathBuf>,
    #[serde(default)]
    environment: Unique<String, Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlias {
    version: Text,
    #[serde(default)]
    weights: Unique<Text, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    route: String,
    target: String,
    payload_format: Option<Text>,
    transfer_mode: Option<String>,
}

impl LabSpec {
    /// Reads the spec file at `path` (relative paths in it resolve against its directory).
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpecError::at(
                "",
                format!("cannot read the spec file ({e}); give the path of a readable YAML file"),
            )
            .in_file(path)
        })?;
        let base = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Self::from_yaml(&text, &base).map_err(|e| e.in_file(path))
    }

    /// Parses and validates a spec from YAML (or JSON) `text`; relative paths resolve against
    /// `base_dir`.
    pub fn from_yaml(text: &str, base_dir: &Path) -> Result<Self, SpecError> {
        let raw: RawSpec =
            serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text))
                .map_err(parse_error)?;
        let spec = raw.into_spec(base_dir)?;
        spec.validate()?;
        Ok(spec)
    }
}

/// The parser's error with its key path and position, and a fix for the common cases.
fn parse_error(e: serde_path_to_error::Error<serde_norway::Error>) -> SpecError {
    // A syntax error leaves an unknown last segment (`functions.?`): name the known part.
    let mut key = e.path().to_string();
    while let Some(known) = key.strip_suffix(".?") {
        key = known.to_owned();
    }
    if key == "." || key == "?" {
        key.clear();
    }
    let inner = e.inner();
    let location = inner.location().map(|l| (l.line(), l.column()));
    let mut message = inner.to_string();
    // serde_norway appends "at line L column C" (and may prefix the path): both are shown apart.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // ... and may start with the path of the map the error is in.
    if let Some((path, rest)) = message.split_once(": ")
        && !path.contains(' ')
        && key.starts_with(path)
    {
        message = rest.to_owned();
    }
    let fix = if message.contains("written twice") {
        ""
    } else if message.contains("unknown field") {
        "; remove or rename the key (the README's spec section lists every key)"
    } else if message.contains("missing field") {
        "; add the key"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "; give the value the type shown"
    } else {
        "; fix the YAML syntax there"
    };
    SpecError {
        file: None,
        location,
        key,
        message: format!("{message}{fix}"),
    }
}

fn resolve(base: &Path, path: &Path) -> Code {
    Code::from_path(base.join(path))
}

fn text_map(map: Unique<String, Text>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, Text(v))| (k, v)).collect()
}

/// Parses a timeout as the `--timeout` flag does: seconds (`3`) or a duration (`3s`, `1m`).
fn parse_timeout(key: &str, s: &str) -> Result<Duration, SpecError> {
    let t = s.trim();
    match t.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(t).map_err(|_| {
            SpecError::at(
                key,
                format!("{s:?} is not a duration; use seconds (3) or a duration (3s, 1m)"),
            )
        }),
    }
}

fn parse_format(key: &str, Text(s): &Text) -> Result<PayloadFormat, SpecError> {
    s.parse()
        .map_err(|e: crate::api::gateway::RouteError| SpecError::at(key, e.to_string()))
}

impl RawSpec {
    fn into_spec(self, base: &Path) -> Result<LabSpec, SpecError> {
        let region = self.region.as_deref().unwrap_or(DEFAULT_REGION);
        let scope = ArnScope::new("aws", region, DEFAULT_ACCOUNT)
            .map_err(|e| SpecError::at("region", format!("{e}")))?;
        let scope = match &self.account {
            None => scope,
            Some(Text(account)) => ArnScope::new("aws", region, account)
                .map_err(|e| SpecError::at("account", format!("{e} (quote it in YAML)")))?,
        };
        let default_format = match &self.payload_format {
            Some(f) => parse_format("payload_format", f)?,
            None => PayloadFormat::default(),
        };
        let mut layers = BTreeMap::new();
        for (name, layer) in self.layers {
            let key = format!("layers.{name}");
            let name = LayerName::parse(&name).map_err(|e| SpecError::at(&key, e.to_string()))?;
            layers.insert(
                name,
                LayerSpec {
                    content: resolve(base, &layer.content),
                },
            );
        }
        let mut functions = BTreeMap::new();
        for (name, raw) in self.functions {
            let key = format!("functions.{name}");
            let fname =
                FunctionName::parse(&name).map_err(|e| SpecError::at(&key, e.to_string()))?;
            functions.insert(fname, raw.into_function(&key, base)?);
        }
        let mut routes = Vec::with_capacity(self.routes.len());
        for (i, raw) in self.routes.into_iter().enumerate() {
            let key = format!("routes[{i}]");
            let format = match &raw.payload_format {
                Some(f) => parse_format(&format!("{key}.payload_format"), f)?,
                None => default_format,
            };
            let mut route = Route::parse(&raw.route, format)
                .map_err(|e| SpecError::at(format!("{key}.route"), e.to_string()))?;
            route.stream = match raw.transfer_mode.as_deref() {
                None | Some("BUFFERED") => false,
                Some("STREAM") if route.format == PayloadFormat::V1 => true,
                Some("STREAM") => {
                    return Err(SpecError::at(
                        format!("{key}.transfer_mode"),
                        "STREAM is a REST API's response transfer mode: give the route payload_format 1.0",
                    ));
                }
                Some(other) => {
                    return Err(SpecError::at(
                        format!("{key}.transfer_mode"),
                        format!("{other:?} is invalid: use BUFFERED or STREAM"),
                    ));
                }
            };
            let (function, qualifier) = parse_target(&format!("{key}.target"), &raw.target)?;
            routes.push(RouteSpec {
                route,
                function,
                qualifier,
            });
        }
        Ok(LabSpec {
            functions,
            layers,
            routes,
            seed: self.seed,
            scope,
        })
    }
}

/// `function` or `function:qualifier`.
pub(super) fn parse_target(
    key: &str,
    target: &str,
) -> Result<(FunctionName, Option<Qualifier>), SpecError> {
    let fix = "; write function or function:qualifier, e.g. hello:live or hello:2";
    let (name, qualifier) = match target.split_once(':') {
        Some((n, q)) => (n, Some(q)),
        None => (target, None),
    };
    let function =
        FunctionName::parse(name).map_err(|e| SpecError::at(key, format!("{e}{fix}")))?;
    let qualifier = qualifier
        .map(Qualifier::parse)
        .transpose()
        .map_err(|e| SpecError::at(key, format!("{e}{fix}")))?;
    Ok((function, qualifier))
}

impl RawFunction {
    fn into_function(self, key: &str, base: &Path) -> Result<FunctionSpec, SpecError> {
        let mut f = FunctionSpec::new(
            resolve(base, &self.code),
            self.handler.unwrap_or_else(|| "bootstrap".into()),
        );
        f.runtime = self.runtime.unwrap_or_else(|| DEFAULT_RUNTIME.into());
        f.command = self.command;
        f.stream_bandwidth_cap = self.stream_bandwidth_cap.unwrap_or(true);
        if let Some(memory) = self.memory {
            f.memory_mb = memory;
        }
        if let Some(Text(t)) = &self.timeout {
            f.timeout = parse_timeout(&format!("{key}.timeout"), t)?;
        }
        f.environment = text_map(self.environment);
        for (i, layer) in self.layers.iter().enumerate() {
            let name = LayerName::parse(layer)
                .map_err(|e| SpecError::at(format!("{key}.layers[{i}]"), e.to_string()))?;
            f.layers.push(name);
        }
        f.reserved_concurrency = self.reserved_concurrency;
        if let Some(url) = self.url {
            let invoke_mode = match url.invoke_mode.as_deref() {
                None => InvokeMode::default(),
                Some(m) => m
                    .parse()
                    .map_err(|e: String| SpecError::at(format!("{key}.url.invoke_mode"), e))?,
            };
            let qualifier = url
                .qualifier
                .map(|Text(q)| Qualifier::parse(&q))
                .transpose()
                .map_err(|e| SpecError::at(format!("{key}.url.qualifier"), e.to_string()))?;
            f.url = Some(UrlSpec {
                invoke_mode,
                qualifier,
            });
        }
        for v in self.versions {
            let mut environment = f.environment.clone();
            environment.extend(text_map(v.environment));
            f.versions.push(VersionSpec {
                code: v.code.map_or_else(|| f.code.clone(), |c| resolve(base, &c)),
                environment,
            });
        }
        for (alias, raw) in self.aliases {
            let akey = format!("{key}.aliases.{alias}");
            let name = AliasName::parse(&alias).map_err(|e| SpecError::at(&akey, e.to_string()))?;
            if raw.weights.0.len() > 1 {
                return Err(SpecError::at(
                    format!("{akey}.weights"),
                    "names more than one version; Lambda routes to `version` and at most one additional version: keep one entry",
                ));
            }
            // The model checks the routing (weights, $LATEST, published versions).
            let routing = Routing {
                primary: raw.version.0,
                additional: raw.weights.into_iter().next().map(|(Text(v), w)| (v, w)),
            };
            f.aliases.insert(name, routing);
        }
        Ok(f)
    }
}
