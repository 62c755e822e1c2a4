use std::collections::HashMap;

use super::*;

fn parse(vars: &[(&str, &str)]) -> Result<HelloConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    HelloConfig::from_env(|k| map.get(k).cloned())
}

#[test]
fn defaults_when_nothing_is_set() {
    let config = parse(&[]).unwrap();
    assert_eq!(config.version, "$LATEST");
    assert_eq!(config.fail_rate, 0.0);
    assert_eq!(config.latency, Latency::None);
    assert_eq!(config.error_mode, ErrorMode::Status500);
    assert_eq!(config.seed, None);
}

#[test]
fn valid_values_are_parsed() {
    let cases: &[(&[(&str, &str)], HelloConfig)] = &[
        (
            &[
                ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
                ("HELLO_FAIL_RATE", "0.25"),
                ("HELLO_LATENCY_MS", "20"),
                ("HELLO_ERROR_MODE", "unhandled"),
                ("HELLO_SEED", "42"),
            ],
            HelloConfig {
                version: "7".into(),
                fail_rate: 0.25,
                latency: Latency::Fixed(Duration::from_millis(20)),
                error_mode: ErrorMode::Unhandled,
                seed: Some(42),
            },
        ),
        (
            &[("HELLO_LATENCY_MS", "10..50"), ("HELLO_FAIL_RATE", "1")],
            HelloConfig {
                version: "$LATEST".into(),
                fail_rate: 1.0,
                latency: Latency::Uniform {
                    min: Duration::from_millis(10),
                    max: Duration::from_millis(50),
                },
                error_mode: ErrorMode::Status500,
                seed: None,
            },
        ),
    ];
    for (vars, want) in cases {
        assert_eq!(&parse(vars).unwrap(), want, "{vars:?}");
    }
}

#[test]
fn bad_values_name_the_variable() {
    let cases: &[(&str, &str)] = &[
        ("HELLO_FAIL_RATE", "1.5"),
        ("HELLO_FAIL_RATE", "-0.1"),
        ("HELLO_FAIL_RATE", "half"),
        ("HELLO_LATENCY_MS", "50..10"),
        ("HELLO_LATENCY_MS", "fast"),
        ("HELLO_LATENCY_MS", "10..x"),
        ("HELLO_ERROR_MODE", "panic"),
        ("HELLO_SEED", "-1"),
    ];
    for (var, value) in cases {
        let err = parse(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, *var);
        assert_eq!(err.value, *value);
        let text = err.to_string();
        assert!(text.contains(var) && text.contains(value), "{text}");
    }
}

#[test]
fn seeded_failure_share_follows_the_rate() {
    let config = parse(&[("HELLO_FAIL_RATE", "0.2"), ("HELLO_SEED", "7")]).unwrap();
    let hello = Hello::new(config);
    let n = 10_000_f64;
    let failures = (0..n as usize).filter(|_| hello.plan().fail).count() as f64;
    // 5 sigma of a binomial(n, 0.2) share.
    let bound = 5.0 * (0.2 * 0.8 / n).sqrt();
    assert!((failures / n - 0.2).abs() < bound, "share {}", failures / n);
}

#[test]
fn uniform_latency_stays_in_range() {
    let config = parse(&[("HELLO_LATENCY_MS", "10..12"), ("HELLO_SEED", "1")]).unwrap();
    let hello = Hello::new(config);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let plan = hello.plan();
        assert!(!plan.fail);
        seen.insert(plan.delay.as_millis());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![10, 11, 12]);
}

#[test]
fn body_reports_the_version_and_path() {
    let config = parse(&[("AWS_LAMBDA_FUNCTION_VERSION", "3")]).unwrap();
    let body = Hello::new(config).body("/hello");
    assert_eq!(
        body,
        serde_json::json!({"message": "hello from version 3", "version": "3", "path": "/hello"})
    );
}
