//! Layer versions (`PublishLayerVersion`, `GetLayerVersion`, `ListLayerVersions`,
//! `ListLayers`, `DeleteLayerVersion`) in the registry's [`Snapshot::layers`], and how a
//! function's `Layers` resolve to the directories its environments merge as `/opt`.
//!
//! As in Lambda, a layer numbers its versions from 1 and never reuses a number, even after a
//! delete; a deleted version can no longer be read or added to a function, but the function
//! versions that hold it keep running it (they keep its directory, which stays in the code
//! store).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use protocol::lambda_api::names::VersionNumber;
use protocol::lambda_api::{
    Architecture, ArnScope, LambdaError, LambdaErrorType, LayerName, LayerVersionArn,
};

use super::code::Code;
use super::registry::{Registry, Snapshot};

/// One published layer version; never changed once published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersion {
    /// `LayerVersionArn` (its `layer_arn()` is the `LayerArn`).
    pub arn: LayerVersionArn,
    /// The unpacked archive, the directory standing for `/opt`.
    pub dir: PathBuf,
    /// `Content.CodeSha256` (base64).
    pub code_sha256: String,
    /// `Content.CodeSize` in bytes.
    pub code_size: u64,
    /// `Description`.
    pub description: String,
    /// `CompatibleRuntimes`.
    pub compatible_runtimes: Vec<String>,
    /// `CompatibleArchitectures`.
    pub compatible_architectures: Vec<Architecture>,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
    /// `CreatedDate`.
    pub created: SystemTime,
}

impl LayerVersion {
    /// The version number.
    pub fn number(&self) -> u64 {
        self.arn.version.0
    }
}

/// What `PublishLayerVersion` is given besides the layer's name and archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerDetails {
    /// `Description`.
    pub description: String,
    /// `CompatibleRuntimes`.
    pub compatible_runtimes: Vec<String>,
    /// `CompatibleArchitectures`.
    pub compatible_architectures: Vec<Architecture>,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
}

/// One layer: its live versions and the highest number it ever gave.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// Versions not deleted, by number.
    pub versions: BTreeMap<u64, Arc<LayerVersion>>,
    /// The highest version number ever published (never reused).
    pub last_published: u64,
}

/// Lambda's answer for a layer version that does not exist (`GetLayerVersion`, ...).
pub fn layer_version_not_found() -> LambdaError {
    LambdaError::new(
        LambdaErrorType::ResourceNotFound,
        "The resource you requested does not exist.",
    )
}

impl Snapshot {
    /// Version `number` of layer `name`, if it exists (and is not deleted).
    pub fn layer_version(&self, name: &str, number: u64) -> Option<&Arc<LayerVersion>> {
        self.layers.get(name)?.versions.get(&number)
    }
}

/// The directory and `CodeSize` of each layer version `arns` names, in order, or Lambda's
/// `InvalidParameterValueException` ("Layer version ... does not exist.") for the first one
/// the registry does not hold (never published, deleted, or in another account or Region).
pub fn layer_dirs(
    snapshot: &Snapshot,
    arns: &[LayerVersionArn],
) -> Result<Vec<(LayerVersionArn, PathBuf, u64)>, LambdaError> {
    arns.iter()
        .map(|arn| {
            snapshot
                .layer_version(arn.name.as_str(), arn.version.0)
                .filter(|v| v.arn == *arn)
                .map(|v| (arn.clone(), v.dir.clone(), v.code_size))
                .ok_or_else(|| {
                    LambdaError::new(
                        LambdaErrorType::InvalidParameterValue,
                        format!("Layer version {arn} does not exist."),
                    )
                })
        })
        .collect()
}

/// Adds `code` to `snapshot` as the next version of layer `name` in `scope`.
pub fn add_layer_version(
    snapshot: &mut Snapshot,
    scope: &ArnScope,
    name: &LayerName,
    code: &Code,
    details: LayerDetails,
) -> Arc<LayerVersion> {
    let layer = snapshot.layers.entry(name.as_str().to_owned()).or_default();
    layer.last_published += 1;
    let version = Arc::new(LayerVersion {
        arn: LayerVersionArn {
            scope: scope.clone(),
            name: name.clone(),
            version: VersionNumber(layer.last_published),
        },
        dir: code.dir.clone(),
        code_sha256: code.sha256.clone(),
        code_size: code.size,
        description: details.description,
        compatible_runtimes: details.compatible_runtimes,
        compatible_architectures: details.compatible_architectures,
        license_info: details.license_info,
        created: SystemTime::now(),
    });
    layer
        .versions
        .insert(layer.last_published, Arc::clone(&version));
    version
}

