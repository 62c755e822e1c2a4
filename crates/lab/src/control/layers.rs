//! Layer versions (`PublishLayerVersion`, ...). Placeholder until the layers registry lands:
//! every layer version ARN is refused as not found.

use std::path::PathBuf;

use protocol::lambda_api::{LambdaError, LambdaErrorType, LayerVersionArn};

use super::registry::Snapshot;

/// The directory and `CodeSize` of each layer version `arns` names, in order, or
/// `ResourceNotFoundException` for the first one the registry does not hold.
pub fn layer_dirs(
    _snapshot: &Snapshot,
    arns: &[LayerVersionArn],
) -> Result<Vec<(LayerVersionArn, PathBuf, u64)>, LambdaError> {
    match arns.first() {
        None => Ok(Vec::new()),
        Some(arn) => Err(LambdaError::new(
            LambdaErrorType::ResourceNotFound,
            format!("Layer version {arn} does not exist."),
        )),
    }
}
