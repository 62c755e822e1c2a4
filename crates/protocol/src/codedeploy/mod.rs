//! The CodeDeploy API's JSON shapes (API version 2014-10-06) for Lambda deployments, its errors,
//! its operation names, the predefined Lambda deployment configurations and the Lambda AppSpec.
//!
//! CodeDeploy speaks *AWS JSON 1.1*: every call is `POST /` with
//! `X-Amz-Target: CodeDeploy_20141006.<Operation>` ([`Operation`]) and
//! `Content-Type: application/x-amz-json-1.1`; members are camelCase; timestamps are epoch
//! seconds as JSON numbers ([`Timestamp`]); errors are `{"__type": ..., "message": ...}`
//! ([`CodeDeployError`]).
//!
//! Sources: the *CodeDeploy API reference* <https://docs.aws.amazon.com/codedeploy/latest/APIReference/>
//! and the service model it is generated from, `codedeploy-2014-10-06` (botocore 1.43
//! `service-2.json`, as shipped in the AWS CLI the tests drive): member names, enums, and the
//! errors each operation declares. The fixtures under `tests/fixtures/codedeploy/` are the AWS
//! CLI reference's examples (see their README).
//!
//! Ownership: the deployment vocabulary that the model in `rollout::deployment` already speaks
//! in CodeDeploy's spelling (`status`, `deploymentOverview`, `errorInformation`, `rollbackInfo`,
//! `trafficRoutingConfig`, lifecycle event names and statuses) is defined there once and
//! embedded here; this module owns the request and response envelopes, the errors and the
//! AppSpec. That is why it sits behind the `codedeploy` feature: the extension, which depends
//! on this crate, never builds `rollout`.
//!
//! Module map:
//! - [`operation`]: [`Operation`], parsed from `X-Amz-Target`; the protocol constants;
//! - [`error`]: [`CodeDeployError`] and [`CodeDeployErrorType`], rendered as CodeDeploy does;
//! - [`application`]: CreateApplication, CreateDeploymentGroup;
//! - [`manage`]: GetApplication, DeleteApplication, GetDeploymentGroup, DeleteDeploymentGroup;
//! - [`config`]: CreateDeploymentConfig, GetDeploymentConfig, the predefined configurations;
//! - [`deployment`]: CreateDeployment, GetDeployment, ListDeployments, StopDeployment,
//!   PutLifecycleEventHookExecutionStatus;
//! - [`target`]: ListDeploymentTargets, GetDeploymentTarget (per-event status);
//! - [`view`]: a `rollout` deployment as GetDeployment and GetDeploymentTarget show it;
//! - [`appspec`]: the Lambda AppSpec in `AppSpecContent.content`.

pub mod application;
pub mod appspec;
pub mod config;
pub mod deployment;
pub mod error;
pub mod manage;
pub mod operation;
pub mod target;
pub mod view;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

pub use application::{
    AlarmConfiguration, AlarmRef, AutoRollbackConfiguration, AutoRollbackEvent, ComputePlatform,
    CreateApplicationInput, CreateApplicationOutput, CreateDeploymentGroupInput,
    CreateDeploymentGroupOutput, DeploymentStyle, Tag,
};
pub use appspec::{AppSpec, AppSpecError, LambdaFunctionResource};
pub use config::{
    CreateDeploymentConfigInput, CreateDeploymentConfigOutput, DeploymentConfigInfo,
    GetDeploymentConfigInput, GetDeploymentConfigOutput, PREDEFINED_PREFIX, predefined_config,
    predefined_names,
};
pub use deployment::{
    CreateDeploymentInput, CreateDeploymentOutput, DeploymentCreator, DeploymentInfo,
    GetDeploymentInput, GetDeploymentOutput, ListDeploymentsInput, ListDeploymentsOutput,
    PutLifecycleEventHookExecutionStatusInput, PutLifecycleEventHookExecutionStatusOutput,
    RawString, RevisionLocation, RevisionType, StopDeploymentInput, StopDeploymentOutput,
    StopStatus, TimeRange,
};
pub use error::{CodeDeployError, CodeDeployErrorType};
pub use manage::{
    ApplicationInfo, ApplicationNameInput, DeleteDeploymentGroupOutput, DeploymentGroupInfo,
    DeploymentGroupNameInput, GetApplicationOutput, GetDeploymentGroupOutput,
};
pub use operation::{CONTENT_TYPE, HEADER_TARGET, Operation, TARGET_PREFIX};
pub use target::{
    DeploymentTarget, DeploymentTargetType, Diagnostics, GetDeploymentTargetInput,
    GetDeploymentTargetOutput, LambdaFunctionInfo, LambdaTarget, ListDeploymentTargetsInput,
    ListDeploymentTargetsOutput, TargetLifecycleEvent, TargetStatus,
};
pub use view::DeploymentContext;

/// Members of a shape that the types do not model, kept verbatim (nothing is lost on a round
/// trip).
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A JSON 1.1 `timestamp` member: seconds since the Unix epoch as a JSON number, with up to
/// millisecond precision (`"createTime": 1409764576.589`). botocore reads such a number as
/// epoch seconds (its JSON parser's default timestamp format, `unixTimestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self { millis }
    }

    /// The instant `t`, to the millisecond.
    pub fn from_system_time(t: std::time::SystemTime) -> Self {
        let millis = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Self { millis }
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.millis
    }

    /// Seconds since the Unix epoch, as sent on the wire.
    pub fn unix_secs(self) -> f64 {
        self.millis as f64 / 1000.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.millis % 1000 == 0 {
            s.serialize_i64(self.millis / 1000)
        } else {
            s.serialize_f64(self.unix_secs())
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d).map_err(|_| {
            D::Error::custom(
                "a timestamp is seconds since the Unix epoch as a JSON number, e.g. 1409764576.589",
            )
        })?;
        let millis = (secs * 1000.0).round();
        if !millis.is_finite() || millis.abs() > 8.64e15 {
            return Err(D::Error::custom(format!(
                "timestamp {secs} is out of range: send seconds since the Unix epoch"
            )));
        }
        Ok(Self {
            millis: millis as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_epoch_seconds_with_milliseconds() {
        let t: Timestamp = serde_json::from_str("1409764576.589").unwrap();
        assert_eq!(t.unix_millis(), 1_409_764_576_589);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1409764576.589");
        let whole: Timestamp = serde_json::from_str("1409764576").unwrap();
        assert_eq!(serde_json::to_string(&whole).unwrap(), "1409764576");
        let err = serde_json::from_str::<Timestamp>("\"2014-09-03T17:16:16Z\"").unwrap_err();
        assert!(
            err.to_string().contains("seconds since the Unix epoch"),
            "{err}"
        );
    }
}
