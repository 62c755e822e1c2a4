//! Layer versions (`/2018-10-31/layers`): `PublishLayerVersion` (`POST
//! /layers/{LayerName}/versions`, a `ZipFile` unpacked into the lab's code store),
//! `GetLayerVersion` and `DeleteLayerVersion` (`GET`/`DELETE
//! /layers/{LayerName}/versions/{VersionNumber}`), `GetLayerVersionByArn` (`GET
//! /layers?find=LayerVersion&Arn=`), `ListLayerVersions` (`GET /layers/{LayerName}/versions`)
//! and `ListLayers` (`GET /layers`), the lists filtered by `CompatibleRuntime` and
//! `CompatibleArchitecture` and paged by `Marker`/`MaxItems`. The layers live in the registry
//! ([`crate::control::layers`]).

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use protocol::lambda_api::{
    Architecture, ArnScope, LayerName, LayerVersion as LayerVersionDocument, LayerVersionArn,
    LayerVersionContentOutput, LayersListItem, ListLayerVersionsResponse, ListLayersResponse,
    PublishLayerVersionRequest, format_last_modified,
};

use super::InvokeApi;
use super::error::{ApiError, Kind};
use super::versions::page;
use crate::api::http::{json_response, percent_decode};
use crate::control::layers::{LayerDetails, LayerVersion, layer_version_not_found};

/// The service model's pattern of a `LayerName` (a name or a layer ARN).
const LAYER_NAME_PATTERN: &str =
    r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";

impl InvokeApi {
    /// The lab's partition, Region and account, those of the layers it publishes.
    fn layer_scope(&self) -> Result<ArnScope, ApiError> {
        ArnScope::new("aws", &self.region, &self.account_id)
            .map_err(|e| ApiError::new(Kind::Service, e.to_string()))
    }

    /// The layer a path's `LayerName` (a name or a layer ARN) names, and whether it is in the
    /// lab's Region and account; `ValidationException` outside the service model's pattern.
    fn layer_name(&self, layer: &str) -> Result<(LayerName, bool), ApiError> {
        let invalid = || {
            ApiError::new(
                Kind::Validation,
                format!(
                    "1 validation error detected: Value '{layer}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: {LAYER_NAME_PATTERN}"
                ),
            )
        };
        if layer.starts_with("arn:") {
            let arn = LayerVersionArn::parse(&format!("{layer}:1")).map_err(|_| invalid())?;
            let home = arn.scope == self.layer_scope()?;
            return Ok((arn.name, home));
        }
        LayerName::parse(layer)
            .map(|n| (n, true))
            .map_err(|_| invalid())
    }

    /// The layer version a path names, or `ResourceNotFoundException`.
    fn find_layer_version(
        &self,
        layer: &str,
        version: &str,
    ) -> Result<Arc<LayerVersion>, ApiError> {
        let (name, home) = self.layer_name(layer)?;
        let number = version.parse::<u64>().map_err(|_| {
            ApiError::new(
                Kind::Validation,
                format!(
                    "1 validation error detected: Value '{version}' at 'versionNumber' failed to satisfy constraint: Member must be a whole number"
                ),
            )
        })?;
        let snapshot = self.registry.snapshot();
        home.then(|| snapshot.layer_version(name.as_str(), number).cloned())
            .flatten()
            .ok_or_else(|| layer_version_not_found().into())
    }

