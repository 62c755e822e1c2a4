//! The spec file: the complete example parsed into the expected model, and one refusal per rule
//! Lambda or API Gateway enforces, each naming the key and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab::api::gateway::{PayloadFormat, Route};
use lab::control::alias::Routing;
use lab::spec::{Code, FunctionSpec, LabSpec, LayerSpec, RouteSpec, SpecError, VersionSpec};
use protocol::lambda_api::names::{AliasName, ArnScope, FunctionName, LayerName, Qualifier};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/lab.yaml")
}

fn name(s: &str) -> FunctionName {
    FunctionName::parse(s).unwrap()
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_complete_example_parses_into_the_expected_model() {
    let path = fixture();
    let dir = path.parent().unwrap();
    let spec = LabSpec::load(&path).unwrap();

    let rollcall = LayerName::parse("rollcall").unwrap();
    let live = AliasName::parse("live").unwrap();
    let hello_env = env(&[("GREETING", "hi"), ("PORT", "8080")]);
    let mut hello = FunctionSpec::new(Code::Dir(dir.join("code/hello")), "hello");
    hello.memory_mb = 256;
    hello.timeout = Duration::from_secs(5);
    hello.environment = hello_env.clone();
    hello.layers = vec![rollcall.clone()];
    hello.reserved_concurrency = Some(20);
    hello.versions = vec![
        VersionSpec {
            code: Code::Zip(dir.join("code/hello-v1.zip")),
            environment: hello_env.clone(),
        },
        VersionSpec {
            code: Code::Dir(dir.join("code/hello")),
            environment: env(&[
                ("GREETING", "hi"),
                ("PORT", "8080"),
                ("HELLO_FAIL_RATE", "0.1"),
            ]),
        },
    ];
    hello.aliases.insert(
        live.clone(),
        Routing::from_weights("1", &BTreeMap::from([("2".to_owned(), 0.1)])).unwrap(),
    );
    let mut echo = FunctionSpec::new(Code::Dir("/srv/echo".into()), "echo.handler");
    echo.runtime = "python3.12".into();
    echo.command = Some(vec!["python3".into(), "runtime.py".into()]);

    let expected = LabSpec {
        functions: BTreeMap::from([(name("hello"), hello), (name("echo"), echo)]),
        layers: BTreeMap::from([(
            rollcall,
            LayerSpec {
                content: Code::Dir(dir.join("../layer")),
            },
        )]),
        routes: vec![
            RouteSpec {
                route: Route::parse("GET /hello", PayloadFormat::V2).unwrap(),
                function: name("hello"),
                qualifier: Some(Qualifier::Alias(live)),
            },
            RouteSpec {
                route: Route::parse("ANY /v1/{proxy+}", PayloadFormat::V1).unwrap(),
                function: name("hello"),
                qualifier: Some(Qualifier::parse("1").unwrap()),
            },
            RouteSpec {
                route: Route::parse("$default", PayloadFormat::V2).unwrap(),
                function: name("echo"),
                qualifier: None,
            },
        ],
        seed: Some(7),
        scope: ArnScope::new("aws", "eu-west-1", "210987654321").unwrap(),
    };
    assert_eq!(spec, expected);
}

#[test]
fn json_is_read_as_yaml_with_lambdas_defaults() {
    let spec =
        LabSpec::from_yaml(r#"{"functions": {"f": {"code": "c"}}}"#, Path::new("/b")).unwrap();
    let f = &spec.functions[&name("f")];
    assert_eq!(f.code, Code::Dir("/b/c".into()));
    assert_eq!((f.memory_mb, f.timeout), (128, Duration::from_secs(3)));
    assert_eq!(
        (f.handler.as_str(), f.runtime.as_str()),
        ("bootstrap", "provided.al2023")
    );
    assert!(f.versions.is_empty() && f.aliases.is_empty() && spec.routes.is_empty());
    assert_eq!(
        spec.scope,
        ArnScope::new("aws", "us-east-1", "123456789012").unwrap()
    );
}

#[test]
fn an_error_in_a_file_names_the_file_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(
        &path,
        "functions:\n  hello:\n    code: c\n    memory: lots\n",
    )
    .unwrap();
    let e = LabSpec::load(&path).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
    assert_eq!(e.key, "functions.hello.memory");
    assert_eq!(e.location.map(|(line, _)| line), Some(4));
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{}:4:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("functions.hello.memory"), "{shown}");
}

#[test]
fn a_syntax_error_gives_its_line_and_column() {
    let e = refused(&with("  - x\n"));
    assert_eq!(e.location, Some((4, 3)), "{e}");
    assert!(
        e.to_string().starts_with("line 4 column 3: functions: "),
        "{e}"
    );
}

#[test]
fn an_empty_file_is_refused_saying_what_to_add() {
    for yaml in ["", "functions: {}\n"] {
        let e = refused(yaml);
        assert_eq!(e.key, "functions", "{e}");
        assert!(e.message.contains("add one under `functions:`"), "{e}");
    }
}

