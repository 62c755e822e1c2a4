//! Every bad input exits 64 with a message that names the flag and the value. The binary is
//! under test here (its exit code is the contract), so it is spawned, with a deadline.

mod common;

use std::time::Duration;

use common::closed_port;

/// Runs the `prober` binary with `args`, no `PROBER_*` variables, and a deadline.
async fn prober_bin(args: &[String]) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"));
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PROBER_") {
            cmd.env_remove(name);
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("prober {args:?} did not exit within 30 s"))
        .expect("spawn prober");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().expect("exited, not killed"), stderr)
}

struct Case {
    /// Arguments replacing or adding to the valid baseline.
    args: Vec<&'static str>,
    /// Substrings the message must contain.
    must_name: Vec<&'static str>,
    /// Whether clap accepts the arguments (the check is then `Config`'s, reachable in-process).
    parses: bool,
}

fn cases() -> Vec<Case> {
    let case = |args: &[&'static str], must_name: &[&'static str], parses| Case {
        args: args.to_vec(),
        must_name: must_name.to_vec(),
        parses,
    };
    vec![
        case(&["--url", "not a url"], &["--url", "not a url"], true),
        case(
            &["--url", "ftp://127.0.0.1/"],
            &["--url", "ftp://127.0.0.1/"],
            true,
        ),
        case(
            &["--header", "NoColonHere"],
            &["--header", "NoColonHere"],
            true,
        ),
        case(
            &["--duration", "10parsecs"],
            &["--duration", "10parsecs"],
            true,
        ),
        case(&["--timeout", "soon"], &["--timeout", "soon"], true),
        case(
            &["--max-body", "0"],
            &["--max-body", "\"0\"", "10MiB"],
            true,
        ),
        case(
            &["--max-body", "lots"],
            &["--max-body", "lots", "e.g. --max-body 10MiB"],
            true,
        ),
        case(&["--rps", "0"], &["--rps", "0"], true),
        case(&["--rps=-5"], &["--rps", "-5"], true),
        case(&["--rps", "abc"], &["--rps", "abc"], false),
        case(
            &["--body-file", "/nonexistent/rollcall/body.json"],
            &["--body-file", "/nonexistent/rollcall/body.json"],
            true,
        ),
        case(
            &["--schedule", "Linear7PercentEvery3Minutes"],
            &[
                "--schedule",
                "Linear7PercentEvery3Minutes",
                "Canary10Percent5Minutes",
                "Linear10PercentEvery1Minute",
                "AllAtOnce",
            ],
            true,
        ),
    ]
}

/// A valid command line, with `case` overriding the flags it names.
fn command_line(case: &Case, url: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let overrides = |flag: &str| case.args.iter().any(|a| a.split('=').next() == Some(flag));
    if !overrides("--url") {
        args.extend(["--url".into(), url.to_owned()]);
    }
    if !overrides("--duration") {
        args.extend(["--duration".into(), "1s".into()]);
    }
    args.extend(case.args.iter().map(|a| (*a).to_owned()));
    args.push("--quiet".into());
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_exits_64_naming_flag_and_value() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let mut failures = Vec::new();
    for case in cases() {
        let args = command_line(&case, &url);
        let (code, stderr) = prober_bin(&args).await;
        let missing: Vec<_> = case
            .must_name
            .iter()
            .filter(|s| !stderr.contains(*s))
            .collect();
        if code != 64 || !missing.is_empty() {
            failures.push(format!(
                "{args:?}: exit {code}, missing {missing:?} in: {stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_url_exits_64_naming_the_flag() {
    let (code, stderr) = prober_bin(&["--duration".into(), "1s".into()]).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("--url"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_usage_errors_of_the_library_too() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let mut failures = Vec::new();
    for case in cases().into_iter().filter(|c| c.parses) {
        let args = command_line(&case, &url);
        match prober::run(common::cli(&args)).await {
            Ok(outcome) => failures.push(format!("{args:?}: ran, exit {}", outcome.exit_code)),
            Err(e) => {
                let message = e.to_string();
                let missing: Vec<_> = case
                    .must_name
                    .iter()
                    .filter(|s| !message.contains(*s))
                    .collect();
                if e.exit_code() != 64 || !missing.is_empty() {
                    failures.push(format!(
                        "{args:?}: exit {}, missing {missing:?} in: {message}",
                        e.exit_code()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_of_a_missing_run_is_a_usage_error() {
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("no-such-run");
    let args = [
        "merge".to_owned(),
        missing.display().to_string(),
        "--out".into(),
        out.path().join("m").display().to_string(),
    ];
    let (code, stderr) = prober_bin(&args).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("no-such-run"), "{stderr}");
}
