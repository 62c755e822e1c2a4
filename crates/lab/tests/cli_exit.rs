//! How `rollcall-lab` ends on bad input: a usage error is printed once, names the input and the
//! fix, never comes with a backtrace (even with `RUST_BACKTRACE=1`), and exits 64 like the
//! prober's.

use std::process::{Command, Output};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

#[test]
fn usage_errors_exit_64_printed_once_without_a_backtrace() {
    let code = tempfile::tempdir().unwrap();
    let version = format!("1={}", code.path().display());
    let cases: [(&[&str], &str); 4] = [
        // clap's own refusal
        (&["serve", "--bogus"], "--bogus"),
        // a flag value refused by the configuration
        (
            &["serve", "--version", &version, "--weights", "1=1"],
            "--weights",
        ),
        // a code dir that does not exist
        (
            &["serve", "--version", "1=/nonexistent/rollcall-lab-test"],
            "/nonexistent/rollcall-lab-test",
        ),
        // a code dir without bootstrap
        (&["serve", "--version", &version], "--version 1"),
    ];
    for (args, names) in cases {
        let out = lab(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?} should name {names}: {stderr}"
        );
        assert!(
            !stderr.contains("backtrace") && !stderr.contains("Caused by"),
            "{args:?}: {stderr}"
        );
        let first_line = stderr.lines().next().unwrap_or_default();
        assert_eq!(
            stderr.matches(first_line).count(),
            1,
            "{args:?}: printed more than once: {stderr}"
        );
    }
}

#[test]
fn help_still_succeeds() {
    let out = lab(&["serve", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--version"));
}

#[test]
fn on_sigterm_the_lab_prints_its_summary_and_exits_0() {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(&bootstrap, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let version = format!("1={}", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .args(["serve", "--function", "quiet", "--version", &version])
        .args(["--api-port", "0", "--lambda-port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("API front door") {
        banner.clear();
        assert!(stdout.read_line(&mut banner).unwrap() > 0, "no banner");
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("rollcall-lab summary:"), "{rest}");
    assert!(
        rest.contains(
            "quiet version 1: 0 invocations, 0 cold starts, 0 throttled, 0 init failures, 0 environments replaced"
        ),
        "{rest}"
    );
}

#[test]
fn a_reader_that_closes_stdout_after_the_first_line_does_not_stop_the_lab() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(&bootstrap, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let version = format!("1={}", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall-lab"))
        .args(["serve", "--function", "quiet", "--version", &version])
        .args([
            "--route",
            "GET /hello",
            "--api-port",
            "0",
            "--lambda-port",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // `rollcall-lab serve | head -1`: the first line, then the pipe is gone.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .strip_prefix("API front door:")
        .map(str::trim)
        .unwrap_or_else(|| panic!("the first line names the front door: {first:?}"));
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    // The lab then serves: an HTTP exchange on the front door is answered (403 Missing Authentication Token: no such route, as API Gateway).
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /nothing HTTP/1.1\r\nhost: lab\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply:?}");
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "the lab exited when its stdout closed"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the summary to a closed stdout is no failure"
    );
}
