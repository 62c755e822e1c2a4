//! A SAM or CloudFormation template run as a stack in the lab (`rollcall-lab serve
//! --template`, `rollcall-lab deploy`).

pub mod apply;
pub mod cli;
pub mod deploy;
pub mod engine;
mod function;
pub mod lab_engine;
pub mod live;
pub mod resources;
pub mod routes;
pub mod translate;