    /// `PublishLayerVersion`.
    pub(super) async fn publish_layer_version(
        &self,
        layer: &str,
        body: Incoming,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        self.control()?;
        let request: PublishLayerVersionRequest =
            self.read_body(body, "PublishLayerVersion").await?;
        let (name, home) = self.layer_name(layer)?;
        if !home {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                format!(
                    "layer {layer} is not in the lab's Region and account ({}, {}): publish it by name",
                    self.region, self.account_id
                ),
            ));
        }
        let zip = request.content.zip_file.clone().ok_or_else(|| {
            ApiError::new(
                Kind::InvalidParameterValue,
                "the lab takes a layer archive as Content.ZipFile only (--zip-file fileb://layer.zip), not from S3 (--content S3Bucket=...): the lab has no S3",
            )
        })?;
        let code = self.unpack(zip.0, "PublishLayerVersion").await?;
        let details = LayerDetails {
            description: request.description.unwrap_or_default(),
            compatible_runtimes: request.compatible_runtimes.unwrap_or_default(),
            compatible_architectures: request.compatible_architectures.unwrap_or_default(),
            license_info: request.license_info,
        };
        let version =
            self.registry
                .publish_layer_version(&self.layer_scope()?, &name, &code, details);
        Ok(layer_response(StatusCode::CREATED, &version))
    }

    /// `GetLayerVersion`.
    pub(super) fn get_layer_version(
        &self,
        layer: &str,
        version: &str,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let version = self.find_layer_version(layer, version)?;
        Ok(layer_response(StatusCode::OK, &version))
    }

    /// `DeleteLayerVersion`: 204, whether the version existed or not (as Lambda answers).
    pub(super) fn delete_layer_version(
        &self,
        layer: &str,
        version: &str,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        match self.find_layer_version(layer, version) {
            Ok(v) => {
                self.registry
                    .delete_layer_version(v.arn.name.as_str(), v.number());
            }
            Err(e) if e.error_type() == "ResourceNotFoundException" => {}
            Err(e) => return Err(e),
        }
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok(response)
    }

    /// `GET /layers`: `GetLayerVersionByArn` with `find=LayerVersion`, else `ListLayers`.
    pub(super) fn layers_root(
        &self,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        match param(query, "find").as_deref() {
            Some("LayerVersion") => {}
            Some(other) => {
                return Err(ApiError::new(
                    Kind::InvalidParameterValue,
                    format!(
                        "find={other} is not an operation: GetLayerVersionByArn is find=LayerVersion&Arn=<layer version ARN>"
                    ),
                ));
            }
            None => return self.list_layers(query),
        }
        let arn = param(query, "Arn").ok_or_else(|| {
            ApiError::new(
                Kind::InvalidParameterValue,
                "GetLayerVersionByArn needs Arn=<layer version ARN>",
            )
        })?;
        let arn = LayerVersionArn::parse(&arn).map_err(|e| {
            ApiError::new(
                Kind::Validation,
                format!(
                    "1 validation error detected: Value '{arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+ ({e})"
                ),
            )
        })?;
        let snapshot = self.registry.snapshot();
        let version = snapshot
            .layer_version(arn.name.as_str(), arn.version.0)
            .filter(|v| v.arn == arn)
            .ok_or_else(layer_version_not_found)?;
        Ok(layer_response(StatusCode::OK, version))
    }

    /// `ListLayerVersions`: newest first; an unknown layer has none.
    pub(super) fn list_layer_versions(
        &self,
        layer: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, home) = self.layer_name(layer)?;
        let filter = Filter::parse(query)?;
        let snapshot = self.registry.snapshot();
        let versions: Vec<&Arc<LayerVersion>> = snapshot
            .layers
            .get(name.as_str())
            .filter(|_| home)
            .map(|l| {
                l.versions
                    .values()
                    .rev()
                    .filter(|v| filter.matches(v))
                    .collect()
            })
            .unwrap_or_default();
        let (items, next_marker) = page(&versions, query)?;
        let document = ListLayerVersionsResponse {
            next_marker,
            layer_versions: items.iter().map(|v| list_item(v)).collect(),
        };
        Ok(json_response(
            StatusCode::OK,
            serde_json::to_string(&document).unwrap_or_default(),
        ))
    }

    /// `ListLayers`: every layer with a version that matches, with its newest such version.
    fn list_layers(&self, query: Option<&str>) -> Result<Response<Full<Bytes>>, ApiError> {
        let filter = Filter::parse(query)?;
        let snapshot = self.registry.snapshot();
        let layers: Vec<LayersListItem> = snapshot
            .layers
            .iter()
            .filter_map(|(name, layer)| {
                let latest = layer.versions.values().rev().find(|v| filter.matches(v))?;
                Some(LayersListItem {
                    layer_name: Some(name.clone()),
                    layer_arn: Some(latest.arn.layer_arn()),
                    latest_matching_version: Some(list_item(latest)),
                })
            })
            .collect();
        let (items, next_marker) = page(&layers, query)?;
        let document = ListLayersResponse {
            next_marker,
            layers: items.to_vec(),
        };
        Ok(json_response(
            StatusCode::OK,
            serde_json::to_string(&document).unwrap_or_default(),
        ))
    }
}

/// The `CompatibleRuntime` and `CompatibleArchitecture` filters of the list operations.
struct Filter {
    runtime: Option<String>,
    architecture: Option<Architecture>,
}

impl Filter {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let architecture = match param(query, "CompatibleArchitecture") {
            None => None,
            Some(a) => Some(
                serde_json::from_value(serde_json::Value::String(a.clone())).map_err(|_| {
                    ApiError::new(
                        Kind::Validation,
                        format!(
                            "1 validation error detected: Value '{a}' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]"
                        ),
                    )
                })?,
            ),
        };
        Ok(Self {
            runtime: param(query, "CompatibleRuntime"),
            architecture,
        })
    }

    fn matches(&self, v: &LayerVersion) -> bool {
        self.runtime
            .as_ref()
            .is_none_or(|r| v.compatible_runtimes.contains(r))
            && self
                .architecture
                .is_none_or(|a| v.compatible_architectures.contains(&a))
    }
}

/// The (percent-decoded) value of query parameter `key`.
fn param(query: Option<&str>, key: &str) -> Option<String> {
    query.unwrap_or("").split('&').find_map(|p| {
        p.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
    })
}

fn created_date(v: &LayerVersion) -> String {
    format_last_modified(time::OffsetDateTime::from(v.created))
}

/// `None` for an empty list, as Lambda leaves the member out.
fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// The `PublishLayerVersion`/`GetLayerVersion` answer for `v`.
fn layer_response(status: StatusCode, v: &LayerVersion) -> Response<Full<Bytes>> {
    let document = LayerVersionDocument {
        content: Some(LayerVersionContentOutput {
            code_sha256: Some(v.code_sha256.clone()),
            code_size: Some(v.code_size),
            ..LayerVersionContentOutput::default()
        }),
        layer_arn: Some(v.arn.layer_arn()),
        layer_version_arn: Some(v.arn.to_string()),
        description: Some(v.description.clone()),
        created_date: Some(created_date(v)),
        version: Some(v.number()),
        compatible_architectures: non_empty(&v.compatible_architectures),
        compatible_runtimes: non_empty(&v.compatible_runtimes),
        license_info: v.license_info.clone(),
    };
    json_response(status, serde_json::to_string(&document).unwrap_or_default())
}

/// `v` as an item of `ListLayerVersions` and `ListLayers`.
fn list_item(v: &LayerVersion) -> protocol::lambda_api::LayerVersionsListItem {
    protocol::lambda_api::LayerVersionsListItem {
        layer_version_arn: Some(v.arn.to_string()),
        version: Some(v.number()),
        description: Some(v.description.clone()),
        created_date: Some(created_date(v)),
        compatible_architectures: non_empty(&v.compatible_architectures),
        compatible_runtimes: non_empty(&v.compatible_runtimes),
        license_info: v.license_info.clone(),
    }
}
