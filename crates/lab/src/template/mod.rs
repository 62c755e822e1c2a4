//! A SAM or CloudFormation template run as a stack in the lab (`rollcall-lab serve
//! --template`, `rollcall-lab deploy`): the real SAM translator expands it ([`translate`]),
//! the lab applies the CloudFormation it gives ([`apply`]) on its own control plane.

pub mod apply;
pub mod cli;
pub mod deploy;
pub mod engine;
mod function;
pub mod lab_engine;
pub mod live;
mod recorded;
pub mod resources;
pub mod routes;
mod stage;
pub mod translate;
