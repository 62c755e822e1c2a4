//! `GetAlias` and `UpdateAlias` of the Lambda API (`2015-03-31`), so that
//! `aws lambda get-alias` / `update-alias --routing-config ... --endpoint-url` work against the
//! lab (LAMBDA-FACTS §7): `GET|PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use super::InvokeApi;
use super::error::{ApiError, Kind, not_found};
use crate::api::http::json_response;
use std::sync::Arc;

use protocol::lambda_api::{AliasName, CreateAliasRequest, ListQuery};

use super::versions::page;
use crate::control::alias::{Alias, AliasError, Routing, RoutingChange};
use crate::control::aliases::AliasOperationError;

/// The `GetAlias` / `UpdateAlias` response document of `alias`, whose ARN is `alias_arn`.
pub fn alias_document(alias_arn: &str, alias: &Alias) -> Value {
    let routing = alias.routing();
    let weights: BTreeMap<String, f64> = routing.additional.into_iter().collect();
    json!({
        "AliasArn": alias_arn,
        "Description": "",
        "FunctionVersion": routing.primary,
        "Name": alias.name(),
        "RevisionId": alias.revision_id(),
        "RoutingConfig": {"AdditionalVersionWeights": weights},
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateAliasRequest {
    function_version: Option<String>,
    routing_config: Option<RoutingConfig>,
    revision_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoutingConfig {
    #[serde(default)]
    additional_version_weights: BTreeMap<String, f64>,
}

/// Applies an `UpdateAlias` request body to `alias`: `FunctionVersion` and `RoutingConfig`
/// default to the current ones; `RevisionId`, when given, must be the current one.
pub fn update_alias(alias: &Alias, body: &[u8]) -> Result<RoutingChange, ApiError> {
    let change = alias_update(alias, body)?;
    alias
        .set_routing_if(
            change.revision_id.as_deref(),
            change.primary,
            change.additional,
        )
        .map_err(alias_error)
}

/// An `UpdateAlias` request, with its defaults taken from the alias's current routing.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasUpdate {
    /// `RevisionId`, when given.
    pub revision_id: Option<String>,
    /// The primary version.
    pub primary: String,
    /// The additional version and its weight.
    pub additional: Option<(String, f64)>,
}

/// Reads an `UpdateAlias` request body against `alias`'s current routing.
pub fn alias_update(alias: &Alias, body: &[u8]) -> Result<AliasUpdate, ApiError> {
    let request: UpdateAliasRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            Kind::InvalidRequestContent,
            format!("Could not parse request body into json: {e}"),
        )
    })?;
    let current = alias.routing();
    let primary = request.function_version.unwrap_or(current.primary);
    let additional = match request.routing_config {
        None => current.additional,
        Some(config) => {
            if config.additional_version_weights.len() > 1 {
                return Err(alias_error(AliasError::TooManyAdditionalVersions));
            }
            config.additional_version_weights.into_iter().next()
        }
    };
    Ok(AliasUpdate {
        revision_id: request.revision_id,
        primary,
        additional,
    })
}

/// The Lambda API error for a refused alias change.
pub fn alias_error(e: AliasError) -> ApiError {
    let kind = match e {
        AliasError::RevisionMismatch => Kind::PreconditionFailed,
        AliasError::UnknownVersion(_) => Kind::ResourceNotFound,
        _ => Kind::InvalidParameterValue,
    };
    ApiError::new(kind, e.to_string())
}

impl InvokeApi {
    /// `GetAlias`, or `UpdateAlias` with its request `body`.
    pub(super) async fn alias_operation(
        &self,
        function: &str,
        name: &str,
        update: Option<Incoming>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        // The function by name, ARN or partial ARN, as Lambda takes it.
        let action = if update.is_some() {
            "lambda:UpdateAlias"
        } else {
            "lambda:GetAlias"
        };
        let function = &self.unqualified_name(function, action)?;
        let alias_arn = self.arn(function, Some(name));
        let alias = self
            .registry
            .alias(function, name)
            .map_err(|_| not_found("Alias", &alias_arn))?;
        if let Some(body) = update {
            let body = Limited::new(body, 64 * 1024)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .map_err(|_| {
                    ApiError::new(
                        Kind::RequestTooLarge,
                        "UpdateAlias request body is too large",
                    )
                })?;
            let u = alias_update(&alias, &body)?;
            let revision = u.revision_id.as_deref();
            self.registry
                .update_alias(function, name, revision, u.primary, u.additional)
                .map_err(|e| match e {
                    AliasOperationError::NotFound(e) => ApiError::from(e),
                    AliasOperationError::Refused(e) => alias_error(e),
                })?;
        }
        let document = alias_document(&alias_arn, &alias);
        Ok(json_response(StatusCode::OK, document.to_string()))
    }
}

