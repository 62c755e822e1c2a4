//! The lab's control plane: the [`registry`] of functions, versions, aliases and layers, and how
//! an alias routes ([`alias`]). Registry operations are split by resource ([`functions`],
//! [`versions`], [`aliases`], [`layers`]).

pub mod alarms;
pub mod alias;
pub mod aliases;
pub mod code;
pub mod deployments;
pub mod events;
pub mod functions;
pub mod layers;
mod log_tail;
pub mod registry;
pub mod stacks;
pub mod versions;

pub use functions::{Provisioner, RegistryInvoker};
pub use registry::{Function, LogTail, Registry, Snapshot, Target, Version, VersionMeta};
