//! A `lambda_runtime` function that streams its response (`StreamResponse`), for the extension's
//! streaming test (`tests/streaming.rs`): prelude (201, `content-type: text/plain`, a cookie),
//! then `part one, `, then, once a line arrives on stdin (the test sends it when the first chunk
//! reached the Runtime API), `part two`.

use lambda_runtime::streaming::{Body, channel};
use lambda_runtime::{Error, LambdaEvent, MetadataPrelude, StreamResponse, service_fn};

async fn handler(_: LambdaEvent<serde_json::Value>) -> Result<StreamResponse<Body>, Error> {
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        tx.send_data("part one, ".into()).await?;
        let go = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()));
        go.await??;
        tx.send_data("part two".into()).await?;
        Ok::<(), Error>(())
    });
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, "text/plain".parse()?);
    Ok(StreamResponse {
        metadata_prelude: MetadataPrelude {
            status_code: http::StatusCode::CREATED,
            headers,
            cookies: vec!["a=1".into()],
        },
        stream: rx,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
