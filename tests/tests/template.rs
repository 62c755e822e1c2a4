//! The SAM application (template.yaml, samconfig.toml) as a user relies on it: valid for the real
//! cfn-lint and SAM CLI, and consistent with the Makefile, the extension and the demo function
//! it deploys.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rollcall_e2e::cfn::{self, Value, at, get_att, intrinsic, plain_str, ref_target, str_at};
use rollcall_e2e::makefile;
use rollcall_e2e::tool::{CFN_LINT, SAM_CLI, Tool};
use rollcall_e2e::workspace_root;
use rollcall_extension::config as ext_config;
use rollcall_extension::metrics as ext_metrics;

const FUNCTION: &str = "HelloFunction";
const LAYER: &str = "RollcallLayer";

fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}

fn template() -> Value {
    cfn::load(&template_path()).unwrap_or_else(|e| panic!("{e}"))
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    at(template, &["Resources", id]).unwrap_or_else(|| panic!("template.yaml has no resource {id}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn locate(tool: &Tool) -> PathBuf {
    tool.locate().unwrap_or_else(|e| panic!("{e}"))
}

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn describe(output: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// template.yaml with `from` replaced by `to` (which must occur), in a fresh directory.
fn mutated_template(from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = read(&template_path());
    assert!(
        text.contains(from),
        "template.yaml no longer contains {from:?}; update this test's mutation"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write mutated template");
    (dir, path)
}

/// A value as deployed with the parameters' defaults: a plain scalar, or `!Ref Parameter`.
fn with_defaults(template: &Value, value: &Value) -> Option<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match ref_target(value) {
        Some(parameter) => at(template, &["Parameters", parameter, "Default"]).and_then(scalar),
        None => scalar(value),
    }
}

/// The function's environment variables, resolved with the parameters' defaults.
fn environment(template: &Value) -> BTreeMap<String, String> {
    let vars = at(
        resource(template, FUNCTION),
        &["Properties", "Environment", "Variables"],
    )
    .and_then(Value::as_mapping)
    .expect("HelloFunction has Environment.Variables");
    vars.iter()
        .map(|(k, v)| {
            let name = plain_str(k).expect("variable names are strings").to_owned();
            let value = with_defaults(template, v)
                .unwrap_or_else(|| panic!("{name} is neither a literal nor a !Ref to a parameter"));
            (name, value)
        })
        .collect()
}

#[test]
fn cfn_lint_finds_nothing() {
    let cfn_lint = locate(&CFN_LINT);
    let out = run(
        &cfn_lint,
        &["--format", "parseable", "template.yaml"],
        &workspace_root(),
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint template.yaml must report no error and no warning:\n{}",
        describe(&out)
    );
}

/// The lint above is not vacuous: cfn-lint runs the SAM transform and sees a broken reference
/// inside `DeploymentPreference`.
#[test]
fn cfn_lint_catches_an_alarm_that_does_not_exist() {
    let cfn_lint = locate(&CFN_LINT);
    let (dir, path) = mutated_template("- !Ref NewVersionLatencyAlarm", "- !Ref NoSuchAlarm");
    let out = run(
        &cfn_lint,
        &["--format", "parseable", path.to_str().unwrap()],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && stdout.contains("E1020") && stdout.contains("NoSuchAlarm"),
        "cfn-lint should report E1020 for !Ref NoSuchAlarm:\n{}",
        describe(&out)
    );
}

/// `sam validate` (the SAM translator, offline: a region but no credentials) and
/// `sam validate --lint` (the SAM CLI's own cfn-lint) both accept the template.
#[test]
fn sam_validate_accepts_the_template() {
    let sam = locate(&SAM_CLI);
    for args in [
        &["validate", "--region", "us-east-1", "-t", "template.yaml"][..],
        &[
            "validate",
            "--lint",
            "--region",
            "us-east-1",
            "-t",
            "template.yaml",
        ][..],
    ] {
        let out = run(&sam, args, &workspace_root());
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("is a valid SAM Template"),
            "sam {args:?} failed:\n{}",
            describe(&out)
        );
    }
}

/// `sam validate` really translates: a DeploymentPreference without AutoPublishAlias is refused.
#[test]
fn sam_validate_refuses_a_deployment_preference_without_alias() {
    let sam = locate(&SAM_CLI);
    let (dir, path) = mutated_template("AutoPublishAlias: live\n", "");
    let out = run(
        &sam,
        &[
            "validate",
            "--region",
            "us-east-1",
            "-t",
            path.to_str().unwrap(),
        ],
        dir.path(),
    );
    let all = describe(&out);
    assert!(
        !out.status.success() && all.contains("AutoPublishAlias"),
        "sam validate should refuse DeploymentPreference without AutoPublishAlias:\n{all}"
    );
}

#[test]
fn the_alias_live_is_shifted_by_codedeploy_with_the_schedule_parameter() {
    let t = template();
    assert_eq!(
        str_at(&t, &["Transform"]),
        Some("AWS::Serverless-2016-10-31")
    );
    let function = resource(&t, FUNCTION);
    assert_eq!(
        str_at(function, &["Properties", "AutoPublishAlias"]),
        Some("live")
    );
    let preference = at(function, &["Properties", "DeploymentPreference"])
        .expect("HelloFunction has a DeploymentPreference");
    let type_parameter =
        ref_target(&preference["Type"]).expect("DeploymentPreference.Type is !Ref <parameter>");
    let parameter = at(&t, &["Parameters", type_parameter]).expect("the Type parameter exists");
    assert_eq!(
        str_at(parameter, &["Default"]),
        Some("Linear10PercentEvery1Minute")
    );
    let allowed = cfn::strings(parameter.get("AllowedValues"));
    assert_eq!(
        allowed,
        rollout::schedule::PREDEFINED,
        "AllowedValues must be every CodeDeploy predefined Lambda configuration"
    );
    for name in allowed {
        rollout::Schedule::parse(name)
            .unwrap_or_else(|e| panic!("the prober cannot follow {name}: {e}"));
    }
    for (hook, condition) in [
        ("PreTraffic", "HasPreTrafficHook"),
        ("PostTraffic", "HasPostTrafficHook"),
    ] {
        let value = at(preference, &["Hooks", hook]).expect("hook is declared");
        let args = intrinsic(value, "If").and_then(Value::as_sequence);
        assert_eq!(
            args.and_then(|a| a.first()).and_then(plain_str),
            Some(condition),
            "{hook} is optional through the condition {condition}"
        );
        assert!(at(&t, &["Conditions", condition]).is_some());
    }
}

#[test]
fn the_handler_is_the_binary_the_makefile_ships() {
    let t = template();
    let text = read(&workspace_root().join("Makefile"));
    let resources = at(&t, &["Resources"])
        .and_then(Value::as_mapping)
        .expect("Resources");
    let mut built = BTreeSet::new();
    for (id, res) in resources {
        if str_at(res, &["Metadata", "BuildMethod"]) == Some("makefile") {
            let id = plain_str(id).expect("logical ids are strings");
            let target = format!("build-{id}");
            assert!(
                makefile::recipe(&text, &target).is_some(),
                "sam build runs `make {target}`, which the Makefile lacks"
            );
            built.insert(id.to_owned());
        }
    }
    assert_eq!(
        built,
        BTreeSet::from([FUNCTION.to_owned(), LAYER.to_owned()])
    );

    let handler = str_at(resource(&t, FUNCTION), &["Properties", "Handler"]).expect("Handler");
    let recipe = makefile::recipe(&text, "build-HelloFunction").expect("build-HelloFunction");
    assert_eq!(
        makefile::artifact_names(&recipe),
        [handler],
        "build-HelloFunction must ship exactly the Handler's binary into $(ARTIFACTS_DIR)"
    );
    assert_ne!(
        handler, "bootstrap",
        "with a `bootstrap` in the package Lambda would skip the layer's /opt/bootstrap (no proxy)"
    );
    assert!(recipe.iter().any(|l| l.contains("-p hello")));
}

#[test]
fn the_layer_is_attached_and_fits_the_function() {
    let t = template();
    let function = resource(&t, FUNCTION);
    let layer = resource(&t, LAYER);
    assert_eq!(
        str_at(layer, &["Type"]),
        Some("AWS::Serverless::LayerVersion")
    );
    let layers = at(function, &["Properties", "Layers"])
        .and_then(Value::as_sequence)
        .expect("HelloFunction.Layers");
    assert!(
        layers.iter().any(|l| ref_target(l) == Some(LAYER)),
        "HelloFunction.Layers must contain !Ref {LAYER}"
    );
    let runtime = str_at(function, &["Properties", "Runtime"]).expect("Runtime");
    assert_eq!(runtime, "provided.al2023");
    assert!(cfn::strings(at(layer, &["Properties", "CompatibleRuntimes"])).contains(&runtime));
    let arch = cfn::strings(at(function, &["Properties", "Architectures"]));
    assert_eq!(arch, ["x86_64"]);
    assert_eq!(
        cfn::strings(at(layer, &["Properties", "CompatibleArchitectures"])),
        arch
    );
    // The Makefile cross-compiles both for the same architecture.
    let text = read(&workspace_root().join("Makefile"));
    for variable in ["LAYER_TARGET", "FUNCTION_TARGET"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(variable))
            .unwrap_or_else(|| panic!("Makefile sets {variable}"));
        assert!(
            line.contains("x86_64-"),
            "{line}: must match Architectures {arch:?}"
        );
    }
    // The files the layer needs exist in the tree the Makefile copies from.
    for script in [
        "extension/layer/bootstrap",
        "extension/layer/rollcall-wrapper",
    ] {
        assert!(text.contains(script), "the Makefile must ship {script}");
        assert!(workspace_root().join(script).is_file(), "{script} exists");
    }
}

/// The `ROLLCALL_*` values are names the extension reads, and it accepts them without a warning.
#[test]
fn the_rollcall_variables_are_ones_the_extension_reads() {
    let t = template();
    let env = environment(&t);
    let config_rs = read(&workspace_root().join("extension/src/config.rs"));
    let known = [
        ext_config::PROXY_PORT_ENV,
        ext_config::TELEMETRY_PORT_ENV,
        ext_config::HEADER_ENV,
        ext_config::NAMESPACE_ENV,
        ext_config::FLUSH_INTERVAL_ENV,
        ext_config::TAGGING_ENV,
        ext_config::METRICS_ENV,
        ext_config::LOG_ENV,
    ];
    let rollcall: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("ROLLCALL_"))
        .collect();
    assert!(!rollcall.is_empty(), "template sets no ROLLCALL_* variable");
    for name in &rollcall {
        assert!(known.contains(name), "{name} is not read by the extension");
        assert!(
            config_rs.contains(name),
            "{name} is not in extension/src/config.rs"
        );
    }
    let (config, warnings) = rollcall_extension::Config::from_env(|k| env.get(k).cloned());
    assert!(
        warnings.is_empty(),
        "the extension refuses template values: {warnings:?}"
    );
    assert_eq!(config, rollcall_extension::Config::default());
}