#[test]
fn a_missing_file_is_named() {
    let e = LabSpec::load(Path::new("/nonexistent/lab.yaml")).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with("/nonexistent/lab.yaml: cannot read"),
        "{shown}"
    );
}

const BASE: &str = "functions:\n  hello:\n    code: c\n";

fn refused(yaml: &str) -> SpecError {
    match LabSpec::from_yaml(yaml, Path::new("/base")) {
        Ok(spec) => panic!("accepted:\n{yaml}\n{spec:?}"),
        Err(e) => e,
    }
}

/// `BASE` with `lines` added under the function `hello`, or at the top level when they are not
/// indented.
fn with(lines: &str) -> String {
    format!("{BASE}{lines}")
}

macro_rules! refusal {
    ($test:ident, $yaml:expr, $key:expr, $fix:expr) => {
        #[test]
        fn $test() {
            let yaml: String = $yaml.into();
            let e = refused(&yaml);
            assert_eq!(e.key, $key, "{e}");
            assert!(e.message.contains($fix), "{e}\nshould contain {:?}", $fix);
        }
    };
}

refusal!(
    unknown_key,
    with("    memroy: 256\n"),
    "functions.hello.memroy",
    "remove or rename"
);
refusal!(
    unknown_top_level_key,
    with("regoin: x\n"),
    "regoin",
    "remove or rename"
);
refusal!(
    missing_code,
    "functions:\n  hello:\n    handler: h\n",
    "functions.hello",
    "add the key"
);
refusal!(
    wrong_type,
    with("    memory: lots\n"),
    "functions.hello.memory",
    "type"
);
refusal!(yaml_syntax, with("  - x\n"), "functions", "YAML syntax");
refusal!(
    function_twice,
    with("  hello:\n    code: d\n"),
    "functions",
    "key hello is written twice"
);
refusal!(
    variable_twice,
    with("    environment:\n      A1: x\n      A1: y\n"),
    "functions.hello.environment",
    "key A1 is written twice"
);
refusal!(no_function, "seed: 1\n", "functions", "add one");
refusal!(
    function_name,
    "functions:\n  hello world:\n    code: c\n",
    "functions.hello world",
    "use only letters"
);
refusal!(
    memory_low,
    with("    memory: 64\n"),
    "functions.hello.memory",
    "128..=10240"
);
refusal!(
    memory_high,
    with("    memory: 10241\n"),
    "functions.hello.memory",
    "128..=10240"
);
refusal!(
    timeout_zero,
    with("    timeout: 0\n"),
    "functions.hello.timeout",
    "1 s..=900 s"
);
refusal!(
    timeout_long,
    with("    timeout: 15m1s\n"),
    "functions.hello.timeout",
    "1 s..=900 s"
);
refusal!(
    timeout_words,
    with("    timeout: soon\n"),
    "functions.hello.timeout",
    "use seconds (3)"
);
refusal!(
    handler_space,
    with("    handler: a b\n"),
    "functions.hello.handler",
    "without spaces"
);
refusal!(
    runtime_empty,
    with("    runtime: ''\n"),
    "functions.hello.runtime",
    "leave the key out"
);
refusal!(
    command_empty,
    with("    command: []\n"),
    "functions.hello.command",
    "[python3, runtime.py]"
);
refusal!(
    six_layers,
    format!(
        "{}layers:\n{}",
        with("    layers: [a, b, c, d, e, f]\n"),
        ["a", "b", "c", "d", "e", "f"]
            .map(|l| format!("  {l}: {{content: x}}\n"))
            .concat()
    ),
    "functions.hello.layers",
    "at most 5"
);
refusal!(
    unknown_layer,
    with("    layers: [ext]\n"),
    "functions.hello.layers[0]",
    "define it under `layers:`"
);
refusal!(
    layer_twice,
    with("    layers: [ext, ext]\nlayers:\n  ext: {content: x}\n"),
    "functions.hello.layers[1]",
    "name each layer once"
);
refusal!(
    layer_name,
    "layers:\n  'a:b': {content: x}\n",
    "layers.a:b",
    "use only letters"
);
refusal!(
    environment_too_large,
    with(&format!(
        "    environment:\n      BIG: {}\n",
        "x".repeat(4094)
    )),
    "functions.hello.environment",
    "4096 bytes"
);
refusal!(
    version_environment_too_large,
    with(&format!(
        "    environment: {{A1: {}}}\n    versions:\n      - environment: {{B1: {}}}\n",
        "x".repeat(2000),
        "y".repeat(2100)
    )),
    "functions.hello.versions[0].environment",
    "4096 bytes"
);
refusal!(
    environment_key,
    with("    environment: {'1X': v}\n"),
    "functions.hello.environment.1X",
    "start with a letter"
);
refusal!(
    environment_reserved,
    with("    environment: {AWS_REGION: eu-west-1}\n"),
    "functions.hello.environment.AWS_REGION",
    "is reserved"
);
refusal!(
    reserved_concurrency_zero,
    with("    reserved_concurrency: 0\n"),
    "functions.hello.reserved_concurrency",
    "use at least 1"
);
refusal!(
    reserved_concurrency_over_what_the_account_keeps,
    with("    reserved_concurrency: 600\n  world:\n    code: w\n    reserved_concurrency: 301\n"),
    "functions.world.reserved_concurrency",
    "at most 900 can be reserved"
);

