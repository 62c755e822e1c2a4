//! The environment's HTTP server: Runtime API (2018-06-01), Extensions API (2020-01-01) and
//! Telemetry API (2022-07-01) on one `127.0.0.1:<port>`, exported as `AWS_LAMBDA_RUNTIME_API`.
//! Request bodies are accepted with or without `Content-Type`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::shared::Shared;
use super::{extensions_api, runtime_api};
use crate::accept::{ServeLimits, accept_loop};

use super::reply::error_reply;
pub use super::reply::{MAX_PAYLOAD, Reply};

/// Binds `127.0.0.1:0` and serves until the task is aborted, with [`ServeLimits::ENVIRONMENT`].
pub async fn serve(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(shared, ServeLimits::ENVIRONMENT).await
}

/// [`serve`] with other limits.
pub async fn serve_with(
    shared: Arc<Shared>,
    limits: ServeLimits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let accepting = accept_loop(listener, limits, "runtime API", move |stream, _| {
        let shared = shared.clone();
        async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        }
    });
    Ok((addr, tokio::spawn(accepting)))
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            runtime_api::next(&shared).await
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, "response"]) => {
            runtime_api::response(&shared, id, req).await
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, "error"]) => {
            runtime_api::error(&shared, id, req).await
        }
        (Method::POST, ["2018-06-01", "runtime", "init", "error"]) => {
            runtime_api::init_error(&shared, req).await
        }
        (Method::POST, ["2020-01-01", "extension", "register"]) => {
            extensions_api::register(&shared, req).await
        }
        (Method::GET, ["2020-01-01", "extension", "event", "next"]) => {
            extensions_api::next(&shared, req).await
        }
        (Method::POST, ["2020-01-01", "extension", kind @ ("init" | "exit"), "error"]) => {
            extensions_api::post_error(&shared, kind, req).await
        }
        (Method::PUT, ["2022-07-01", "telemetry"]) => extensions_api::subscribe(&shared, req).await,
        _ => error_reply(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no route for {path}"),
        ),
    }
}
