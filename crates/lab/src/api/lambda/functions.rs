//! `GetFunction`, `GetFunctionConfiguration` and `ListVersionsByFunction` (documents built in
//! [`super::versions`]).

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::error::{ApiError, Kind, not_found};
use super::function_name::{arn_of, function_and_qualifier, split_function_name};
use super::versions::{
    FunctionRead, find_version, function_configuration, get_function, list_versions,
};
use super::{Function, InvokeApi};
use crate::api::http::json_response;

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
            || arn_of(name, &home, None),
            "lambda:ListVersionsByFunction",
        )?;
        if qualifier.is_some() {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                "ListVersionsByFunction takes an unqualified function name or ARN",
            ));
        }
        let f = self
            .functions
            .get(name)
            .ok_or_else(|| not_found("Function", Function::new(name).arn(None)))?;
        let page = list_versions(&f.arn(None), &f.versions, query)?;
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
        self.check_home(&home, || arn_of(&name, &home, qualifier), action)?;
        let f = self
            .functions
            .get(&name)
            .ok_or_else(|| not_found("Function", Function::new(&name).arn(qualifier)))?;
        let primary = |alias: &str| f.aliases.get(alias).map(|a| a.routing().primary);
        let version = find_version(&f.versions, qualifier, primary)
            .ok_or_else(|| not_found("Function", f.arn(qualifier)))?;
        let asked = f.arn(qualifier);
        let document = match read {
            FunctionRead::Function(_) => get_function(&asked, version),
            FunctionRead::Configuration(_) => function_configuration(&asked, version),
        };
        Ok(json_response(StatusCode::OK, document.to_string()))
    }
}
