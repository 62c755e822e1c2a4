//! A spec's function version as the configuration of its execution environments.

use std::time::Duration;

use lab::spec::LabSpec;
use protocol::lambda_api::names::FunctionName;

#[test]
fn a_spec_version_becomes_its_environments_configuration() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/lab.yaml");
    let spec = LabSpec::load(&path).unwrap();
    let hello = FunctionName::parse("hello").unwrap();
    let v2 = "2".parse().unwrap();
    let c = spec
        .function_config(&hello, Some(v2), "/code/2".into(), vec!["/opt1".into()])
        .unwrap();
    assert_eq!(
        (c.function_name.as_str(), c.version.as_str()),
        ("hello", "2")
    );
    assert_eq!(c.code_dir, std::path::Path::new("/code/2"));
    assert_eq!(c.layer_dirs, [std::path::PathBuf::from("/opt1")]);
    assert_eq!((c.memory_mb, c.timeout), (256, Duration::from_secs(5)));
    assert_eq!(c.handler, "hello");
    assert_eq!(c.env_vars["HELLO_FAIL_RATE"], "0.1");
    assert_eq!(
        (c.region.as_str(), c.account_id.as_str()),
        ("eu-west-1", "210987654321")
    );
    assert_eq!(c.command, None);

    let latest = spec
        .function_config(&hello, None, "/code/latest".into(), vec![])
        .unwrap();
    assert_eq!(latest.version, "$LATEST");
    assert!(!latest.env_vars.contains_key("HELLO_FAIL_RATE"));

    let echo = FunctionName::parse("echo").unwrap();
    let c = spec
        .function_config(&echo, None, "/srv/echo".into(), vec![])
        .unwrap();
    assert_eq!(
        c.command,
        Some(vec!["python3".to_owned(), "runtime.py".to_owned()])
    );
    assert!(
        spec.function_config(&echo, Some(v2), "/x".into(), vec![])
            .is_none()
    );
    let nobody = FunctionName::parse("nobody").unwrap();
    assert!(
        spec.function_config(&nobody, None, "/x".into(), vec![])
            .is_none()
    );
}

/// Streamed responses keep to Lambda's bandwidth cap unless the function says
/// `stream_bandwidth_cap: false`.
#[test]
fn the_stream_bandwidth_cap_is_lambda_s_unless_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let spec = LabSpec::from_yaml(
        "functions:\n  capped: {code: .}\n  free: {code: ., stream_bandwidth_cap: false}\n",
        dir.path(),
    )
    .unwrap();
    let config = |name: &str| {
        spec.function_config(
            &FunctionName::parse(name).unwrap(),
            None,
            "/c".into(),
            vec![],
        )
        .unwrap()
    };
    assert_eq!(
        config("capped").stream_bandwidth,
        Some(lab::env::stream::StreamBandwidth::LAMBDA)
    );
    assert_eq!(config("free").stream_bandwidth, None);
}
