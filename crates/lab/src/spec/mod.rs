//! What a lab runs: the pure, validated [`LabSpec`] ([`model`]), read from a spec file
//! ([`file`], `rollcall-lab serve --spec lab.yaml`) or from today's one-function flags
//! ([`flags`]), so that the lab is built one way from either.

pub mod environment;
pub mod file;
pub mod flags;
pub mod model;

pub use model::{
    Code, DEFAULT_ACCOUNT, DEFAULT_REGION, DEFAULT_RUNTIME, FunctionSpec, LabSpec, LayerSpec,
    RouteSpec, SpecError, UrlSpec, VersionSpec,
};