/// The demo function starts healthy: no injected failure, no added latency. The values are
/// literals, which a user edits to rehearse a bad release: a parameter would publish no new
/// version when overridden (aws/serverless-application-model#3820).
#[test]
fn the_hello_variables_start_a_healthy_function() {
    let t = template();
    let env = environment(&t);
    let vars = &resource(&t, FUNCTION)["Properties"]["Environment"]["Variables"];
    for name in ["HELLO_FAIL_RATE", "HELLO_LATENCY_MS", "HELLO_ERROR_MODE"] {
        assert!(env.contains_key(name), "template sets {name}");
        assert!(
            plain_str(&vars[name]).is_some(),
            "{name} must be a literal, not a parameter (a parameter-only change publishes no version)"
        );
    }
    let config = hello::HelloConfig::from_env(|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("hello refuses the template's defaults: {e}"));
    assert_eq!(config.fail_rate, 0.0);
    let plan = hello::Hello::new(config).plan();
    assert!(!plan.fail && plan.delay.is_zero(), "{plan:?}");
}

/// Every metric an alarm watches is one the extension writes, with the dimensions of the new
/// version, in the namespace the extension is configured with.
#[test]
fn the_alarms_watch_the_new_versions_metrics() {
    let t = template();
    let function = resource(&t, FUNCTION);
    let alarms = at(function, &["Properties", "DeploymentPreference", "Alarms"])
        .and_then(Value::as_sequence)
        .expect("DeploymentPreference.Alarms");
    let namespace_param = "MetricsNamespace";
    assert_eq!(
        str_at(&t, &["Parameters", namespace_param, "Default"]),
        Some(ext_config::DEFAULT_NAMESPACE)
    );
    let env_namespace = at(
        function,
        &[
            "Properties",
            "Environment",
            "Variables",
            ext_config::NAMESPACE_ENV,
        ],
    );
    assert_eq!(env_namespace.and_then(ref_target), Some(namespace_param));

    let mut watched = BTreeSet::new();
    for alarm in alarms {
        let id = ref_target(alarm).expect("alarms are !Ref <alarm resource>");
        let res = resource(&t, id);
        assert_eq!(str_at(res, &["Type"]), Some("AWS::CloudWatch::Alarm"));
        let props = &res["Properties"];
        assert_eq!(str_at(props, &["TreatMissingData"]), Some("notBreaching"));
        let metrics: Vec<&Value> = match props.get("Metrics").and_then(Value::as_sequence) {
            Some(queries) => queries
                .iter()
                .filter_map(|q| at(q, &["MetricStat", "Metric"]))
                .collect(),
            None => vec![props],
        };
        assert!(!metrics.is_empty(), "{id} watches no metric");
        for metric in metrics {
            let name = str_at(metric, &["MetricName"]).expect("MetricName");
            assert_eq!(ref_target(&metric["Namespace"]), Some(namespace_param));
            let dims: Vec<(&str, &Value)> = metric["Dimensions"]
                .as_sequence()
                .expect("Dimensions")
                .iter()
                .map(|d| (str_at(d, &["Name"]).expect("Name"), &d["Value"]))
                .collect();
            assert_eq!(
                dims.len(),
                2,
                "{id}/{name}: exactly FunctionName and Version"
            );
            assert_eq!(dims[0].0, ext_metrics::DIMENSION_FUNCTION);
            assert_eq!(ref_target(dims[0].1), Some(FUNCTION));
            assert_eq!(dims[1].0, ext_metrics::DIMENSION_VERSION);
            assert_eq!(
                get_att(dims[1].1).as_deref(),
                Some("HelloFunction.Version.Version"),
                "{id}/{name}: Version must be the number of the version being deployed"
            );
            watched.insert((id.to_owned(), name.to_owned()));
        }
    }
    let names: BTreeSet<&str> = watched.iter().map(|(_, n)| n.as_str()).collect();
    for name in &names {
        assert!(
            [
                ext_metrics::name::INVOCATIONS,
                ext_metrics::name::ERRORS,
                ext_metrics::name::LATENCY
            ]
            .contains(name),
            "the extension writes no metric {name}"
        );
    }
    assert!(names.contains(ext_metrics::name::ERRORS));
    assert!(names.contains(ext_metrics::name::LATENCY));
    let latency = watched
        .iter()
        .find(|(_, n)| n == ext_metrics::name::LATENCY)
        .map(|(id, _)| resource(&t, id))
        .unwrap();
    assert_eq!(
        str_at(latency, &["Properties", "ExtendedStatistic"]),
        Some("p99")
    );
}

