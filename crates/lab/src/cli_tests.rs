use super::*;
use std::time::Duration;

use crate::api::gateway::Route;
use crate::control::alias::Routing;

fn parse(args: &[&str]) -> Result<ServeConfig, CliError> {
    let mut argv = vec!["rollcall-lab", "serve"];
    argv.extend_from_slice(args);
    let Command::Serve(serve) = Cli::try_parse_from(argv)
        .expect("clap accepts the shape")
        .command
    else {
        unreachable!("the argv starts with `serve`")
    };
    serve.into_config()
}

#[test]
fn full_command_line() {
    let config = parse(&[
        "--function",
        "hello",
        "--version",
        "2=/code/v2",
        "--version",
        "1=/code/v1",
        "--version-env",
        "2:HELLO_FAIL_RATE=0.5",
        "--env",
        "RUST_LOG=info",
        "--layer",
        "/layers/rollcall",
        "--memory",
        "256",
        "--timeout",
        "10s",
        "--alias",
        "live",
        "--weights",
        "1=0.9,2=0.1",
        "--seed",
        "42",
        "--concurrency",
        "4",
        "--route",
        "GET /hello",
        "--route",
        "ANY /{proxy+}@2.0",
        "--payload-format",
        "1.0",
        "--api-port",
        "0",
        "--lambda-port",
        "0",
        "--log-dir",
        "/tmp/logs",
    ])
    .unwrap();
    assert_eq!(config.function, "hello");
    assert_eq!(
        config
            .versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["1", "2"],
        "sorted by number"
    );
    assert_eq!(config.versions[1].env["HELLO_FAIL_RATE"], "0.5");
    assert!(config.versions[0].env.is_empty());
    assert_eq!(config.latest().version, "2");
    assert_eq!(config.env["RUST_LOG"], "info");
    assert_eq!(config.memory_mb, 256);
    assert_eq!(config.timeout, Duration::from_secs(10));
    let alias = config.alias.as_ref().unwrap();
    assert_eq!(alias.name, "live");
    assert_eq!(alias.routing.primary, "1");
    assert_eq!(alias.routing.additional, Some(("2".into(), 0.1)));
    assert_eq!(config.seed, 42);
    assert_eq!(config.concurrency, Some(4));
    let routes = config.routes.routes();
    assert_eq!(routes[0].route_key(), "GET /hello");
    assert_eq!(routes[0].format, PayloadFormat::V1);
    assert_eq!(routes[1].format, PayloadFormat::V2);
    assert_eq!(config.api_addr.port(), 0);
    assert!(config.api_addr.ip().is_loopback());
    assert_eq!(config.log_dir, Some(PathBuf::from("/tmp/logs")));
}

#[test]
fn defaults() {
    let config = parse(&["--version", "1=/code"]).unwrap();
    assert_eq!(config.function, "hello");
    assert_eq!(config.handler, "bootstrap");
    assert_eq!(config.memory_mb, 128);
    assert_eq!(config.timeout, Duration::from_secs(3));
    assert_eq!(config.alias, None);
    assert_eq!(config.api_addr.port(), 3000);
    assert_eq!(config.lambda_addr.port(), 3001);
    assert_eq!(config.default_format, PayloadFormat::V1);
    let keys: Vec<String> = config
        .routes
        .routes()
        .iter()
        .map(Route::route_key)
        .collect();
    assert_eq!(keys, ["ANY /", "ANY /{proxy+}"]);
    let alias_only = parse(&["--version", "1=/a", "--version", "3=/b", "--alias", "live"]).unwrap();
    assert_eq!(alias_only.alias.unwrap().routing, Routing::single("3"));
}

