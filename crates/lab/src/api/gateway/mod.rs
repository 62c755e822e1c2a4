//! The API-Gateway-like front door: REST (payload 1.0) and HTTP API (payload 2.0) routes.

pub mod apigw;
pub mod route;
pub mod server;

pub use route::{LiveRoutes, PayloadFormat, Route, RouteError, RouteTable, RouteTarget};
pub use server::{ApiConfig, ApiGateway, Handler, Listener};
