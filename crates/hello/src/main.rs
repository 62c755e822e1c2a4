//! `hello`: the demo function. Run by Lambda (or the lab) as `bootstrap`, or under the name in
//! `Handler` when the Rollcall layer's `/opt/bootstrap` starts it.

use std::sync::Arc;

use anyhow::Context;
use hello::{ErrorMode, Hello, HelloConfig};
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config =
        HelloConfig::from_env(|k| std::env::var(k).ok()).context("hello: bad configuration")?;
    let hello = Arc::new(Hello::new(config));
    lambda_http::run(service_fn(move |request: Request| {
        let hello = Arc::clone(&hello);
        async move { handle(&hello, request).await }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("hello: runtime failed: {e}"))
}

async fn handle(hello: &Hello, request: Request) -> Result<Response<Body>, Error> {
    let plan = hello.plan();
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let json = |status: u16, value: serde_json::Value| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::Text(value.to_string()))
            .map_err(Error::from)
    };
    if plan.fail {
        let version = &hello.config().version;
        return match hello.config().error_mode {
            ErrorMode::Status500 => json(
                500,
                serde_json::json!({"message": "injected failure", "version": version}),
            ),
            ErrorMode::Unhandled => Err(format!("injected failure in version {version}").into()),
        };
    }
    json(200, hello.body(request.raw_http_path()))
}
