//! Detection of the HTTP payload kind of a raw invoke event (DESIGN.md, "Where the header goes":
//! REST API / HTTP API payload 1.0 (`httpMethod`), HTTP API 2.0 and function URLs
//! (`"version": "2.0"`), ALB (`requestContext.elb`)).

use serde_json::Value;

/// The payload kind of an invoke event, which decides how a response is tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// API Gateway REST API proxy integration (payload 1.0 without `version`).
    RestV1,
    /// API Gateway HTTP API with payload format 1.0 (`"version": "1.0"`).
    HttpV1,
    /// API Gateway HTTP API payload 2.0 or a Lambda function URL (`"version": "2.0"`).
    HttpV2,
    /// Application Load Balancer target group (`requestContext.elb`).
    Alb,
    /// Anything else (other event sources, non-objects): responses pass through untouched.
    Other,
}

impl EventKind {
    /// True for the kinds whose responses carry HTTP headers (everything but [`EventKind::Other`]).
    pub fn is_http(self) -> bool {
        self != Self::Other
    }
}

/// Classifies a raw event. A member whose value is `null` counts as absent (emulators such as
/// `cargo lambda watch` send function URL events with `"methodArn": null`). Lambda authorizer
/// events (with `methodArn`/`routeArn`) are [`EventKind::Other`]. ALB is checked first (its events also carry `httpMethod`), then
/// `version` `"2.0"` (HTTP API 2.0, function URLs), then `httpMethod` (payload 1.0, with
/// `"version": "1.0"` for HTTP APIs).
pub fn event_kind(event: &Value) -> EventKind {
    let Some(obj) = event.as_object() else {
        return EventKind::Other;
    };
    // Lambda authorizer events (REST `methodArn`, HTTP API `routeArn`) look like proxy events
    // but their responses are IAM policies or `{"isAuthorized": ..}`, not HTTP responses.
    let present = |key: &str| obj.get(key).is_some_and(|v| !v.is_null());
    if present("methodArn") || present("routeArn") {
        return EventKind::Other;
    }
    let context = obj.get("requestContext").and_then(Value::as_object);
    if context.is_some_and(|c| c.get("elb").is_some_and(Value::is_object)) {
        return EventKind::Alb;
    }
    let version = obj.get("version").and_then(Value::as_str);
    if version == Some("2.0")
        && context.is_some_and(|c| c.get("http").is_some_and(Value::is_object))
    {
        return EventKind::HttpV2;
    }
    if obj.get("httpMethod").is_some_and(Value::is_string) {
        return if version == Some("1.0") {
            EventKind::HttpV1
        } else {
            EventKind::RestV1
        };
    }
    EventKind::Other
}