impl InvokeApi {
    /// `CreateAlias` (201): `FunctionVersion`, `RoutingConfig.AdditionalVersionWeights`.
    pub(super) async fn create_alias(
        &self,
        function: &str,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let function = self.unqualified_name(function, "lambda:CreateAlias")?;
        let request: CreateAliasRequest = self.read_body(body, "CreateAlias").await?;
        let name = AliasName::parse(&request.name)
            .map_err(|e| ApiError::new(Kind::Validation, e.to_string()))?;
        let weights = request
            .routing_config
            .map(|c| c.additional_version_weights)
            .unwrap_or_default();
        let routing =
            Routing::from_weights(request.function_version, &weights).map_err(alias_error)?;
        let arn = self.arn(&function, Some(name.as_str()));
        let alias = self
            .registry
            .create_alias(&function, name.as_str(), routing, arn.clone())
            .map_err(|e| match e {
                AliasOperationError::NotFound(e) => ApiError::from(e),
                // On CreateAlias an unpublished additional version is a bad parameter.
                AliasOperationError::Refused(e @ AliasError::UnknownVersion(_)) => {
                    ApiError::new(Kind::InvalidParameterValue, e.to_string())
                }
                AliasOperationError::Refused(e) => alias_error(e),
            })?;
        let document = alias_document(&arn, &alias);
        Ok(json_response(StatusCode::CREATED, document.to_string()))
    }

    /// `DeleteAlias` (204): invocations already routed finish; new ones find no alias.
    pub(super) fn delete_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let function = self.unqualified_name(function, "lambda:DeleteAlias")?;
        self.registry
            .delete_alias(&function, name)
            .map_err(|_| not_found("Alias", self.arn(&function, Some(name))))?;
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok(response)
    }

    /// `ListAliases`: `Marker`/`MaxItems` paging, `FunctionVersion` filter (either side of
    /// a weighted alias).
    pub(super) fn list_aliases(
        &self,
        function: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let function = self.unqualified_name(function, "lambda:ListAliases")?;
        let filter = ListQuery::parse(query.unwrap_or(""))
            .map_err(|e| ApiError::new(Kind::InvalidParameterValue, e.to_string()))?
            .function_version;
        let aliases: Vec<Arc<Alias>> = self
            .registry
            .aliases(&function)
            .map_err(|_| not_found("Function", self.arn(&function, None)))?
            .into_iter()
            .filter(|a| {
                filter
                    .as_deref()
                    .is_none_or(|v| a.routing().versions().any(|x| x == v))
            })
            .collect();
        let (items, next) = page(&aliases, query)?;
        let documents: Vec<Value> = items
            .iter()
            .map(|a| alias_document(&self.arn(&function, Some(a.name())), a))
            .collect();
        let mut body = json!({ "Aliases": documents });
        if let Some(next) = next {
            body["NextMarker"] = json!(next);
        }
        Ok(json_response(StatusCode::OK, body.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::alias::Routing;
    use crate::invoke::{InvokeFuture, InvokeRequest, Invoker};

    struct Never;

    impl Invoker for Never {
        fn invoke(&self, _: InvokeRequest) -> InvokeFuture<'_> {
            Box::pin(async { Err(crate::invoke::InvokeError::NotFound("never".into())) })
        }
    }

    fn alias() -> Alias {
        let versions = ["1", "2", "3"]
            .iter()
            .map(|v| ((*v).to_owned(), Arc::new(Never) as Arc<dyn Invoker>))
            .collect();
        Alias::new("live", versions, Routing::single("1"), 0).unwrap()
    }

    #[test]
    fn update_then_get() {
        let alias = alias();
        let revision = alias.revision_id();
        let body = json!({"RoutingConfig": {"AdditionalVersionWeights": {"2": 0.05}}, "RevisionId": revision});
        let change = update_alias(&alias, body.to_string().as_bytes()).unwrap();
        assert_eq!(change.after.additional, Some(("2".into(), 0.05)));
        let doc = alias_document(
            "arn:aws:lambda:us-east-1:123456789012:function:hello:live",
            &alias,
        );
        assert_eq!(doc["FunctionVersion"], "1");
        assert_eq!(
            doc["RoutingConfig"]["AdditionalVersionWeights"],
            json!({"2": 0.05})
        );
        assert_ne!(doc["RevisionId"], revision.as_str());
        // Finishing a shift: new primary, empty weights.
        let done =
            json!({"FunctionVersion": "2", "RoutingConfig": {"AdditionalVersionWeights": {}}});
        update_alias(&alias, done.to_string().as_bytes()).unwrap();
        assert_eq!(alias.routing(), Routing::single("2"));
        // Omitted members keep their values.
        update_alias(&alias, b"{}").unwrap();
        assert_eq!(alias.routing(), Routing::single("2"));
    }

    #[test]
    fn refusals() {
        let alias = alias();
        let cases = [
            (
                json!({"RevisionId": "stale"}),
                412,
                "PreconditionFailedException",
            ),
            (
                json!({"FunctionVersion": "9"}),
                404,
                "ResourceNotFoundException",
            ),
            (
                json!({"RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}}}),
                400,
                "InvalidParameterValueException",
            ),
            (
                json!({"RoutingConfig": {"AdditionalVersionWeights": {"2": 1.5}}}),
                400,
                "InvalidParameterValueException",
            ),
        ];
        for (body, status, error_type) in cases {
            let err = update_alias(&alias, body.to_string().as_bytes()).unwrap_err();
            assert_eq!(
                (err.status().as_u16(), err.error_type()),
                (status, error_type),
                "{body}"
            );
        }
        let bad = update_alias(&alias, b"not json").unwrap_err();
        assert_eq!(bad.error_type(), "InvalidRequestContentException");
        assert_eq!(alias.routing(), Routing::single("1"));
    }
}
