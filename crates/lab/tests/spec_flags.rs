//! Today's one-function flags as one case of the spec model.

use std::collections::BTreeMap;
use std::time::Duration;

use lab::api::gateway::{PayloadFormat, Route};
use lab::cli::serve_config;
use lab::control::alias::Routing;
use lab::spec::{Code, FunctionSpec, LabSpec, LayerSpec, RouteSpec, VersionSpec};
use protocol::lambda_api::names::{AliasName, ArnScope, FunctionName, LayerName, Qualifier};

fn abs(p: &str) -> std::path::PathBuf {
    std::path::absolute(p).unwrap()
}

#[test]
fn the_readme_flags_are_a_one_function_spec() {
    let config = serve_config(&[
        "--function",
        "hello",
        "--handler",
        "hello",
        "--version",
        "1=out/dev/code/1",
        "--version",
        "2=out/dev/code/2",
        "--version-env",
        "2:HELLO_FAIL_RATE=0.5",
        "--env",
        "GREETING=hi",
        "--layer",
        "out/dev/layer",
        "--alias",
        "live",
        "--weights",
        "1=0.9,2=0.1",
        "--seed",
        "7",
        "--payload-format",
        "2.0",
        "--memory",
        "512",
        "--timeout",
        "1m",
        "--concurrency",
        "4",
    ])
    .unwrap();
    let spec = LabSpec::from_serve_config(&config).unwrap();

    let hello = FunctionName::parse("hello").unwrap();
    let live = AliasName::parse("live").unwrap();
    let layer = LayerName::parse("layer-1").unwrap();
    let common = BTreeMap::from([("GREETING".to_owned(), "hi".to_owned())]);
    let mut v2_env = common.clone();
    v2_env.insert("HELLO_FAIL_RATE".into(), "0.5".into());
    // `$LATEST` runs the last version's code and environment, as the flags always did.
    let mut function = FunctionSpec::new(Code::Dir(abs("out/dev/code/2")), "hello");
    function.memory_mb = 512;
    function.timeout = Duration::from_secs(60);
    function.environment = v2_env.clone();
    function.layers = vec![layer.clone()];
    function.reserved_concurrency = Some(4);
    function.versions = vec![
        VersionSpec {
            code: Code::Dir(abs("out/dev/code/1")),
            environment: common,
        },
        VersionSpec {
            code: Code::Dir(abs("out/dev/code/2")),
            environment: v2_env,
        },
    ];
    function.aliases.insert(
        live.clone(),
        Routing::from_weights("1", &BTreeMap::from([("2".to_owned(), 0.1)])).unwrap(),
    );
    let route = |r: &str| RouteSpec {
        route: Route::parse(r, PayloadFormat::V2).unwrap(),
        function: hello.clone(),
        qualifier: Some(Qualifier::Alias(live.clone())),
    };
    let expected = LabSpec {
        routes: config
            .routes
            .routes()
            .iter()
            .map(|r| route(&r.route_key()))
            .collect(),
        functions: BTreeMap::from([(hello.clone(), function)]),
        layers: BTreeMap::from([(
            layer,
            LayerSpec {
                content: Code::Dir(abs("out/dev/layer")),
            },
        )]),
        seed: Some(7),
        scope: ArnScope::new("aws", "us-east-1", "123456789012").unwrap(),
    };
    assert_eq!(spec, expected);
    let mut keys: Vec<String> = spec.routes.iter().map(|r| r.route.route_key()).collect();
    keys.sort();
    assert_eq!(keys, ["ANY /", "ANY /{proxy+}"]);
}

#[test]
fn without_an_alias_the_routes_invoke_latest() {
    let config = serve_config(&["--version", "1=/c", "--route", "GET /x"]).unwrap();
    let spec = LabSpec::from_serve_config(&config).unwrap();
    let f = &spec.functions[&FunctionName::parse("hello").unwrap()];
    assert!(f.aliases.is_empty());
    assert_eq!(f.versions.len(), 1);
    assert_eq!(spec.routes.len(), 1);
    assert_eq!(spec.routes[0].route.route_key(), "GET /x");
    assert_eq!(spec.routes[0].qualifier, None);
    assert_eq!(spec.seed, Some(config.seed));
}

#[test]
fn versions_with_a_gap_are_refused_naming_the_flag() {
    let config = serve_config(&["--version", "1=/a", "--version", "3=/c"]).unwrap();
    let e = LabSpec::from_serve_config(&config).unwrap_err();
    assert_eq!(e.key, "--version");
    assert!(e.message.contains("from 1 without gaps"), "{e}");
}
