//! The lab's HTTP front ends: the API-Gateway-like front door ([`gateway`]) and the subset of
//! the Lambda API ([`lambda`]). Both forward invocations to an
//! [`Invoker`](crate::invoke::Invoker).

pub mod cloudformation;
pub mod codedeploy;
pub mod gateway;
pub mod http;
pub mod lambda;
pub mod stream_body;
pub mod url;

pub use gateway::{
    ApiConfig, ApiGateway, Handler, Listener, PayloadFormat, Route, RouteError, RouteTable,
};
pub use lambda::{InvokeApi, function_arn};
