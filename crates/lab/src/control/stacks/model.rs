//! What the stack store holds: a [`Stack`], its resources, events, parameters and outputs, and
//! the statuses as CloudFormation spells them.

use std::collections::BTreeMap;

use time::OffsetDateTime;

/// Declares a status enum with CloudFormation's spelling of each variant.
macro_rules! cfn_status {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $name { $($variant,)+ }

        impl $name {
            /// Every status, in the service model's order.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            /// The status as CloudFormation spells it.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!(
                        "'{s}' is not a {}: use one of {}",
                        stringify!($name),
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    ))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cfn_status!(
    /// A stack's status (`StackStatus`).
    StackStatus {
        CreateInProgress => "CREATE_IN_PROGRESS",
        CreateFailed => "CREATE_FAILED",
        CreateComplete => "CREATE_COMPLETE",
        RollbackInProgress => "ROLLBACK_IN_PROGRESS",
        RollbackFailed => "ROLLBACK_FAILED",
        RollbackComplete => "ROLLBACK_COMPLETE",
        DeleteInProgress => "DELETE_IN_PROGRESS",
        DeleteFailed => "DELETE_FAILED",
        DeleteComplete => "DELETE_COMPLETE",
        UpdateInProgress => "UPDATE_IN_PROGRESS",
        UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateComplete => "UPDATE_COMPLETE",
        UpdateFailed => "UPDATE_FAILED",
        UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
        UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
        UpdateRollbackCompleteCleanupInProgress => "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
        ReviewInProgress => "REVIEW_IN_PROGRESS",
        ImportInProgress => "IMPORT_IN_PROGRESS",
        ImportComplete => "IMPORT_COMPLETE",
        ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
        ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
        ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
    }
);

impl StackStatus {
    /// True while an operation runs on the stack (every `*_IN_PROGRESS`).
    pub fn in_progress(self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS")
    }

    /// True when UpdateStack may start from this status: a stack whose creation failed or
    /// rolled back, or whose update rollback failed, cannot be updated (CloudFormation asks to
    /// delete it, or to continue the rollback).
    pub fn updatable(self) -> bool {
        matches!(
            self,
            Self::CreateComplete
                | Self::UpdateComplete
                | Self::UpdateRollbackComplete
                | Self::ImportComplete
                | Self::ImportRollbackComplete
        )
    }
}

cfn_status!(
    /// A resource's status (`ResourceStatus`).
    ResourceStatus {
        CreateInProgress => "CREATE_IN_PROGRESS",
        CreateFailed => "CREATE_FAILED",
        CreateComplete => "CREATE_COMPLETE",
        DeleteInProgress => "DELETE_IN_PROGRESS",
        DeleteFailed => "DELETE_FAILED",
        DeleteComplete => "DELETE_COMPLETE",
        DeleteSkipped => "DELETE_SKIPPED",
        UpdateInProgress => "UPDATE_IN_PROGRESS",
        UpdateFailed => "UPDATE_FAILED",
        UpdateComplete => "UPDATE_COMPLETE",
        ImportFailed => "IMPORT_FAILED",
        ImportComplete => "IMPORT_COMPLETE",
        ImportInProgress => "IMPORT_IN_PROGRESS",
        ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
        ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
        ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
        UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
        UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
        UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
        RollbackInProgress => "ROLLBACK_IN_PROGRESS",
        RollbackComplete => "ROLLBACK_COMPLETE",
        RollbackFailed => "ROLLBACK_FAILED",
    }
);

impl ResourceStatus {
    /// True when the resource is gone from the stack: deleted, or retained
    /// (`DeletionPolicy: Retain`) and so no longer the stack's.
    pub fn removes_resource(self) -> bool {
        matches!(self, Self::DeleteComplete | Self::DeleteSkipped)
    }
}

/// A stack parameter's resolved value (`Parameter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackParameter {
    /// `ParameterKey`.
    pub key: String,
    /// `ParameterValue`.
    pub value: String,
}

/// A stack output (`Output`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackOutput {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue`.
    pub value: String,
    /// `Description`.
    pub description: Option<String>,
    /// `ExportName`.
    pub export_name: Option<String>,
}

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    /// The template's name for it (`LogicalResourceId`).
    pub logical_id: String,
    /// The lab's name for it (`PhysicalResourceId`): a function name, an alias ARN, ...; none
    /// before it exists.
    pub physical_id: Option<String>,
    /// `ResourceType` (`AWS::Lambda::Function`, ...).
    pub resource_type: String,
    /// `ResourceStatus`.
    pub status: ResourceStatus,
    /// `ResourceStatusReason`.
    pub status_reason: Option<String>,
    /// When its status last changed (`LastUpdatedTimestamp`, `Timestamp`).
    pub last_updated: OffsetDateTime,
}

/// One entry of a stack's event log (`StackEvent`): a resource's or the stack's own status
/// change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    /// `EventId`, unique within the stack.
    pub event_id: String,
    /// `LogicalResourceId` (the stack's name for the stack's own events).
    pub logical_id: String,
    /// `PhysicalResourceId` (the stack id for the stack's own events).
    pub physical_id: Option<String>,
    /// `ResourceType` (`AWS::CloudFormation::Stack` for the stack's own events).
    pub resource_type: String,
    /// `ResourceStatus`: a resource status, or the stack's status for its own events.
    pub status: String,
    /// `ResourceStatusReason`.
    pub status_reason: Option<String>,
    /// `Timestamp`.
    pub timestamp: OffsetDateTime,
}

/// A stack the lab keeps, as DescribeStacks, DescribeStackResources, DescribeStackEvents and
/// GetTemplate show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// `StackName`.
    pub name: String,
    /// `StackId`: `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`.
    pub stack_id: String,
    /// `StackStatus`.
    pub status: StackStatus,
    /// `StackStatusReason`.
    pub status_reason: Option<String>,
    /// The template's `Description`.
    pub description: Option<String>,
    /// The parameters' resolved values, in the template's order.
    pub parameters: Vec<StackParameter>,
    /// The outputs' resolved values, in the template's order.
    pub outputs: Vec<StackOutput>,
    /// The capabilities the last create or update acknowledged (`CAPABILITY_IAM`, ...).
    pub capabilities: Vec<String>,
    /// `CreationTime`.
    pub creation_time: OffsetDateTime,
    /// `LastUpdatedTime`: when the last update started; none before the first.
    pub last_updated_time: Option<OffsetDateTime>,
    /// The resources, by logical id.
    pub resources: BTreeMap<String, StackResource>,
    /// The event log, oldest first (the API answers newest first: [`Stack::events_newest_first`]).
    pub events: Vec<StackEvent>,
    /// The template as submitted (GetTemplate's `Original` stage).
    pub template_original: String,
    /// The template after its transforms (GetTemplate's `Processed` stage).
    pub template_processed: String,
}

impl Stack {
    /// The events as DescribeStackEvents lists them: newest first.
    pub fn events_newest_first(&self) -> impl Iterator<Item = &StackEvent> {
        self.events.iter().rev()
    }
}

/// What a new stack starts with ([`Stacks::create`](super::Stacks::create)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewStack {
    /// `StackName`.
    pub name: String,
    /// The template's `Description`.
    pub description: Option<String>,
    /// The parameters' resolved values.
    pub parameters: Vec<StackParameter>,
    /// The acknowledged capabilities.
    pub capabilities: Vec<String>,
    /// The template as submitted.
    pub template_original: String,
    /// The template after its transforms.
    pub template_processed: String,
}