#[test]
fn reserved_concurrency_up_to_what_the_account_keeps_is_accepted() {
    let yaml = with(
        "    reserved_concurrency: 600\n  world:\n    code: w\n    reserved_concurrency: 300\n",
    );
    LabSpec::from_yaml(&yaml, Path::new("/base")).unwrap_or_else(|e| panic!("{e}"));
}

refusal!(
    weight_out_of_range,
    with("    versions: [{}, {}]\n    aliases:\n      live: {version: 1, weights: {2: 1.5}}\n"),
    "functions.hello.aliases.live",
    "between 0.0 and 1.0"
);
refusal!(
    latest_in_weighted_alias,
    with("    versions: [{}]\n    aliases:\n      live: {version: $LATEST, weights: {1: 0.5}}\n"),
    "functions.hello.aliases.live",
    "publish a version"
);
refusal!(
    two_additional_versions,
    with(
        "    versions: [{}, {}, {}]\n    aliases:\n      live: {version: 1, weights: {2: 0.1, 3: 0.1}}\n"
    ),
    "functions.hello.aliases.live.weights",
    "at most one additional version"
);
refusal!(
    additional_is_primary,
    with("    versions: [{}]\n    aliases:\n      live: {version: 1, weights: {1: 0.5}}\n"),
    "functions.hello.aliases.live",
    "another number"
);
refusal!(
    alias_over_unknown_version,
    with("    versions: [{}, {}]\n    aliases:\n      live: {version: 1, weights: {3: 0.5}}\n"),
    "functions.hello.aliases.live",
    "versions 1..=2"
);
refusal!(
    alias_over_a_version_of_nothing_published,
    with("    aliases:\n      live: {version: 1}\n"),
    "functions.hello.aliases.live",
    "add a version"
);
refusal!(
    alias_version_not_a_number,
    with("    versions: [{}]\n    aliases:\n      live: {version: v1}\n"),
    "functions.hello.aliases.live",
    "$LATEST or a published version number"
);
refusal!(
    alias_name_all_digits,
    with("    aliases:\n      '12': {version: $LATEST}\n"),
    "functions.hello.aliases.12",
    "give the alias a letter"
);
refusal!(
    route_syntax,
    with("routes:\n  - {route: /hello, target: hello}\n"),
    "routes[0].route",
    "use 'METHOD /path'"
);
refusal!(
    route_method,
    with("routes:\n  - {route: FETCH /hello, target: hello}\n"),
    "routes[0].route",
    "use GET, POST"
);
refusal!(
    route_payload_format,
    with("routes:\n  - {route: GET /, target: hello, payload_format: 3.0}\n"),
    "routes[0].payload_format",
    "use 1.0 or 2.0"
);
refusal!(
    default_payload_format,
    with("payload_format: v2\n"),
    "payload_format",
    "use 1.0 or 2.0"
);
refusal!(
    route_to_unknown_function,
    with("routes:\n  - {route: GET /, target: bye}\n"),
    "routes[0].target",
    "use one of hello"
);
refusal!(
    route_to_unknown_version,
    with("    versions: [{}]\nroutes:\n  - {route: GET /, target: 'hello:2'}\n"),
    "routes[0].target",
    "a version 1..=1"
);
refusal!(
    route_to_unknown_alias,
    with("routes:\n  - {route: GET /, target: 'hello:live'}\n"),
    "routes[0].target",
    "one of its aliases"
);
refusal!(
    url_to_unknown_alias,
    with("    url: {invoke_mode: RESPONSE_STREAM, qualifier: live}\n"),
    "functions.hello.url.qualifier",
    "one of its aliases"
);
refusal!(
    url_to_unknown_version,
    with("    versions: [{}]\n    url: {qualifier: '3'}\n"),
    "functions.hello.url.qualifier",
    "a version 1..=1"
);
refusal!(
    route_target_syntax,
    with("routes:\n  - {route: GET /, target: 'hello:live:1'}\n"),
    "routes[0].target",
    "function:qualifier"
);
refusal!(
    route_twice,
    with("routes:\n  - {route: GET /a, target: hello}\n  - {route: 'get /a', target: hello}\n"),
    "routes[1].route",
    "defined twice"
);
refusal!(
    region,
    with("region: Mars\n"),
    "region",
    "Region name like us-east-1"
);
refusal!(account, with("account: 1234\n"), "account", "12 digits");
