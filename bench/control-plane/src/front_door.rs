//! The API front door's client: GET the route, read which version answered.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A keep-alive HTTP/1.1 client of one front-door URL.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    client: Client<HttpConnector, Empty<Bytes>>,
    uri: http::Uri,
}

impl FrontDoor {
    /// A client of `url`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build_http();
        Ok(Self {
            client,
            uri: url.parse()?,
        })
    }

    /// One request: the answering version (`hello`'s `version`), or an error naming the status.
    pub async fn version(&self) -> anyhow::Result<String> {
        let response = self.client.get(self.uri.clone()).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            anyhow::bail!(
                "the front door answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        json["version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no version in the function's answer: {json}"))
    }
}
