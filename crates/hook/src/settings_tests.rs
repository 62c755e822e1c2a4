use std::collections::HashMap;

use super::*;

const LAMBDA: &[(&str, &str)] = &[
    ("AWS_REGION", "eu-west-1"),
    ("AWS_ACCESS_KEY_ID", "AKID"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_SESSION_TOKEN", "token"),
];

fn settings(extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let env: HashMap<String, String> = LAMBDA
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_env(|name| env.get(name).cloned())
}

#[test]
fn lambdas_environment_alone_gives_aws_endpoints_and_the_deployments_target() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.credentials.session_token.as_deref(), Some("token"));
    assert_eq!((s.codedeploy_endpoint, s.lambda_endpoint), (None, None));
    assert_eq!(s.target, None);
    assert_eq!(s.check_event, "{}");
}

#[test]
fn service_specific_endpoints_win_over_the_global_one() {
    let s = settings(&[
        ("AWS_ENDPOINT_URL_CODEDEPLOY", "http://127.0.0.1:1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:2"),
    ])
    .unwrap();
    assert_eq!(s.codedeploy_endpoint.as_deref(), Some("http://127.0.0.1:1"));
    assert_eq!(s.lambda_endpoint.as_deref(), Some("http://127.0.0.1:2"));
    let s = settings(&[
        ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:1"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ])
    .unwrap();
    assert_eq!(s.lambda_endpoint, None);
}

#[test]
fn a_target_is_split_at_its_last_colon() {
    let cases = [
        ("hello:2", "hello", "2"),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:hello:live",
            "arn:aws:lambda:eu-west-1:123456789012:function:hello",
            "live",
        ),
    ];
    for (value, function, version) in cases {
        let target = settings(&[("ROLLCALL_HOOK_TARGET", value)])
            .unwrap()
            .target
            .unwrap();
        assert_eq!(
            (target.function.as_str(), target.version.as_str()),
            (function, version)
        );
        assert_eq!(target.to_string(), value);
    }
}

#[test]
fn bad_values_are_refused_naming_the_variable() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("ROLLCALL_HOOK_TARGET", "hello")],
            "ROLLCALL_HOOK_TARGET=\"hello\"",
        ),
        (&[("ROLLCALL_HOOK_TARGET", "hello:")], "function:version"),
        (
            &[("ROLLCALL_HOOK_EVENT", "{nope")],
            "ROLLCALL_HOOK_EVENT is not JSON",
        ),
        (&[("AWS_ACCESS_KEY_ID", "")], "AWS_ACCESS_KEY_ID is not set"),
    ];
    for (extra, needle) in cases {
        let err = settings(extra).unwrap_err().to_string();
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let env = |name: &str| (name == "AWS_ACCESS_KEY_ID").then(|| "AKID".to_owned());
    let err = Settings::from_env(env).unwrap_err();
    assert!(
        matches!(
            err,
            SettingsError::Missing {
                name: "AWS_REGION",
                ..
            }
        ),
        "{err}"
    );
}
