//! API Gateway routes (`GET /hello`, `ANY /{proxy+}`, `$default`) and how a request path picks
//! one: as API Gateway does, the most specific route wins (a method over `ANY`, literal segments
//! over parameters, a parameter over a greedy `{name+}`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The payload format version of a route's Lambda integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadFormat {
    /// REST API proxy integration (payload 1.0).
    #[default]
    V1,
    /// HTTP API payload 2.0 (also function URLs).
    V2,
}

impl FromStr for PayloadFormat {
    type Err = RouteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.0" | "1" => Ok(Self::V1),
            "2.0" | "2" => Ok(Self::V2),
            other => Err(RouteError::PayloadFormat(other.to_owned())),
        }
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V1 => "1.0",
            Self::V2 => "2.0",
        })
    }
}

/// A route that the front door refuses, naming the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not `METHOD /path` nor `$default`.
    #[error(
        "route {0:?} is invalid: use 'METHOD /path' (e.g. 'GET /hello', 'ANY /{{proxy+}}') or '$default'"
    )]
    Syntax(String),
    /// A method API Gateway does not know.
    #[error(
        "route {0:?} has an unknown method: use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY"
    )]
    Method(String),
    /// A path segment that is not a literal, `{name}` or a final `{name+}`.
    #[error(
        "route {0:?} has an invalid path segment: use literals, {{name}}, or {{name+}} as the last segment"
    )]
    Segment(String),
    /// A payload format other than 1.0 or 2.0.
    #[error("payload format {0:?} is invalid: use 1.0 or 2.0")]
    PayloadFormat(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// One route: `METHOD /path/{param}/{proxy+}` (or `$default`) with its payload format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `None` for `ANY`.
    method: Option<String>,
    /// `None` for `$default`.
    segments: Option<Vec<Segment>>,
    /// The resource path as written (`/items/{id}`), or `$default`.
    resource: String,
    /// Payload format of this route's integration.
    pub format: PayloadFormat,
    /// The function and qualifier the integration invokes; `None`: the front door's default.
    pub target: Option<RouteTarget>,
    /// A REST API's stage as its URLs carry it (`Prod` for `/Prod/hello`): the request path
    /// must start with `/{stage}` and the rest is matched (and is the event's `path`). `None`:
    /// the path is matched as it is (the lab's own routes, and HTTP APIs' `$default` stage).
    pub stage: Option<String>,
    /// A REST route's response transfer mode is `STREAM`: the integration invokes with
    /// `InvokeWithResponseStream` and streams the function's HTTP-integration response (prelude,
    /// 8 NULs, body) to the client as it comes, as a function URL in `RESPONSE_STREAM` mode does.
    pub stream: bool,
}

