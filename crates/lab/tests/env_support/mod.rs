//! Shared helpers for the lab's execution-environment tests.
//!
//! Fixture binaries of other packages (`lab-testfn`, `lab-testext`) are not visible through
//! `CARGO_BIN_EXE_*`; `test-support` builds them once per test process.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lab::env::{Environment, FunctionConfig, LogSink};
use serde_json::Value;

/// Path of a fixture binary (`lab-testfn`, `lab-testext`), built once per test process.
pub fn fixture_bin(name: &str) -> PathBuf {
    test_support::executable(&["lab-testfn", "lab-testext"], name)
}

/// Writes an executable file.
pub fn write_exe(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A function package whose `bootstrap` is the `lab-testfn` binary.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub code: PathBuf,
    pub layer: PathBuf,
}

impl Fixture {
    /// Code dir with `bootstrap` -> lab-testfn; an empty layer dir.
    pub fn testfn() -> Self {
        let f = Self::empty();
        std::os::unix::fs::symlink(fixture_bin("lab-testfn"), f.code.join("bootstrap")).unwrap();
        f
    }

    /// Code dir and layer dir, both empty.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        let layer = dir.path().join("layer");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::create_dir_all(layer.join("extensions")).unwrap();
        Self { dir, code, layer }
    }

    /// Adds the `lab-testext` extension under `name`; returns the file it writes to.
    pub fn with_extension(&self, name: &str) -> PathBuf {
        std::os::unix::fs::symlink(
            fixture_bin("lab-testext"),
            self.layer.join("extensions").join(name),
        )
        .unwrap();
        self.dir.path().join(format!("{name}.jsonl"))
    }

    /// A configuration for this package, with the layer.
    pub fn config(&self, version: &str) -> FunctionConfig {
        let mut c = FunctionConfig::new("labfn", version, &self.code, "bootstrap");
        c.layer_dirs = vec![self.layer.clone()];
        c
    }
}

/// Validates and starts an environment (Init included).
pub async fn start(cfg: FunctionConfig) -> (Environment, Arc<LogSink>) {
    let logs = Arc::new(LogSink::new("/aws/lambda/labfn", 10_000, None));
    let resolved = Arc::new(cfg.validate().expect("valid config"));
    let env = Environment::start(Arc::new(cfg), resolved, logs.clone())
        .await
        .expect("init succeeds");
    (env, logs)
}

/// Reads the JSON lines a `lab-testext` wrote.
pub fn ext_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls `f` every 10 ms until it returns `Some` or `limit` passes.
pub async fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A plain HTTP/1 call: `(status, headers, body)`.
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, BTreeMap<String, String>, Bytes) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(body.into())).unwrap())
        .await
        .expect("http call");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

/// Parses a JSON body.
pub fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(b)))
}