#[test]
fn bad_values_are_refused_naming_them() {
    let cases: &[(&[&str], &str)] = &[
        (&["--version", "one=/code"], "one=/code"),
        (&["--version", "1"], "\"1\""),
        (&["--version", "1=/a", "--version", "1=/b"], "1=/b"),
        (&["--version", "1=/a", "--version-env", "2:K=V"], "2:K=V"),
        (&["--version", "1=/a", "--version-env", "1:K"], "1:K"),
        (&["--version", "1=/a", "--env", "=x"], "=x"),
        (&["--version", "1=/a", "--memory", "64"], "64"),
        (&["--version", "1=/a", "--timeout", "0"], "\"0\""),
        (&["--version", "1=/a", "--timeout", "1000s"], "1000s"),
        (&["--version", "1=/a", "--timeout", "soon"], "soon"),
        (&["--version", "1=/a", "--weights", "1=1"], "--alias"),
        (&["--version", "1=/a", "--alias", "7"], "\"7\""),
        (
            &[
                "--version",
                "1=/a",
                "--version",
                "2=/b",
                "--alias",
                "live",
                "--weights",
                "1=0.9,2=0.2",
            ],
            "1=0.9,2=0.2",
        ),
        (
            &[
                "--version",
                "1=/a",
                "--alias",
                "live",
                "--weights",
                "1=0.9,2=0.1",
            ],
            "version 2 has no --version",
        ),
        (
            &[
                "--version",
                "1=/a",
                "--version",
                "2=/b",
                "--version",
                "3=/c",
                "--alias",
                "live",
                "--weights",
                "1=0.8,2=0.1,3=0.1",
            ],
            "cannot be greater than 1",
        ),
        (
            &[
                "--version",
                "1=/a",
                "--version",
                "2=/b",
                "--alias",
                "live",
                "--weights",
                "1=1.5,2=-0.5",
            ],
            "out of range",
        ),
        (
            &[
                "--version",
                "1=/a",
                "--alias",
                "live",
                "--weights",
                "1=0.5,1=0.5",
            ],
            "once",
        ),
        (&["--version", "1=/a", "--route", "hello"], "hello"),
        (&["--version", "1=/a", "--payload-format", "3.0"], "3.0"),
        (
            &[
                "--version",
                "1=/a",
                "--api-port",
                "4000",
                "--lambda-port",
                "4000",
            ],
            "4000",
        ),
        (
            &["--version", "1=/a", "--concurrency", "0"],
            "--concurrency",
        ),
        (&["--version", "1=/a", "--function", "bad name"], "bad name"),
    ];
    for (args, needle) in cases {
        let err = parse(args).expect_err(&format!("{args:?} must be refused"));
        let text = err.to_string();
        assert!(
            text.contains(needle),
            "{args:?}: {text:?} should name {needle:?}"
        );
    }
}

#[test]
fn weights_parse() {
    assert_eq!(parse_weights("3=1").unwrap(), Routing::single("3"));
    let r = parse_weights("1=0.75, 2=0.25").unwrap();
    assert_eq!(r.additional, Some(("2".into(), 0.25)));
    assert!(parse_weights("").is_err());
    assert!(parse_weights("$LATEST=0.5,2=0.5").is_err());
}

#[test]
fn relative_dirs_become_absolute() {
    // Environments run with the code dir as their working directory, so a relative path given on
    // the command line must be resolved against the lab's own working directory first.
    let config = parse(&[
        "--version",
        "1=code/v1",
        "--layer",
        "out/layer",
        "--log-dir",
        "logs",
    ])
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(config.versions[0].code_dir, cwd.join("code/v1"));
    assert_eq!(config.layers, vec![cwd.join("out/layer")]);
    assert_eq!(config.log_dir, Some(cwd.join("logs")));
}

#[test]
fn serve_config_uses_free_ports_and_reports_usage_errors() {
    let config = serve_config(&["--function", "f", "--version", "1=/code/v1"]).unwrap();
    assert_eq!(config.api_addr.port(), 0);
    assert_eq!(config.lambda_addr.port(), 0);
    let config = serve_config(&["--function", "f", "--version", "1=/c", "--api-port", "3000"]);
    assert_eq!(
        config.unwrap().api_addr.port(),
        3000,
        "args may name a port"
    );
    match serve_config(&["--no-such-flag"]) {
        Err(CliError::Usage(message)) => assert!(message.contains("--no-such-flag"), "{message}"),
        other => panic!("a usage error: {other:?}"),
    }
}