/// What a route's integration invokes: a function at a qualifier (`None`: `$LATEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTarget {
    /// The function's name.
    pub function: String,
    /// Its version or alias.
    pub qualifier: Option<String>,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Route {
    /// Parses `GET /hello`, `ANY /{proxy+}` or `$default`, with a `@2.0` / `@1.0` suffix
    /// overriding `default_format` (e.g. `GET /hello@2.0`).
    pub fn parse(spec: &str, default_format: PayloadFormat) -> Result<Self, RouteError> {
        let (spec_body, format) = match spec.rsplit_once('@') {
            Some((body, f)) => (body.trim(), f.trim().parse()?),
            None => (spec.trim(), default_format),
        };
        if spec_body == "$default" {
            return Ok(Self {
                method: None,
                segments: None,
                resource: "$default".into(),
                format,
                target: None,
                stage: None,
                stream: false,
            });
        }
        let (method, path) = spec_body
            .split_once(' ')
            .ok_or_else(|| RouteError::Syntax(spec.to_owned()))?;
        let method = method.trim().to_ascii_uppercase();
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(RouteError::Syntax(spec.to_owned()));
        }
        let method = match method.as_str() {
            "ANY" => None,
            m if METHODS.contains(&m) => Some(method),
            _ => return Err(RouteError::Method(spec.to_owned())),
        };
        let parts: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(g) if i + 1 == parts.len() && valid_name(g) => Segment::Greedy(g.into()),
                    None if valid_name(name) => Segment::Param(name.into()),
                    _ => return Err(RouteError::Segment(spec.to_owned())),
                },
                None if !part.contains(['{', '}']) => Segment::Literal((*part).into()),
                None => return Err(RouteError::Segment(spec.to_owned())),
            };
            segments.push(segment);
        }
        Ok(Self {
            method,
            segments: Some(segments),
            resource: path.to_owned(),
            format,
            target: None,
            stage: None,
            stream: false,
        })
    }

    /// The resource path (`resource` in payload 1.0), e.g. `/items/{id}`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The route key (`routeKey` in payload 2.0): `GET /items/{id}`, `ANY /{proxy+}`, `$default`.
    pub fn route_key(&self) -> String {
        match (&self.segments, &self.method) {
            (None, _) => "$default".into(),
            (Some(_), Some(m)) => format!("{m} {}", self.resource),
            (Some(_), None) => format!("ANY {}", self.resource),
        }
    }

    /// The part of `path` this route matches: after its stage, if it has one (`None` when the
    /// path is not under the stage).
    fn staged<'p>(&self, path: &'p str) -> Option<&'p str> {
        let Some(stage) = &self.stage else {
            return Some(path);
        };
        let rest = path.strip_prefix('/')?.strip_prefix(stage.as_str())?;
        match rest {
            "" => Some("/"),
            r if r.starts_with('/') => Some(r),
            _ => None,
        }
    }

    /// Matches `method` and the raw `path`; returns the path parameters on a match.
    fn matches(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return None;
        }
        let path = self.staged(path)?;
        let Some(segments) = &self.segments else {
            return Some(BTreeMap::new());
        };
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut params = BTreeMap::new();
        for (i, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Literal(l) => (parts.get(i)? == l).then_some(())?,
                Segment::Param(name) => {
                    let value = parts.get(i).filter(|v| !v.is_empty())?;
                    params.insert(name.clone(), (*value).to_owned());
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                    params.insert(name.clone(), rest);
                    return Some(params);
                }
            }
        }
        (parts.len() == segments.len()).then_some(params)
    }

    /// Specificity: `$default` lowest; then literal segments, then plain parameters, then a
    /// specific method over `ANY`.
    fn rank(&self) -> (bool, bool, usize, usize, bool) {
        let Some(segments) = &self.segments else {
            return (false, false, 0, 0, false);
        };
        let literals = segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let greedy = segments.iter().any(|s| matches!(s, Segment::Greedy(_)));
        (
            true,
            !greedy,
            literals,
            segments.len(),
            self.method.is_some(),
        )
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A route picked for a request, with the path parameters it bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// The route.
    pub route: &'a Route,
    /// Path parameters by name (raw, as in the request path).
    pub path_parameters: BTreeMap<String, String>,
    /// The request path after the route's stage (the whole path when it has none).
    pub path: String,
}

/// The routes of one API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes`.
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// The same routes, those without a target now targeting `target`.
    pub fn targeting(mut self, target: &RouteTarget) -> Self {
        for route in &mut self.routes {
            route.target.get_or_insert_with(|| target.clone());
        }
        self
    }

    /// The routes, in configuration order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The most specific route matching `method` and `path`, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        self.routes
            .iter()
            .filter_map(|route| {
                route
                    .matches(method, path)
                    .map(|path_parameters| RouteMatch {
                        route,
                        path_parameters,
                        path: route.staged(path).unwrap_or(path).to_owned(),
                    })
            })
            .max_by_key(|m| m.route.rank())
    }
}

/// A route table replaced while the front door serves (a stack's update changes its APIs'
/// routes): each request reads the table current when it arrives.
#[derive(Debug, Default)]
pub struct LiveRoutes(std::sync::RwLock<std::sync::Arc<RouteTable>>);

impl LiveRoutes {
    /// Serving `table`.
    pub fn new(table: RouteTable) -> Self {
        Self(std::sync::RwLock::new(std::sync::Arc::new(table)))
    }

