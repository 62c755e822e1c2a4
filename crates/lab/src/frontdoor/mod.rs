//! The front doors: an API-Gateway-like HTTP server (REST payload 1.0, HTTP API payload 2.0)
//! and a subset of the Lambda API (`Invoke`, `GetAlias`, `UpdateAlias`, `ListVersionsByFunction`,
//! `GetFunction`, `GetFunctionConfiguration`), both forwarding to an
//! [`Invoker`](crate::invoke::Invoker); [`serve`] puts them together with the version pools.

pub mod alias_api;
pub mod apigw;
mod function_name;
pub mod invoke_api;
pub mod route;
pub mod serve;
pub mod server;
pub mod versions_api;

pub use invoke_api::{Function, InvokeApi};
pub use route::{PayloadFormat, Route, RouteError, RouteTable};
pub use serve::{Lab, LabError};
pub use server::{ApiConfig, ApiGateway, Handler, Listener};
