//! CloudFormation templates as the lab reads them. Pure: text in, values out.
//!
//! - [`parse_template`]: YAML or JSON text → JSON, short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...)
//!   in their long form.
//! - [`parse_overrides`], [`resolve_parameters`]: `--parameter-overrides`, defaults, constraints;
//!   [`declared_parameters`]: the declarations (`NoEcho`, `Description`).
//! - [`evaluate_conditions`]: the `Conditions` section.
//! - [`resolve`]: intrinsic functions against a [`Context`] (the ready-made one: [`StackValues`]).
//! - [`dependencies`], [`creation_order`]: which resource needs which, and the order to create them.
//! - [`resolve_outputs`]: the `Outputs`, once the resources exist.
//! - [`resources`]: a typed view of `Resources`.

mod conditions;
mod context;
mod functions;
mod graph;
mod intrinsics;
mod load;
mod outputs;
mod parameters;
mod path;
mod pseudo;
mod references;
mod sub;
mod template;

pub use conditions::evaluate_conditions;
pub use context::StackValues;
pub use graph::{GraphError, creation_order, dependencies, output_dependencies};
pub use intrinsics::{Context, IntrinsicError, NO_VALUE, resolve};
pub use load::{LoadError, parse_template};
pub use outputs::{Output, resolve_outputs, value_text};
pub use parameters::{
    ParameterDeclaration, ParameterError, declared_parameters, parse_overrides, resolve_parameters,
    split_overrides,
};
pub use pseudo::Pseudo;
pub use template::{Resource, TemplateError, resources, sam_resource_id};
