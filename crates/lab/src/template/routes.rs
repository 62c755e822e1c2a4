//! The front door's routes from a stack's APIs: the OpenAPI `Body` SAM writes into
//! `AWS::ApiGatewayV2::Api` (HTTP APIs, payload 2.0 unless the integration says otherwise) and
//! `AWS::ApiGateway::RestApi` (REST APIs, payload 1.0, served under their stage: `/Prod/...`),
//! each path and method integrated with the function (and alias) its Lambda proxy
//! integration's `uri` names; an HTTP API's `$default` path is its catch-all route.

use serde_json::Value;

use super::live::LiveStack;
use crate::api::gateway::{PayloadFormat, Route, RouteTarget};

/// A route the lab could not serve, and why (listed on start and in the deploy's events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRoute {
    /// The API's logical id.
    pub api: String,
    /// `GET /hello`.
    pub route: String,
    /// Why.
    pub reason: String,
}

/// Every route of every API of `stack`, in logical-id then path order.
pub fn stack_routes(stack: &LiveStack) -> (Vec<Route>, Vec<SkippedRoute>) {
    let mut routes = Vec::new();
    let mut skipped = Vec::new();
    for (logical_id, live) in &stack.resources {
        let format = match live.resource_type.as_str() {
            "AWS::ApiGatewayV2::Api" => PayloadFormat::V2,
            "AWS::ApiGateway::RestApi" => PayloadFormat::V1,
            _ => continue,
        };
        let stage = match format {
            PayloadFormat::V1 => Some(rest_stage(stack, &live.physical_id)),
            PayloadFormat::V2 => http_stage(stack, &live.physical_id),
        };
        let Some(paths) = live
            .properties
            .pointer("/Body/paths")
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (path, methods) in paths {
            let Some(methods) = methods.as_object() else {
                continue;
            };
            for (method, operation) in methods {
                let method = match method.as_str() {
                    "x-amazon-apigateway-any-method" => "ANY".to_owned(),
                    m if m.starts_with("x-") || m == "parameters" => continue,
                    m => m.to_ascii_uppercase(),
                };
                // `$default` (SAM's HttpApi event without a path) is the catch-all route,
                // whatever its method says.
                let key = if path == "$default" {
                    path.clone()
                } else {
                    format!("{method} {path}")
                };
                let integration = operation.get("x-amazon-apigateway-integration");
                let uri = integration
                    .and_then(|i| i.get("uri"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(target) = lambda_target(uri) else {
                    skipped.push(SkippedRoute {
                        api: logical_id.clone(),
                        route: key,
                        reason: format!(
                            "its integration is not a Lambda proxy integration ({uri:?})"
                        ),
                    });
                    continue;
                };
                let format = match integration
                    .and_then(|i| i.get("payloadFormatVersion"))
                    .and_then(Value::as_str)
                {
                    Some("1.0") => PayloadFormat::V1,
                    Some("2.0") => PayloadFormat::V2,
                    _ => format,
                };
                match Route::parse(&key, format) {
                    Ok(mut route) => {
                        route.target = Some(target);
                        route.stage.clone_from(&stage);
                        routes.push(route);
                    }
                    Err(e) => skipped.push(SkippedRoute {
                        api: logical_id.clone(),
                        route: key,
                        reason: e.to_string(),
                    }),
                }
            }
        }
    }
    (routes, skipped)
}

/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations`
/// -> the function and qualifier.
pub fn lambda_target(uri: &str) -> Option<RouteTarget> {
    let (_, rest) = uri.split_once("/functions/")?;
    let arn = rest.strip_suffix("/invocations")?;
    let (_, name) = arn.split_once(":function:")?;
    let (function, qualifier) = match name.split_once(':') {
        Some((f, q)) => (f.to_owned(), Some(q.to_owned())),
        None => (name.to_owned(), None),
    };
    Some(RouteTarget {
        function,
        qualifier,
    })
}

/// The stage of REST API `api_id`: the `StageName` of its `AWS::ApiGateway::Stage` (SAM's
/// `Prod` when none says).
fn rest_stage(stack: &LiveStack, api_id: &str) -> String {
    stack
        .resources
        .values()
        .filter(|r| r.resource_type == "AWS::ApiGateway::Stage")
        .filter(|r| r.properties.get("RestApiId").and_then(Value::as_str) == Some(api_id))
        .find_map(|r| r.properties.get("StageName").and_then(Value::as_str))
        .unwrap_or("Prod")
        .to_owned()
}

/// The stage of HTTP API `api_id` in its URLs: none for `$default`.
fn http_stage(stack: &LiveStack, api_id: &str) -> Option<String> {
    stack
        .resources
        .values()
        .filter(|r| r.resource_type == "AWS::ApiGatewayV2::Stage")
        .filter(|r| r.properties.get("ApiId").and_then(Value::as_str) == Some(api_id))
        .find_map(|r| r.properties.get("StageName").and_then(Value::as_str))
        .filter(|s| *s != "$default")
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack with one HTTP API whose body has `paths`, each integrated with `demo-Fn`.
    fn http_api(paths: &[&str]) -> LiveStack {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:demo-Fn/invocations";
        let operation = serde_json::json!({"x-amazon-apigateway-any-method": {
            "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": uri}}});
        let body: serde_json::Map<String, Value> = paths
            .iter()
            .map(|p| ((*p).to_owned(), operation.clone()))
            .collect();
        let mut stack = LiveStack::new(
            cloudformation::Pseudo::for_stack("us-east-1", "123456789012", "demo", "1"),
            "template.json".into(),
        );
        stack.resources.insert(
            "Api".into(),
            super::super::live::LiveResource {
                resource_type: "AWS::ApiGatewayV2::Api".into(),
                physical_id: "abc".into(),
                ref_value: Value::Null,
                attributes: Default::default(),
                properties: serde_json::json!({"Body": {"paths": body}}),
                deletion_policy: None,
                update_replace_policy: None,
                emulated: true,
            },
        );
        stack
    }

    #[test]
    fn an_http_apis_default_route_catches_what_no_other_route_matches() {
        let (routes, skipped) = stack_routes(&http_api(&["$default", "/hello"]));
        assert!(skipped.is_empty(), "{skipped:?}");
        let keys: Vec<String> = routes.iter().map(Route::route_key).collect();
        assert_eq!(keys, ["$default", "ANY /hello"]);
        let table = crate::api::gateway::RouteTable::new(routes);
        let found = |path| table.find("POST", path).map(|m| m.route.route_key());
        assert_eq!(found("/hello").as_deref(), Some("ANY /hello"));
        assert_eq!(found("/any/other").as_deref(), Some("$default"));
    }

    #[test]
    fn a_lambda_proxy_uri_names_the_function_and_alias() {
        let t = lambda_target(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:demo-Hello-ABC:live/invocations",
        )
        .unwrap();
        assert_eq!(t.function, "demo-Hello-ABC");
        assert_eq!(t.qualifier.as_deref(), Some("live"));
        assert!(lambda_target("http://example.com/").is_none());
    }
}
