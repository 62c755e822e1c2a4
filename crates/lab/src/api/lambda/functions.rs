//! `GetFunction`, `GetFunctionConfiguration` and `ListVersionsByFunction` (documents built in
//! [`super::versions`]), read from the registry's current snapshot.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::InvokeApi;
use super::error::{ApiError, Kind, not_found};
use super::function_name::{arn_of, function_and_qualifier, split_function_name};
use super::versions::{FunctionRead, function_configuration, get_function, list_versions, page};
use crate::api::http::json_response;
use crate::control::{Target, Version};
use protocol::lambda_api::ListQuery;
use serde_json::json;
use std::sync::Arc;

impl InvokeApi {
    /// `ListVersionsByFunction` (GET).
    pub(super) fn list_versions(
        &self,
        name: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, qualifier, home) = split_function_name(name)?;
        let name = name.as_str();
        self.check_home(
            &home,
            || arn_of(self.lab_home(), name, &home, None),
            "lambda:ListVersionsByFunction",
        )?;
        if qualifier.is_some() {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                "ListVersionsByFunction takes an unqualified function name or ARN",
            ));
        }
        let snapshot = self.registry.snapshot();
        let f = snapshot
            .functions
            .get(name)
            .ok_or_else(|| not_found("Function", self.arn(name, None)))?;
        let versions: Vec<Arc<Version>> = std::iter::once(&f.latest)
            .chain(f.versions.values())
            .cloned()
            .collect();
        let page = list_versions(&self.arn(name, None), &versions, query)?;
        Ok(json_response(StatusCode::OK, page.to_string()))
    }

    /// `GetFunction` and `GetFunctionConfiguration` (GET).
    pub(super) fn read_function(
        &self,
        read: &FunctionRead,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, action) = match read {
            FunctionRead::Function(n) => (n, "lambda:GetFunction"),
            FunctionRead::Configuration(n) => (n, "lambda:GetFunctionConfiguration"),
        };
        let (name, qualifier, home) = function_and_qualifier(name, query)?;
        let qualifier = qualifier.as_deref();
        self.check_home(
            &home,
            || arn_of(self.lab_home(), &name, &home, qualifier),
            action,
        )?;
        let snapshot = self.registry.snapshot();
        let asked = self.arn(&name, qualifier);
        let not_found = || not_found("Function", &asked);
        let version = match snapshot
            .resolve(&name, qualifier)
            .map_err(|_| not_found())?
        {
            Target::Version(v) => v,
            // An alias names its primary version.
            Target::Alias(alias) => {
                let primary = alias.routing().primary;
                let f = snapshot.function(&name).map_err(|_| not_found())?;
                f.version(&primary).cloned().ok_or_else(not_found)?
            }
        };
        let document = match read {
            FunctionRead::Function(_) => get_function(&asked, &version),
            FunctionRead::Configuration(_) => function_configuration(&asked, &version),
        };
        Ok(json_response(StatusCode::OK, document.to_string()))
    }

    /// `ListFunctions` (GET `/functions/`): every function's `$LATEST` (unqualified ARN), or
    /// with `FunctionVersion=ALL` every version of every function (qualified ARNs), paged by
    /// `Marker` and `MaxItems`.
    pub(super) fn list_functions(
        &self,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let q = ListQuery::parse(query.unwrap_or(""))
            .map_err(|e| ApiError::new(Kind::InvalidParameterValue, e.to_string()))?;
        let all = match q.function_version.as_deref() {
            None => false,
            Some("ALL") => true,
            Some(other) => {
                return Err(ApiError::new(
                    Kind::Validation,
                    format!(
                        "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
                    ),
                ));
            }
        };
        let snapshot = self.registry.snapshot();
        let mut items: Vec<(String, Arc<Version>)> = Vec::new();
        for (name, f) in &snapshot.functions {
            if all {
                for v in std::iter::once(&f.latest).chain(f.versions.values()) {
                    items.push((self.arn(name, Some(&v.version)), Arc::clone(v)));
                }
            } else {
                items.push((self.arn(name, None), Arc::clone(&f.latest)));
            }
        }
        let (items, next) = page(&items, query)?;
        let documents: Vec<_> = items
            .iter()
            .map(|(arn, v)| function_configuration(arn, v))
            .collect();
        let mut page = json!({ "Functions": documents });
        if let Some(next) = next {
            page["NextMarker"] = json!(next);
        }
        Ok(json_response(StatusCode::OK, page.to_string()))
    }
}
