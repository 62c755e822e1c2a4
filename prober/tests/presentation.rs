//! What a person sees: the end-of-run summary, the live progress lines, hostile version values
//! kept out of the terminal and the XML artifacts, and `PROBER_*` variables. The binary's
//! output is under test here, so it is spawned (not a terminal), with a deadline.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{ServerConfig, TestServer, WeightPlan};

/// What the binary printed and how it exited.
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the `prober` binary with `args` and exactly the `PROBER_*` variables of `env`.
async fn prober_bin(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"));
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PROBER_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("prober {args:?} did not exit within 60 s"))
        .expect("spawn prober");
    Output {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Characters a terminal would act on rather than show: C0 controls except newline, DEL, C1.
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)))
        .collect()
}

fn assert_fits_80_columns(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{what} line wider than 80 columns ({}): {line:?}",
            line.chars().count()
        );
    }
}

fn parse_xml(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    if let Err(e) = roxmltree::Document::parse(&text) {
        panic!("{} is not well-formed XML: {e}", path.display());
    }
}

/// A version value carrying what a hostile or broken server could send in a JSON string: ANSI
/// escapes, a bell, carriage return and newline, NUL, a C1 control, markup, a non-character.
const HOSTILE: &str = "8\u{1b}[2J\u{1b}]0;owned\u{7}\r\n\u{0}\u{9b}<b>&amp;\u{ffff}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_version_values_keep_the_terminal_and_the_xml_artifacts_clean() {
    let server = TestServer::start(ServerConfig {
        new_version: HOSTILE.into(),
        plan: WeightPlan::from_schedule("canary:50%:1s"),
        deployment_delay: Duration::from_millis(500),
        version_in_body: true,
        seed: 21,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = prober_bin(
        &args(&[
            "--url",
            &server.url("/"),
            "--rps",
            "100",
            "--duration",
            "3s",
            "--version-json",
            "/version",
            "--schedule",
            "canary:50%:1s",
            "--out",
            &dir.path().display().to_string(),
        ]),
        &[],
    )
    .await;
    let truth = server.truth();
    assert!(
        truth.tagged(HOSTILE) > 0,
        "the server served the hostile version"
    );

    // Nothing is lost: report.json holds the exact value.
    let report: rollout::Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report.versions.get(HOSTILE).map(|v| v.requests),
        Some(truth.tagged(HOSTILE)),
        "report.json counts the hostile version under its exact value"
    );
    // Every XML artifact stays well-formed.
    for name in ["split.svg", "latency.svg", "junit.xml"] {
        parse_xml(&dir.path().join(name));
    }
    // The terminal gets escaped text, visibly.
    assert_eq!(
        terminal_controls(&out.stdout),
        Vec::<char>::new(),
        "stdout: {:?}",
        out.stdout
    );
    assert_eq!(
        terminal_controls(&out.stderr),
        Vec::<char>::new(),
        "stderr: {:?}",
        out.stderr
    );
    assert!(
        out.stdout.contains("\\u{1b}"),
        "the summary shows the escape: {}",
        out.stdout
    );
    assert!(
        matches!(out.code, 0..=3),
        "exit {}: {}",
        out.code,
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_is_printed_when_not_a_terminal_and_fits_80_columns() {
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_schedule("canary:50%:1s"),
        deployment_delay: Duration::from_millis(500),
        cold_marks: true,
        seed: 22,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = prober_bin(
        &args(&[
            "--url",
            &server.url("/"),
            "--rps",
            "100",
            "--duration",
            "3s",
            "--schedule",
            "canary:50%:1s",
            "--out",
            &dir.path().display().to_string(),
        ]),
        &[],
    )
    .await;
    let report: rollout::Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(out.code, report.exit_code, "{}", out.stderr);
    let summary = &out.stdout;
    assert_fits_80_columns("summary", summary);
    assert_fits_80_columns("progress", &out.stderr);
    // One table row per version, with its request count and cold starts as reported.
    let table: Vec<&str> = summary
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("version"))
        .take_while(|l| !l.trim_start().starts_with("untagged"))
        .collect();
    for (version, v) in &report.versions {
        let row = table
            .iter()
            .find(|l| l.split_whitespace().next() == Some(version.as_str()))
            .unwrap_or_else(|| panic!("no row for version {version} in\n{summary}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells[1],
            v.requests.to_string(),
            "requests of {version}: {row}"
        );
        assert_eq!(
            cells[4],
            v.cold_starts.to_string(),
            "cold starts of {version}: {row}"
        );
    }
    for heading in [
        "requests", "share", "errors", "cold", "p50", "p90", "p99", "max",
    ] {
        assert!(summary.contains(heading), "{heading} in\n{summary}");
    }
    let verdict = serde_json::to_value(report.verdict).unwrap();
    assert!(
        summary.contains(&format!("verdict: {}", verdict.as_str().unwrap())),
        "{summary}"
    );
    assert!(summary.contains("untagged"), "{summary}");
    assert!(
        summary.contains(&dir.path().join("report.json").display().to_string())
            || summary.contains(&dir.path().display().to_string()),
        "artifact paths in\n{summary}"
    );
    // The live lines name the step and label the window the observed share covers.
    let live: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert!(!live.is_empty(), "progress lines on stderr: {}", out.stderr);
    assert!(
        live.iter()
            .any(|l| l.contains("step ") && l.contains("expected") && l.contains("this step")),
        "a live line with the step's own observed share: {live:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boolean_variables_take_the_usual_spellings() {
    // No --url: once the variables parse, the run stops at the missing URL.
    for value in [
        "1", "0", "true", "false", "yes", "no", "on", "off", "TRUE", "Yes",
    ] {
        for var in ["PROBER_QUIET", "PROBER_INSECURE", "PROBER_HTTP2"] {
            let out = prober_bin(&[], &[(var, value)]).await;
            assert_eq!(out.code, 64, "{var}={value}: {}", out.stderr);
            assert!(
                out.stderr.contains("missing --url"),
                "{var}={value} is accepted: {}",
                out.stderr
            );
        }
    }
    let out = prober_bin(&[], &[("PROBER_QUIET", "maybe")]).await;
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("PROBER_QUIET")
            && out.stderr.contains("maybe")
            && out.stderr.contains("yes/no"),
        "the error names the variable, the value and the spellings: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_variable_a_bad_value_came_from() {
    let url = format!("http://127.0.0.1:{}/", common::closed_port());
    for (var, value) in [
        ("PROBER_RPS", "0"),
        ("PROBER_RPS", "fast"),
        ("PROBER_TIMEOUT", "soon"),
        ("PROBER_TIME_SCALE", "-2"),
    ] {
        let out = prober_bin(&args(&["--url", &url]), &[(var, value)]).await;
        assert_eq!(out.code, 64, "{var}={value}: {}", out.stderr);
        assert!(
            out.stderr.contains(var),
            "{var}={value}: the error names {var}: {}",
            out.stderr
        );
    }
    // The same value on the command line is named as the flag.
    let out = prober_bin(&args(&["--url", &url, "--rps", "0"]), &[]).await;
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains("--rps") && !out.stderr.contains("PROBER_RPS"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_boolean_variable_is_false() {
    let server = TestServer::start(ServerConfig::default()).await;
    let run = |quiet: &'static str| {
        let url = server.url("/");
        async move {
            prober_bin(
                &args(&["--url", &url, "--rps", "20", "--duration", "2s"]),
                &[("PROBER_QUIET", quiet)],
            )
            .await
        }
    };
    let (loud, quiet) = tokio::join!(run("off"), run("yes"));
    assert_eq!(
        (loud.code, quiet.code),
        (0, 0),
        "{}{}",
        loud.stderr,
        quiet.stderr
    );
    assert!(
        loud.stderr.lines().any(|l| l.starts_with('[')),
        "PROBER_QUIET=off shows progress: {:?}",
        loud.stderr
    );
    assert_eq!(quiet.stderr, "", "PROBER_QUIET=yes shows none");
    assert!(
        quiet.stdout.contains("verdict: "),
        "the summary still: {}",
        quiet.stdout
    );
}
