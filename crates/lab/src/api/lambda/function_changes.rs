//! The write side of functions and versions: `CreateFunction` (`POST /functions`),
//! `UpdateFunctionCode` (`PUT /functions/{FunctionName}/code`), `UpdateFunctionConfiguration`
//! (`PUT .../configuration`), `PublishVersion` (`POST .../versions`) and `DeleteFunction`
//! (`DELETE /functions/{FunctionName}[?Qualifier=]`). Zips go to the lab's [`CodeStore`];
//! state changes go through the registry.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use protocol::lambda_api::limits::{
    MEMORY_MAX_MB, MEMORY_MIN_MB, MEMORY_MODEL_MAX_MB, TIMEOUT_MAX_S, TIMEOUT_MIN_S,
    TIMEOUT_MODEL_MAX_S,
};
use protocol::lambda_api::{
    CreateFunctionRequest, LATEST, LambdaError, LayerVersionArn, PublishVersionRequest,
    UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};

use super::InvokeApi;
use super::error::{ApiError, Kind};
use super::function_name::{arn_of, function_and_qualifier, split_function_name};
use super::versions::function_configuration;
use crate::api::http::json_response;
use crate::control::code::{Code, CodeStore};
use crate::control::{Provisioner, Version, VersionMeta, layers};
use crate::env::FunctionConfig;
use crate::pool::{ACCOUNT_CONCURRENCY, ConcurrencyLimit};

/// What the Lambda API needs to create and change functions: the code store zips are unpacked
/// into and how new versions get their pools.
#[derive(Debug, Clone)]
pub struct FunctionControl {
    /// Where `ZipFile`s are unpacked.
    pub store: CodeStore,
    /// Makes each new version's pool.
    pub provisioner: Provisioner,
}

impl InvokeApi {
    /// The control this API creates and changes functions with, or `ServiceException`.
    pub(super) fn control(&self) -> Result<&FunctionControl, ApiError> {
        self.control.as_deref().ok_or_else(|| {
            ApiError::new(
                Kind::Service,
                "this lab takes no function changes: it was started without a code store",
            )
        })
    }

