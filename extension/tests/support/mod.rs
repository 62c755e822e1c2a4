//! Helpers for the in-lab tests: the layer as a directory (the `rollcall` binary under test plus
//! the wrapper scripts), function binaries of other packages built once, the lab started in
//! process, a raw HTTP client, and the EMF documents the extension printed; [`runtime_api`]: a
//! fake Runtime API behind the proxy under test (the proxy and streaming tests).
#![allow(dead_code)]

pub mod runtime_api;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use lab::env::{LogSink, LogSource};
use lab::lab::Lab;
use serde_json::Value;

pub const VERSION_HEADER: &str = "x-rollcall-version";
pub const COLD_HEADER: &str = "x-rollcall-cold";

/// The executable of `hello` or `lab-testfn` (built once per test process).
pub fn function_binary(name: &str) -> PathBuf {
    test_support::executable(&["hello", "lab-testfn"], name)
}

/// Builds this package's example `name` (dev profile) and returns its executable.
pub fn example(name: &str) -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "-p", "rollcall-extension", "--example", name])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build --example {name} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| Some(m["executable"].as_str()?.into()))
        .unwrap_or_else(|| panic!("cargo reported no executable for example {name}"))
}

/// Writes an executable file.
pub fn write_exe(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy_exe(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The layer's scripts, without the extension (as if the binary were missing).
pub fn scripts_only_layer(dir: &Path) -> PathBuf {
    let layer = dir.join("layer");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("layer");
    for name in ["rollcall-wrapper", "bootstrap"] {
        copy_exe(&src.join(name), &layer.join(name));
    }
    std::fs::create_dir_all(layer.join("extensions")).unwrap();
    layer
}

/// The layer as `make layer` lays it out, with the `rollcall` binary under test.
pub fn rollcall_layer(dir: &Path) -> PathBuf {
    let layer = scripts_only_layer(dir);
    copy_exe(
        Path::new(env!("CARGO_BIN_EXE_rollcall")),
        &layer.join("extensions/rollcall"),
    );
    layer
}

/// A code dir holding `binary` under `name`.
pub fn code_dir(dir: &Path, sub: &str, binary: &Path, name: &str) -> PathBuf {
    let code = dir.join(sub);
    copy_exe(binary, &code.join(name));
    code
}

/// A code dir with the Python `shapes` function (awslambdaric).
pub fn shapes_code(dir: &Path) -> PathBuf {
    let code = dir.join("shapes");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shapes");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(src.join("handler.py"), code.join("handler.py")).unwrap();
    copy_exe(&src.join("bootstrap"), &code.join("bootstrap"));
    code
}

pub fn awslambdaric_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import awslambdaric"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts the lab as `rollcall-lab serve <args>` would, on free ports.
pub async fn start_lab(args: &[&str]) -> Lab {
    let config = lab::cli::serve_config(args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("lab starts")
}

pub use test_support::http::Reply;

/// Every header of `reply` but the per-request ids the front door adds and the Rollcall tags, in
/// order, so that two replies of the same function can be compared.
pub fn stable_headers(reply: &Reply) -> Vec<(String, Vec<u8>)> {
    reply
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            !matches!(
                k,
                "date"
                    | "x-amzn-requestid"
                    | "apigw-requestid"
                    | "x-amz-apigw-id"
                    | "x-amzn-trace-id"
                    | "x-amz-log-result"
            ) && !k.starts_with("x-rollcall-")
        })
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

/// Sends one request without extra headers on a fresh connection.
pub async fn send(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Reply {
    test_support::http::send(addr, method, target, &[], Bytes::copy_from_slice(body)).await
}

/// `POST /2015-03-31/functions/<function>/invocations?Qualifier=<q>` on the Invoke API.
pub async fn invoke(lab: &Lab, function: &str, qualifier: &str, payload: &[u8]) -> Reply {
    let target = format!("/2015-03-31/functions/{function}/invocations?Qualifier={qualifier}");
    send(lab.lambda.local_addr(), "POST", &target, payload).await
}

/// The EMF documents the extensions printed on stdout into `logs` (a version's log group).
pub fn emf_documents(logs: &LogSink) -> Vec<Value> {
    logs.snapshot()
        .iter()
        .filter(|l| l.source == LogSource::Extension)
        .filter_map(|l| serde_json::from_str::<Value>(&l.text).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// Sum of a count metric over documents.
pub fn total(docs: &[Value], metric: &str) -> u64 {
    docs.iter().filter_map(|d| d[metric].as_u64()).sum()
}

/// Pids of the `rollcall` extension processes of `version`'s environments.
pub fn extension_pids(lab: &Lab, version: &str) -> Vec<i32> {
    lab.pools[version]
        .process_groups()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "rollcall")
        })
        .collect()
}

/// Environments that ran (distinct log streams in the version's log group).
pub fn environments(logs: &LogSink) -> usize {
    let streams: std::collections::BTreeSet<String> =
        logs.snapshot().into_iter().map(|l| l.stream).collect();
    streams.len()
}

/// The events the `rollcall` extension registered for, from Lambda's `EXTENSION` log lines (one
/// per environment).
pub fn registered_events(logs: &lab::env::LogSink) -> Vec<String> {
    logs.snapshot()
        .into_iter()
        .filter(|l| l.text.starts_with("EXTENSION\tName: rollcall\t"))
        .filter_map(|l| Some(l.text.split_once("Events: ")?.1.to_owned()))
        .collect()
}
