use super::*;
use clap::Parser;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["prober"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("clap accepts the arguments")
}

fn no_files(_: &std::path::Path) -> std::io::Result<Vec<u8>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such file",
    ))
}

fn config(args: &[&str]) -> Result<Config, ProberError> {
    Config::from_cli(&cli(args), no_files)
}

#[test]
fn every_bad_input_is_a_usage_error_naming_the_flag() {
    let u = "http://127.0.0.1:1/";
    let table: &[(&[&str], &str)] = &[
        (&[], "--url"),
        (&["--url", "not a url"], "--url"),
        (&["--url", "ftp://host/"], "--url"),
        (&["--url", "http://"], "--url"),
        (&["--url", u, "--rps", "0"], "--rps"),
        (&["--url", u, "--rps", "-5"], "--rps"),
        (&["--url", u, "--rps", "NaN"], "--rps"),
        (&["--url", u, "--duration", "soon"], "--duration"),
        (&["--url", u, "--duration", "0s"], "--duration"),
        (&["--url", u, "--max-duration", "x"], "--max-duration"),
        (&["--url", u, "--timeout", "10"], "--timeout"),
        (&["--url", u, "--method", "GE T"], "--method"),
        (&["--url", u, "--header", "NoColon"], "--header"),
        (&["--url", u, "--header", "bad name: v"], "--header"),
        (&["--url", u, "--header", "x: a\u{7}b"], "--header"),
        (
            &["--url", u, "--body-file", "/nonexistent/body.json"],
            "--body-file",
        ),
        (&["--url", u, "--max-in-flight", "0"], "--max-in-flight"),
        (
            &["--url", u, "--version-header", "bad header"],
            "--version-header",
        ),
        (&["--url", u, "--version-json", "version"], "--version-json"),
        (
            &["--url", u, "--schedule", "Linear99PercentEvery1Day"],
            "--schedule",
        ),
        (
            &["--url", u, "--schedule", "AllAtOnce", "--time-scale", "0"],
            "--time-scale",
        ),
        (
            &["--url", u, "--deployment-start", "yesterday"],
            "--deployment-start",
        ),
        (&["--url", u, "--max-error-rate", "1.5"], "--max-error-rate"),
        (&["--url", u, "--max-error-rate", "0.6"], "--max-error-rate"),
        (&["--url", u, "--max-versions", "0"], "--max-versions"),
        (&["--url", u, "--max-versions", "100000"], "--max-versions"),
        (
            &["--url", u, "--from-version", "3", "--to-version", "3"],
            "--to-version",
        ),
    ];
    for (args, flag) in table {
        let err = config(args).expect_err(&format!("{args:?} must be refused"));
        assert_eq!(err.exit_code(), 64, "{args:?}: {err}");
        assert!(err.to_string().contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn unknown_schedule_lists_valid_names() {
    let err = config(&["--url", "http://h/", "--schedule", "Nope"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("Linear10PercentEvery1Minute"), "{err}");
    assert!(err.contains("Canary10Percent5Minutes"), "{err}");
}

#[test]
fn secrets_never_appear_in_errors() {
    let err = config(&[
        "--url",
        "http://h/",
        "--header",
        "Authorization: Bearer s3cr\u{1}et",
    ])
    .unwrap_err()
    .to_string();
    assert!(!err.contains("s3cr"), "{err}");
    let err = config(&["--url", "ftp://user:hunter2@h/"])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_good_command_line_is_fully_resolved() {
    let c = Config::from_cli(
        &cli(&[
            "--url",
            "https://user:pw@example.com:8443/p?q=1",
            "--rps",
            "200",
            "--duration",
            "90s",
            "--header",
            "x-api-key: k",
            "--body-file",
            "/b.json",
            "--method",
            "POST",
            "--schedule",
            "Linear10PercentEvery1Minute",
            "--time-scale",
            "60",
            "--deployment-start",
            "2026-11-26T04:30:00Z",
            "--version-json",
            "/meta/version",
        ]),
        |_| Ok(b"{}".to_vec()),
    )
    .unwrap();
    assert_eq!(c.target.scheme, Scheme::Https);
    assert_eq!(c.target.host, "example.com");
    assert_eq!(c.target.port, 8443);
    assert_eq!(c.target.origin_form, "/p?q=1");
    assert_eq!(c.target.redacted, "https://example.com:8443/p?q=1");
    assert_eq!(c.duration, Some(Duration::from_secs(90)));
    assert_eq!(c.method, Method::POST);
    assert_eq!(&c.body[..], b"{}");
    assert!(c.headers["x-api-key"].is_sensitive());
    assert!(c.headers["authorization"].is_sensitive());
    assert_eq!(c.headers["authorization"], "Basic dXNlcjpwdw==");
    let sched = c.schedule.as_ref().unwrap();
    assert!(
        (sched.total_duration() - 10.0).abs() < 1e-9,
        "{}",
        sched.total_duration()
    );
    assert!(matches!(c.deployment_start, Some(DeploymentStart::At(_))));
    let rc = c.run_config();
    assert!(!rc.url.contains("pw"));
    assert_eq!(
        rc.version_source,
        [
            "header:x-rollcall-version",
            "header:x-amz-executed-version",
            "json:/meta/version"
        ]
    );
}

#[test]
fn defaults() {
    let c = config(&["--url", "http://127.0.0.1:9/"]).unwrap();
    assert_eq!(c.rps, 50.0);
    assert_eq!(c.timeout, Duration::from_secs(10));
    assert_eq!(c.max_in_flight, 256);
    assert_eq!(c.duration, None);
    assert_eq!(c.run_limit(), Duration::from_secs(7200));
    assert_eq!(c.target.host_header, "127.0.0.1:9");
    assert!(c.body.is_empty());
}

#[test]
fn deployment_start_offsets() {
    let origin = OffsetDateTime::parse("2026-11-26T04:30:00Z", &Rfc3339).unwrap();
    let c = config(&["--url", "http://h/", "--deployment-start", "-2.5"]).unwrap();
    assert_eq!(c.deployment_start.unwrap().seconds_since(origin), -2.5);
    let c = config(&[
        "--url",
        "http://h/",
        "--deployment-start",
        "2026-11-26T04:30:12Z",
    ])
    .unwrap();
    assert_eq!(c.deployment_start.unwrap().seconds_since(origin), 12.0);
}

#[test]
fn header_parsing() {
    let (n, v) = parse_header("Accept:  text/plain ").unwrap();
    assert_eq!(n, "accept");
    assert_eq!(v, "text/plain");
    let (_, v) = parse_header("X-Empty:").unwrap();
    assert_eq!(v, "");
    let (_, v) = parse_header("a: b: c").unwrap();
    assert_eq!(v, "b: c");
}

#[test]
fn a_time_scale_of_one_is_not_written_in_the_schedule_label() {
    let cli = Cli::try_parse_from([
        "prober",
        "--url",
        "http://x/",
        "--schedule",
        "canary:10%:1m",
    ])
    .unwrap();
    let config = Config::from_cli(&cli, |_| Ok(Vec::new())).unwrap();
    let name = config.schedule.unwrap().name().to_owned();
    assert!(!name.contains(" x"), "no time scale in {name:?}");
    let cli = Cli::try_parse_from([
        "prober",
        "--url",
        "http://x/",
        "--schedule",
        "canary:10%:1m",
        "--time-scale",
        "60",
    ])
    .unwrap();
    let config = Config::from_cli(&cli, |_| Ok(Vec::new())).unwrap();
    let name = config.schedule.unwrap().name().to_owned();
    assert!(name.ends_with(" x60"), "{name:?}");
}

#[test]
fn query_secrets_are_sent_but_not_shown() {
    let c = Config::from_cli(
        &cli(&[
            "--url",
            "https://example.com/p?token=S3CRET&X-Amz-Signature=S1G&v=1",
        ]),
        |_| unreachable!(),
    )
    .unwrap();
    assert_eq!(
        c.target.origin_form, "/p?token=S3CRET&X-Amz-Signature=S1G&v=1",
        "requests carry the query as given"
    );
    assert_eq!(
        c.target.redacted,
        "https://example.com/p?token=REDACTED&X-Amz-Signature=REDACTED&v=1"
    );
    assert_eq!(c.run_config().url, c.target.redacted);
    let err = Config::from_cli(
        &cli(&[
            "--url",
            "https://example.com/p?token=S3CRET",
            "-H",
            "AuthorizationS3CRET",
        ]),
        |_| unreachable!(),
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("S3CRET"), "{err}");
    assert!(err.contains("--header"), "{err}");
}

#[test]
fn the_error_budget_defaults_to_half_and_versions_to_sixteen() {
    let c = config(&["--url", "http://h/"]).unwrap();
    assert_eq!(c.max_error_rate, None, "not given");
    assert_eq!(
        c.run_config().max_error_rate,
        Some(0.5),
        "the report states the default"
    );
    assert_eq!(c.max_versions, 16);
    let c = config(&[
        "--url",
        "http://h/",
        "--max-error-rate",
        "0.5",
        "--max-versions",
        "3",
    ])
    .unwrap();
    assert_eq!((c.max_error_rate, c.max_versions), (Some(0.5), 3));
}

#[test]
fn percent_encoded_user_info_is_decoded_before_basic_auth() {
    let c = Config::from_cli(
        &cli(&[
            "--url",
            "http://us%40er:p%3Aw%25@127.0.0.1:3000/",
            "--rps",
            "1",
        ]),
        |_| Ok(Vec::new()),
    )
    .unwrap();
    // base64("us@er:p:w%")
    assert_eq!(c.headers["authorization"], "Basic dXNAZXI6cDp3JQ==");
}