    /// The request body of `operation`, at most the size Lambda takes (a `ZipFile` of the
    /// store's zip limit, base64-encoded): `413 RequestEntityTooLargeException` beyond it,
    /// before anything is parsed.
    pub(super) async fn read_body<T: DeserializeOwned>(
        &self,
        body: Incoming,
        operation: &str,
    ) -> Result<T, ApiError> {
        let limit = self
            .control
            .as_ref()
            .map_or(crate::control::code::ZIP_REQUEST_MAX, |c| {
                (c.store.limits().zipped * 4).div_ceil(3)
            });
        let too_large = || {
            ApiError::new(
                Kind::RequestEntityTooLarge,
                format!("Request must be smaller than {limit} bytes for the {operation} operation"),
            )
        };
        let mut body = body;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ApiError::new(
                    Kind::InvalidRequestContent,
                    format!("reading the request failed: {e}"),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if (bytes.len() + data.len()) as u64 > limit {
                // Read the rest (and drop it) so that the client, still sending, gets the
                // answer rather than a reset connection.
                while let Some(Ok(_)) = body.frame().await {}
                return Err(too_large());
            }
            bytes.extend_from_slice(&data);
        }
        let bytes = Bytes::from(bytes);
        let bytes = if bytes.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                Kind::InvalidRequestContent,
                format!("Could not parse request body into json: {e}"),
            )
        })
    }

    /// Unpacks a `ZipFile` into the store (off the async threads).
    pub(super) async fn unpack(&self, zip: Vec<u8>, operation: &str) -> Result<Code, ApiError> {
        let store = self.control()?.store.clone();
        tokio::task::spawn_blocking(move || store.unpack_zip(&zip))
            .await
            .map_err(|e| ApiError::new(Kind::Service, format!("unpacking the zip failed: {e}")))?
            .map_err(|e| e.lambda_error_for(operation).into())
    }

    /// The function name of a write operation (a name or ARN, unqualified), checked against the
    /// lab's region and account.
    pub(super) fn unqualified_name(&self, name: &str, action: &str) -> Result<String, ApiError> {
        let (name, qualifier, home) = split_function_name(name)?;
        self.check_home(
            &home,
            || arn_of(self.lab_home(), &name, &home, None),
            action,
        )?;
        if let Some(q) = qualifier {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                format!(
                    "{action} takes an unqualified function name or ARN, not one qualified by {q}"
                ),
            ));
        }
        Ok(name)
    }

    /// The `FunctionConfiguration` answer for `version` with `status`.
    fn configuration_response(
        &self,
        status: StatusCode,
        version: &Version,
    ) -> Response<Full<Bytes>> {
        let name = &version.config.function_name;
        let arn = self.arn(
            name,
            (version.version != LATEST).then_some(version.version.as_str()),
        );
        json_response(status, function_configuration(&arn, version).to_string())
    }

    /// `CreateFunction`.
    pub(super) async fn create_function(
        &self,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let control = self.control()?;
        let request: CreateFunctionRequest = self.read_body(body, "CreateFunction").await?;
        let name = self.unqualified_name(&request.function_name, "lambda:CreateFunction")?;
        let handler = request.handler.clone().ok_or_else(|| {
            ApiError::new(
                Kind::InvalidParameterValue,
                "Handler is required for a function whose package type is Zip: give --handler",
            )
        })?;
        let (memory, timeout) = check_sizes(request.memory_size, request.timeout)?;
        let layers = self.layers(request.layers.as_deref())?;
        let zip = request.code.zip_file.clone().ok_or_else(|| {
            ApiError::new(
                Kind::InvalidParameterValue,
                "the lab takes the code as ZipFile only (--zip-file fileb://code.zip), not from S3 or an image",
            )
        })?;
        if self.registry.snapshot().functions.contains_key(&name) {
            return Err(LambdaError::new(
                Kind::ResourceConflict,
                format!("Function already exist: {name}"),
            )
            .into());
        }
        let code = self.unpack(zip.0, "CreateFunction").await?;
        let mut config = FunctionConfig::new(&name, LATEST, &code.dir, handler);
        config.region.clone_from(&self.region);
        config.account_id.clone_from(&self.account_id);
        config.memory_mb = memory.unwrap_or(config.memory_mb);
        config.timeout = timeout.unwrap_or(config.timeout);
        config.env_vars = environment(request.environment.as_ref());
        let mut meta = VersionMeta {
            description: request.description.clone().unwrap_or_default(),
            code_sha256: code.sha256.clone(),
            code_size: code.size,
            ..VersionMeta::default()
        };
        if let Some(runtime) = &request.runtime {
            meta.runtime.clone_from(runtime);
        }
        if let Some(a) = request.architectures.as_ref().and_then(|a| a.first()) {
            meta.architecture = *a;
        }
        apply_layers(&mut config, &mut meta, layers);
        let version = self.registry.create_function(
            &control.provisioner,
            config,
            meta,
            ConcurrencyLimit::new(ACCOUNT_CONCURRENCY),
            request.publish.unwrap_or(false),
        )?;
        Ok(self.configuration_response(StatusCode::CREATED, &version))
    }

    /// `UpdateFunctionCode`.
    pub(super) async fn update_code(
        &self,
        function: &str,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let control = self.control()?;
        let request: UpdateFunctionCodeRequest = self.read_body(body, "UpdateFunctionCode").await?;
        let name = self.unqualified_name(function, "lambda:UpdateFunctionCode")?;
        self.exists(&name)?;
        let zip = request.zip_file.clone().ok_or_else(|| {
            ApiError::new(
                Kind::InvalidParameterValue,
                "the lab takes the code as ZipFile only (--zip-file fileb://code.zip), not from S3 or an image",
            )
        })?;
        let code = self.unpack(zip.0, "UpdateFunctionCode").await?;
        let architecture = request
            .architectures
            .as_ref()
            .and_then(|a| a.first().copied());
        let version = self.registry.update_latest(
            &control.provisioner,
            &name,
            request.revision_id.as_deref(),
            request.publish.unwrap_or(false),
            |config, meta| {
                config.code_dir.clone_from(&code.dir);
                meta.code_sha256.clone_from(&code.sha256);
                meta.code_size = code.size;
                if let Some(a) = architecture {
                    meta.architecture = a;
                }
                Ok(())
            },
        )?;
        Ok(self.configuration_response(StatusCode::OK, &version))
    }

    /// `UpdateFunctionConfiguration`.
    pub(super) async fn update_configuration(
        &self,
        function: &str,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let control = self.control()?;
        let request: UpdateFunctionConfigurationRequest =
            self.read_body(body, "UpdateFunctionConfiguration").await?;
        let name = self.unqualified_name(function, "lambda:UpdateFunctionConfiguration")?;
        self.exists(&name)?;
        let (memory, timeout) = check_sizes(request.memory_size, request.timeout)?;
        let layers = request
            .layers
            .as_deref()
            .map(|l| self.layers(Some(l)))
            .transpose()?;
        let version = self.registry.update_latest(
            &control.provisioner,
            &name,
            request.revision_id.as_deref(),
            false,
            |config, meta| {
                if let Some(h) = &request.handler {
                    config.handler.clone_from(h);
                }
                if let Some(m) = memory {
                    config.memory_mb = m;
                }
                if let Some(t) = timeout {
                    config.timeout = t;
                }
                if let Some(e) = &request.environment {
                    config.env_vars = environment(Some(e));
                }
                if let Some(d) = &request.description {
                    meta.description.clone_from(d);
                }
                if let Some(r) = &request.runtime {
                    meta.runtime.clone_from(r);
                }
                if let Some(layers) = layers {
                    apply_layers(config, meta, layers);
                }
                Ok(())
            },
        )?;
        Ok(self.configuration_response(StatusCode::OK, &version))
    }

    /// `PublishVersion`.
    pub(super) async fn publish_version(
        &self,
        function: &str,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let control = self.control()?;
        let request: PublishVersionRequest = self.read_body(body, "PublishVersion").await?;
        let name = self.unqualified_name(function, "lambda:PublishVersion")?;
        self.exists(&name)?;
        let version = self.registry.publish_version(
            &control.provisioner,
            &name,
            request.code_sha256.as_deref(),
            request.revision_id.as_deref(),
            request.description.clone(),
        )?;
        Ok(self.configuration_response(StatusCode::CREATED, &version))
    }

    /// `DeleteFunction`, of the whole function or (`?Qualifier=N`) one version.
    pub(super) fn delete_function(
        &self,
        function: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, qualifier, home) = function_and_qualifier(function, query)?;
        let q = qualifier.as_deref();
        self.check_home(
            &home,
            || arn_of(self.lab_home(), &name, &home, q),
            "lambda:DeleteFunction",
        )?;
        self.exists(&name)?;
        self.registry
            .delete_function(&name, q)
            .map_err(|e| match e.kind {
                Kind::ResourceNotFound => super::error::not_found("Function", self.arn(&name, q)),
                _ => e.into(),
            })?;
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok(response)
    }

    /// `ResourceNotFoundException` unless function `name` exists.
    fn exists(&self, name: &str) -> Result<(), ApiError> {
        if self.registry.snapshot().functions.contains_key(name) {
            Ok(())
        } else {
            Err(super::error::not_found("Function", self.arn(name, None)))
        }
    }

    /// The layer versions `arns` name, resolved by the registry (`None`: no layers).
    fn layers(
        &self,
        arns: Option<&[String]>,
    ) -> Result<Vec<(LayerVersionArn, std::path::PathBuf, u64)>, ApiError> {
        let arns = arns
            .unwrap_or_default()
            .iter()
            .map(|a| {
                LayerVersionArn::parse(a)
                    .map_err(|e| ApiError::new(Kind::Validation, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max = protocol::lambda_api::limits::LAYERS_PER_FUNCTION_MAX;
        if arns.len() > max {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                format!("Cannot reference more than {max} layers."),
            ));
        }
        Ok(layers::layer_dirs(&self.registry.snapshot(), &arns)?)
    }
}

/// A function's layers: their dirs run as `/opt` in order, their ARNs and sizes reported.
fn apply_layers(
    config: &mut FunctionConfig,
    meta: &mut VersionMeta,
    layers: Vec<(LayerVersionArn, std::path::PathBuf, u64)>,
) {
    config.layer_dirs = layers.iter().map(|(_, dir, _)| dir.clone()).collect();
    meta.layers = layers
        .into_iter()
        .map(|(arn, _, size)| (arn.to_string(), size))
        .collect();
}

/// The variables of an `Environment` (none when absent).
fn environment(e: Option<&protocol::lambda_api::Environment>) -> BTreeMap<String, String> {
    e.and_then(|e| e.variables.clone()).unwrap_or_default()
}

/// `MemorySize` and `Timeout` checked. Outside the service model's ranges (what every Lambda
/// request is validated against first) Lambda answers `ValidationException` ("1 validation
/// error detected: ..."); inside them but outside what a function may have (10,240 MB, 900 s:
/// the model allows more for Managed Instances and durable functions) it answers
/// `InvalidParameterValueException` ("'MemorySize' value failed to satisfy constraint: ...").
fn check_sizes(
    memory: Option<u32>,
    timeout: Option<u32>,
) -> Result<(Option<u32>, Option<Duration>), ApiError> {
    let model = |member: &str, value: u32, min: u32, max: u32| -> Result<(), ApiError> {
        let constraint = if value < min {
            format!("greater than or equal to {min}")
        } else if value > max {
            format!("less than or equal to {max}")
        } else {
            return Ok(());
        };
        Err(ApiError::new(
            Kind::Validation,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value {constraint}"
            ),
        ))
    };
    let lambda = |member: &str, value: u32, max: u32| -> Result<(), ApiError> {
        if value > max {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                format!(
                    "'{member}' value failed to satisfy constraint: Member must have value less than or equal to {max}"
                ),
            ));
        }
        Ok(())
    };
    if let Some(m) = memory {
        model("memorySize", m, MEMORY_MIN_MB, MEMORY_MODEL_MAX_MB)?;
        lambda("MemorySize", m, MEMORY_MAX_MB)?;
    }
    if let Some(t) = timeout {
        model("timeout", t, TIMEOUT_MIN_S, TIMEOUT_MODEL_MAX_S)?;
        lambda("Timeout", t, TIMEOUT_MAX_S)?;
    }
    Ok((memory, timeout.map(|t| Duration::from_secs(u64::from(t)))))
}