#[test]
fn the_http_api_invokes_the_alias_and_the_outputs_say_where() {
    let t = template();
    let events = at(resource(&t, FUNCTION), &["Properties", "Events"])
        .and_then(Value::as_mapping)
        .expect("HelloFunction.Events");
    let paths: BTreeSet<&str> = events
        .values()
        .filter(|e| str_at(e, &["Type"]) == Some("HttpApi"))
        .filter_map(|e| str_at(e, &["Properties", "Path"]))
        .collect();
    assert_eq!(paths, BTreeSet::from(["/hello", "/{proxy+}"]));

    let outputs = at(&t, &["Outputs"]).expect("Outputs");
    let api_url = intrinsic(&outputs["ApiUrl"]["Value"], "Sub")
        .and_then(plain_str)
        .expect("ApiUrl is !Sub");
    assert!(api_url.starts_with("https://${ServerlessHttpApi}.execute-api."));
    assert!(!api_url.ends_with('/'), "README appends /hello to ApiUrl");
    assert_eq!(
        ref_target(&outputs["LiveAliasArn"]["Value"]),
        Some("HelloFunction.Alias")
    );
    assert_eq!(ref_target(&outputs["LayerArn"]["Value"]), Some(LAYER));
}

#[test]
fn samconfig_deploys_the_demo_stack() {
    let text = read(&workspace_root().join("samconfig.toml"));
    let config: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("samconfig.toml: {e}"));
    let section = |name: &str| -> &toml::Table {
        config
            .get("default")
            .and_then(|d| d.get(name))
            .and_then(|s| s.get("parameters"))
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("samconfig.toml has no [default.{name}.parameters]"))
    };
    assert_eq!(
        config.get("version").and_then(toml::Value::as_float),
        Some(0.1)
    );
    let deploy = section("deploy");
    assert_eq!(deploy["stack_name"].as_str(), Some("rollcall-demo"));
    assert_eq!(deploy["capabilities"].as_str(), Some("CAPABILITY_IAM"));
    assert_eq!(deploy["resolve_s3"].as_bool(), Some(true));
    assert_eq!(deploy["confirm_changeset"].as_bool(), Some(false));
    let build = section("build");
    assert_eq!(build["cached"].as_bool(), Some(false));
    assert_eq!(build["build_in_source"].as_bool(), Some(true));
}