impl Registry {
    /// `PublishLayerVersion`: `code` (already unpacked) becomes the next version of layer
    /// `name`.
    pub fn publish_layer_version(
        &self,
        scope: &ArnScope,
        name: &LayerName,
        code: &Code,
        details: LayerDetails,
    ) -> Arc<LayerVersion> {
        self.mutate(|s| {
            Ok::<_, std::convert::Infallible>(add_layer_version(s, scope, name, code, details))
        })
        .unwrap_or_else(|never| match never {})
    }

    /// `DeleteLayerVersion`: version `number` of layer `name` can no longer be read or added
    /// to a function; function versions holding it keep running it. Deleting a version that
    /// does not exist succeeds, as in Lambda. Whether it existed is returned.
    pub fn delete_layer_version(&self, name: &str, number: u64) -> bool {
        self.mutate(|s| {
            Ok::<_, std::convert::Infallible>(
                s.layers
                    .get_mut(name)
                    .and_then(|l| l.versions.remove(&number))
                    .is_some(),
            )
        })
        .unwrap_or_else(|never| match never {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(dir: &str, size: u64) -> Code {
        Code {
            dir: PathBuf::from(dir),
            sha256: format!("sha-{dir}"),
            size,
        }
    }

    fn scope() -> ArnScope {
        ArnScope::new("aws", "us-east-1", "123456789012").unwrap()
    }

    fn name(s: &str) -> LayerName {
        LayerName::parse(s).unwrap()
    }

    #[test]
    fn numbers_are_never_reused_after_a_delete() {
        let registry = Registry::new(Snapshot::default());
        let details = LayerDetails::default;
        let v1 =
            registry.publish_layer_version(&scope(), &name("tools"), &code("/a", 1), details());
        let v2 =
            registry.publish_layer_version(&scope(), &name("tools"), &code("/b", 2), details());
        assert_eq!((v1.number(), v2.number()), (1, 2));
        assert!(registry.delete_layer_version("tools", 2));
        assert!(!registry.delete_layer_version("tools", 2), "already gone");
        let v3 =
            registry.publish_layer_version(&scope(), &name("tools"), &code("/c", 3), details());
        assert_eq!(v3.number(), 3);
        assert_eq!(
            v3.arn.to_string(),
            "arn:aws:lambda:us-east-1:123456789012:layer:tools:3"
        );
        let other =
            registry.publish_layer_version(&scope(), &name("other"), &code("/d", 4), details());
        assert_eq!(other.number(), 1, "each layer numbers its own versions");
    }

    #[test]
    fn layer_dirs_keep_the_order_and_refuse_unknown_versions() {
        let registry = Registry::new(Snapshot::default());
        let d = LayerDetails::default;
        let a = registry.publish_layer_version(&scope(), &name("a"), &code("/a", 10), d());
        let b = registry.publish_layer_version(&scope(), &name("b"), &code("/b", 20), d());
        let snapshot = registry.snapshot();
        let dirs = layer_dirs(&snapshot, &[b.arn.clone(), a.arn.clone()]).unwrap();
        let got: Vec<_> = dirs.iter().map(|(_, d, s)| (d.clone(), *s)).collect();
        assert_eq!(got, [(PathBuf::from("/b"), 20), (PathBuf::from("/a"), 10)]);

        let mut missing = a.arn.clone();
        missing.version = VersionNumber(7);
        let e = layer_dirs(&snapshot, &[a.arn.clone(), missing.clone()]).unwrap_err();
        assert_eq!(e.error_type(), "InvalidParameterValueException");
        assert_eq!(
            e.message,
            format!("Layer version {missing} does not exist.")
        );

        let mut elsewhere = a.arn.clone();
        elsewhere.scope = ArnScope::new("aws", "eu-west-1", "123456789012").unwrap();
        assert!(
            layer_dirs(&snapshot, &[elsewhere]).is_err(),
            "another Region"
        );

        registry.delete_layer_version("a", 1);
        let e = layer_dirs(&registry.snapshot(), std::slice::from_ref(&a.arn)).unwrap_err();
        assert_eq!(e.status(), 400, "a deleted version cannot be added");
        assert!(layer_dirs(&snapshot, &[]).unwrap().is_empty());
    }
}
