//! `rollcall-lab serve --spec FILE [--ready-file PATH]` as a process: the ready file is there
//! once the lab serves (before its banner), names every function, qualifier and route, and is
//! removed on exit; a broken spec or one mixed with the one-function flags exits 64.

mod spec_support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};

use lab::ready::ReadyFile;
use spec_support::runnable_fixture;
use test_support::http::send;

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

#[test]
fn a_broken_spec_file_exits_64_naming_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("lab.yaml");
    std::fs::write(
        &spec,
        "functions:\n  hello:\n    code: .\n    memroy: 256\n",
    )
    .unwrap();
    let ready = dir.path().join("ready.json");
    let spec_arg = spec.display().to_string();
    let ready_arg = ready.display().to_string();
    let out = lab(&["serve", "--spec", &spec_arg, "--ready-file", &ready_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains(&spec_arg), "names the file: {stderr}");
    assert!(
        stderr.contains("functions.hello.memroy"),
        "names the key: {stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(!ready.exists(), "no ready file for a lab that never served");
}

#[test]
fn a_spec_whose_code_is_missing_exits_64_naming_the_key_and_writes_no_ready_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("lab.yaml");
    std::fs::write(&spec, "functions:\n  hello:\n    code: nowhere\n").unwrap();
    let ready = dir.path().join("ready.json");
    let spec_arg = spec.display().to_string();
    let ready_arg = ready.display().to_string();
    let out = lab(&["serve", "--spec", &spec_arg, "--ready-file", &ready_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("functions.hello.code"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(!ready.exists());
}

#[test]
fn spec_with_the_one_function_flags_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let version = format!("1={}", dir.path().display());
    let out = lab(&["serve", "--spec", "lab.yaml", "--version", &version]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("--spec") && stderr.contains("--version"),
        "{stderr}"
    );
    let out = lab(&["serve", "--spec", "lab.yaml", "--memory", "256"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--memory"));
    let out = lab(&["serve"]);
    assert_eq!(out.status.code(), Some(64), "neither --spec nor --version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ready_file_appears_when_the_lab_serves_and_goes_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let spec = runnable_fixture(dir.path());
    let ready_path = dir.path().join("run/ready.json");
    std::fs::create_dir_all(ready_path.parent().unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .arg("serve")
        .arg("--spec")
        .arg(&spec)
        .arg("--ready-file")
        .arg(&ready_path)
        .args(["--api-port", "0", "--lambda-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let mut line = String::new();
    while !line.starts_with("route $default") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no banner: {banner}"
        );
        banner.push_str(&line);
    }
    // The ready file is written before the banner.
    let ready: ReadyFile =
        serde_json::from_str(&std::fs::read_to_string(&ready_path).unwrap()).unwrap();
    assert_eq!(ready.pid, child.id());
    assert!(
        banner.contains(&format!("API front door:    {}", ready.api_url)),
        "{banner}"
    );
    assert!(
        banner.contains("function echo: versions $LATEST"),
        "{banner}"
    );
    assert!(
        banner.contains("function hello: versions $LATEST, 1, 2"),
        "{banner}"
    );
    assert!(banner.contains("alias live:"), "{banner}");
    assert_eq!(ready.functions["hello"].versions, ["$LATEST", "1", "2"]);
    assert_eq!(ready.functions["hello"].aliases["live"].primary, "1");
    assert_eq!(ready.routes.len(), 3);
    let only = std::fs::read_dir(ready_path.parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(only, 1, "no temporary file is left next to the ready file");
    // Both listeners serve.
    let addr = |url: &str| url.strip_prefix("http://").unwrap().parse().unwrap();
    let echo = send(addr(&ready.api_url), "GET", "/anything", &[], "").await;
    assert_eq!(echo.status, 200);
    assert_eq!(echo.json()["handler"], "echo.handler");
    let config = send(
        addr(&ready.lambda_url),
        "GET",
        "/2015-03-31/functions/echo/configuration",
        &[],
        "",
    )
    .await;
    assert_eq!(config.status, 200);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest}");
    assert!(!ready_path.exists(), "the ready file is removed on exit");
    for version in [
        "echo version $LATEST: 1 invocations",
        "hello version $LATEST:",
        "hello version 1:",
        "hello version 2:",
    ] {
        assert!(rest.contains(version), "the summary has {version}: {rest}");
    }
}

/// A zip holding an executable `bootstrap` shell script that never polls (its environment is
/// never started here: only created).
fn sleeper_zip() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(b"#!/bin/sh\nexec sleep 600\n").unwrap();
    zip.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_on_exit_covers_functions_the_lambda_api_created() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let spec = runnable_fixture(dir.path());
    let ready_path = dir.path().join("ready.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .arg("serve")
        .arg("--spec")
        .arg(&spec)
        .arg("--ready-file")
        .arg(&ready_path)
        .args(["--api-port", "0", "--lambda-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("route $default") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no banner");
    }
    let ready: ReadyFile =
        serde_json::from_str(&std::fs::read_to_string(&ready_path).unwrap()).unwrap();
    let lambda = ready
        .lambda_url
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    let body = serde_json::json!({
        "FunctionName": "made-later", "Role": "arn:aws:iam::210987654321:role/lab",
        "Runtime": "provided.al2023", "Handler": "bootstrap", "Publish": true,
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(sleeper_zip())}
    });
    let created = send(
        lambda,
        "POST",
        "/2015-03-31/functions",
        &[],
        body.to_string(),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{rest}");
    assert!(
        rest.contains("made-later version $LATEST: 0 invocations"),
        "{rest}"
    );
    assert!(
        rest.contains("made-later version 1: 0 invocations"),
        "{rest}"
    );
    assert!(rest.contains("hello version 2:"), "{rest}");
}
