//! Fail open, in the lab: without the extension binary, with its proxy port taken, and when it
//! crashes mid-run, `hello` (through `/opt/bootstrap`) answers every request.

mod support;

use std::path::Path;

use lab::lab::Lab;
use support::*;

const REQUESTS: usize = 30;

async fn hello_lab(dir: &Path, layer: &Path) -> Lab {
    hello_lab_with(dir, layer, &[]).await
}

async fn hello_lab_with(dir: &Path, layer: &Path, extra: &[&str]) -> Lab {
    let code = code_dir(dir, "code", &function_binary("hello"), "hello");
    let version = format!("1={}", code.display());
    let layer = layer.display().to_string();
    let mut args = vec![
        "--version",
        &version,
        "--handler",
        "hello",
        "--layer",
        &layer,
    ];
    args.extend_from_slice(extra);
    start_lab(&args).await
}

/// Sends `n` requests; returns how many were answered 200 and how many of those were tagged.
async fn serve(lab: &Lab, n: usize) -> (usize, usize) {
    let (mut ok, mut tagged) = (0, 0);
    for _ in 0..n {
        let reply = send(lab.api.local_addr(), "GET", "/hello", b"").await;
        if reply.status == 200 {
            ok += 1;
            tagged += usize::from(reply.header(VERSION_HEADER) == Some("1"));
        }
    }
    (ok, tagged)
}

#[tokio::test]
async fn without_the_extension_binary_every_request_is_served_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let layer = scripts_only_layer(dir.path());
    let lab = hello_lab(dir.path(), &layer).await;
    assert_eq!(serve(&lab, REQUESTS).await, (REQUESTS, 0));
    lab.shutdown().await;
}

#[tokio::test]
async fn with_the_proxy_port_taken_every_request_is_served_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let layer = scripts_only_layer(dir.path());
    // The extension entry takes the proxy port with another process, waits until it is bound
    // (a FIFO, no sleeping), then runs the real extension, which finds the port taken.
    let real = dir.path().join("bin/rollcall");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_rollcall"), &real).unwrap();
    write_exe(
        &layer.join("extensions/rollcall"),
        &format!(
            r#"#!/bin/sh
fifo="$ROLLCALL_LAB_OPT/squatter-$$"
mkfifo "$fifo"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write("bound\n")
time.sleep(60)' "$ROLLCALL_PROXY_PORT" "$fifo" &
read -r _ < "$fifo"
rm -f "$fifo"
exec {}
"#,
            real.display()
        ),
    );
    let lab = hello_lab(dir.path(), &layer).await;
    assert_eq!(serve(&lab, REQUESTS).await, (REQUESTS, 0));
    let logs = lab.pools["1"].logs();
    lab.shutdown().await;
    assert!(
        logs.snapshot()
            .iter()
            .any(|l| l.text.contains("cannot bind the runtime API proxy")),
        "the extension said why it is not proxying"
    );
    // The extension itself kept working: without its proxy it registered for INVOKE too and
    // counted every invocation from those events.
    let events = registered_events(&logs);
    assert!(
        !events.is_empty() && events.iter().all(|e| e == "[INVOKE,SHUTDOWN]"),
        "{events:?}"
    );
    assert_eq!(total(&emf_documents(&logs), "Invocations"), REQUESTS as u64);
}

#[tokio::test]
async fn when_the_extension_crashes_at_most_the_request_in_flight_fails() {
    let dir = tempfile::tempdir().unwrap();
    let layer = rollcall_layer(dir.path());
    let lab = hello_lab(dir.path(), &layer).await;
    assert_eq!(serve(&lab, 10).await, (10, 10));

    // Kill one extension (there may be more than one environment: a request that arrives while
    // the only one is finishing gets a new one). Its environment fails the next request it is
    // given, and is replaced.
    let pids = extension_pids(&lab, "1");
    let pid = *pids.first().expect("a rollcall process is running");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let (ok, tagged) = serve(&lab, REQUESTS).await;
    assert!(
        ok >= REQUESTS - 1,
        "{ok} of {REQUESTS} served after the crash"
    );
    assert!(
        tagged >= REQUESTS - 1,
        "new environments are tagged again: {tagged}"
    );
    // And every request after the first one is served.
    assert_eq!(serve(&lab, 10).await, (10, 10));
    lab.shutdown().await;
}

#[tokio::test]
async fn bad_configuration_is_logged_and_turns_only_its_feature_off() {
    let dir = tempfile::tempdir().unwrap();
    let layer = rollcall_layer(dir.path());
    let code = code_dir(dir.path(), "code", &function_binary("hello"), "hello");
    let version = format!("1={}", code.display());
    let layer = layer.display().to_string();
    let lab = start_lab(&[
        "--version",
        &version,
        "--handler",
        "hello",
        "--layer",
        &layer,
        "--env",
        "ROLLCALL_HEADER=bad header",
        "--env",
        "ROLLCALL_FLUSH_INTERVAL=soon",
    ])
    .await;
    assert_eq!(
        serve(&lab, 5).await,
        (5, 0),
        "served, untagged: tagging is off"
    );
    let logs = lab.pools["1"].logs();
    lab.shutdown().await;
    let lines: Vec<String> = logs.snapshot().into_iter().map(|l| l.text).collect();
    for variable in [
        "ROLLCALL_HEADER=\"bad header\"",
        "ROLLCALL_FLUSH_INTERVAL=\"soon\"",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(variable)),
            "a log line names {variable}: {lines:#?}"
        );
    }
    assert!(emf_documents(&logs).is_empty(), "metrics are off");
}

/// The extension is killed while a request is in flight (the function takes 100 ms): that
/// request may fail, each environment whose extension died fails at most one request, and every
/// request after that is served and tagged.
#[tokio::test]
async fn when_the_extension_crashes_during_a_request_later_requests_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let layer = rollcall_layer(dir.path());
    let lab = hello_lab_with(dir.path(), &layer, &["--env", "HELLO_LATENCY_MS=100"]).await;
    assert_eq!(serve(&lab, 3).await, (3, 3));

    let logs = lab.pools["1"].logs();
    let starts = || {
        logs.snapshot()
            .iter()
            .filter(|l| l.text.starts_with("START RequestId"))
            .count()
    };
    let before = starts();
    let addr = lab.api.local_addr();
    let in_flight = tokio::spawn(async move { send(addr, "GET", "/hello", b"").await.status });
    // Wait (polling, bounded) until the invocation has started, then kill the extensions.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while starts() == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let pids = extension_pids(&lab, "1");
    assert!(!pids.is_empty());
    for pid in &pids {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let first = in_flight.await.unwrap();
    let (ok, _) = serve(&lab, 10).await;
    let failed = 11 - ok - usize::from(first == 200);
    assert!(
        failed <= pids.len(),
        "{failed} requests failed for {} killed extensions (in flight: {first})",
        pids.len()
    );
    assert_eq!(
        serve(&lab, 10).await,
        (10, 10),
        "every later request is served and tagged"
    );
    lab.shutdown().await;
}