    /// The table now.
    pub fn current(&self) -> std::sync::Arc<RouteTable> {
        std::sync::Arc::clone(
            &self
                .0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Serves `table` from the next request on.
    pub fn replace(&self, table: RouteTable) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_without_a_target_get_the_default_one() {
        let target = |f: &str, q: Option<&str>| RouteTarget {
            function: f.into(),
            qualifier: q.map(str::to_owned),
        };
        let mut own = Route::parse("GET /other", PayloadFormat::V2).unwrap();
        own.target = Some(target("other", None));
        let plain = Route::parse("GET /hello", PayloadFormat::V2).unwrap();
        let table = RouteTable::new(vec![plain, own]).targeting(&target("hello", Some("live")));
        let targets: Vec<_> = table.routes.iter().map(|r| r.target.clone()).collect();
        assert_eq!(
            targets,
            [
                Some(target("hello", Some("live"))),
                Some(target("other", None))
            ]
        );
    }

    fn table(specs: &[&str]) -> RouteTable {
        RouteTable::new(
            specs
                .iter()
                .map(|s| Route::parse(s, PayloadFormat::V1).unwrap())
                .collect(),
        )
    }

    #[test]
    fn a_staged_route_matches_under_its_stage_only() {
        let mut rest = Route::parse("GET /hello", PayloadFormat::V1).unwrap();
        rest.stage = Some("Prod".into());
        let http = Route::parse("GET /hello", PayloadFormat::V2).unwrap();
        let proxy = Route::parse("ANY /{proxy+}", PayloadFormat::V2).unwrap();
        let table = RouteTable::new(vec![rest, http, proxy]);
        let m = table.find("GET", "/Prod/hello").unwrap();
        assert_eq!(
            (m.route.format, m.path.as_str()),
            (PayloadFormat::V1, "/hello")
        );
        let m = table.find("GET", "/hello").unwrap();
        assert_eq!(
            (m.route.format, m.path.as_str()),
            (PayloadFormat::V2, "/hello")
        );
        // Not under the stage (a longer first segment): the HTTP API's proxy takes it.
        let m = table.find("GET", "/Production/hello").unwrap();
        assert_eq!(m.route.resource(), "/{proxy+}");
        assert_eq!(m.path, "/Production/hello");
    }

    #[test]
    fn parses_routes_and_keys() {
        let cases = [
            ("GET /hello", "GET /hello", "/hello", PayloadFormat::V1),
            (
                "any /{proxy+}",
                "ANY /{proxy+}",
                "/{proxy+}",
                PayloadFormat::V1,
            ),
            (
                "POST /items/{id}@2.0",
                "POST /items/{id}",
                "/items/{id}",
                PayloadFormat::V2,
            ),
            ("$default", "$default", "$default", PayloadFormat::V1),
            ("GET /", "GET /", "/", PayloadFormat::V1),
        ];
        for (spec, key, resource, format) in cases {
            let route = Route::parse(spec, PayloadFormat::V1).unwrap();
            assert_eq!(route.route_key(), key, "{spec}");
            assert_eq!(route.resource(), resource, "{spec}");
            assert_eq!(route.format, format, "{spec}");
        }
    }

    #[test]
    fn refuses_bad_routes_naming_them() {
        let cases = [
            ("/hello", RouteError::Syntax("/hello".into())),
            ("GET hello", RouteError::Syntax("GET hello".into())),
            ("FETCH /x", RouteError::Method("FETCH /x".into())),
            (
                "GET /{proxy+}/x",
                RouteError::Segment("GET /{proxy+}/x".into()),
            ),
            ("GET /a{b}", RouteError::Segment("GET /a{b}".into())),
            ("GET /{}", RouteError::Segment("GET /{}".into())),
            ("GET /x@3.0", RouteError::PayloadFormat("3.0".into())),
        ];
        for (spec, want) in cases {
            let err = Route::parse(spec, PayloadFormat::V1).unwrap_err();
            assert_eq!(err, want);
            assert!(err.to_string().contains(spec) || spec.ends_with("3.0"));
        }
    }

    #[test]
    fn most_specific_route_wins() {
        let t = table(&[
            "ANY /{proxy+}",
            "GET /items/{id}",
            "GET /items/special",
            "ANY /items/{id}",
            "GET /",
        ]);
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<(&'a str, &'a [(&'a str, &'a str)])>,
        );
        let cases: &[Case<'_>] = &[
            ("GET", "/items/special", Some(("GET /items/special", &[]))),
            ("GET", "/items/7", Some(("GET /items/{id}", &[("id", "7")]))),
            (
                "POST",
                "/items/7",
                Some(("ANY /items/{id}", &[("id", "7")])),
            ),
            (
                "GET",
                "/a/b/c",
                Some(("ANY /{proxy+}", &[("proxy", "a/b/c")])),
            ),
            ("GET", "/", Some(("GET /", &[]))),
            ("POST", "/", None),
            (
                "GET",
                "/items/",
                Some(("ANY /{proxy+}", &[("proxy", "items/")])),
            ),
        ];
        for (method, path, want) in cases {
            let got = t
                .find(method, path)
                .map(|m| (m.route.route_key(), m.path_parameters));
            let want = want.map(|(key, params)| {
                (
                    key.to_string(),
                    params
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                )
            });
            assert_eq!(got, want, "{method} {path}");
        }
    }

    #[test]
    fn default_route_catches_the_rest() {
        let t = table(&["GET /hello", "$default"]);
        assert_eq!(
            t.find("GET", "/hello").unwrap().route.route_key(),
            "GET /hello"
        );
        assert_eq!(
            t.find("DELETE", "/x/y").unwrap().route.route_key(),
            "$default"
        );
        assert!(table(&["GET /hello"]).find("GET", "/nope").is_none());
    }
}
