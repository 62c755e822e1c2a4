//! `GetFunction`, `GetFunctionConfiguration` and `ListVersionsByFunction` (documents built in
//! [`super::versions`]), read from the registry's current snapshot.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::InvokeApi;
use super::error::{ApiError, Kind, not_found};
use super::function_name::{arn_of, function_and_qualifier, split_function_name};
use super::versions::{
    FunctionRead, VersionInfo, function_configuration, get_function, list_versions,
};
use crate::api::http::json_response;
use crate::control::{Target, Version};

impl From<&Version> for VersionInfo {
    fn from(v: &Version) -> Self {
        Self {
            version: v.version.clone(),
            handler: v.config.handler.clone(),
            memory_mb: v.config.memory_mb,
            timeout: v.config.timeout,
            last_modified: v.last_modified,
            code_dir: v.config.code_dir.clone(),
        }
    }
}

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
        let versions: Vec<VersionInfo> = std::iter::once(&f.latest)
            .chain(f.versions.values())
            .map(|v| VersionInfo::from(&**v))
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
        let version = VersionInfo::from(&*version);
        let document = match read {
            FunctionRead::Function(_) => get_function(&asked, &version),
            FunctionRead::Configuration(_) => function_configuration(&asked, &version),
        };
        Ok(json_response(StatusCode::OK, document.to_string()))
    }
}
