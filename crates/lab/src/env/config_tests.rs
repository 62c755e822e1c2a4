//! Tests of the environment configuration: variables, validation, bootstrap and wrapper.

use super::*;

fn slots() -> EnvironmentSlots {
    EnvironmentSlots {
        runtime_api: "127.0.0.1:4000".into(),
        log_stream: "2026/01/01/[7]abc".into(),
        proxy_port: 4001,
        telemetry_port: 4002,
    }
}

fn host(name: &str) -> Option<String> {
    match name {
        "PATH" => Some("/usr/bin".into()),
        "HOME" => Some("/root".into()),
        _ => None,
    }
}

#[test]
fn runtime_env_has_every_lambda_variable_and_reserved_ones_win() {
    let mut cfg = FunctionConfig::new("fn", "7", "/code", "bootstrap");
    cfg.layer_dirs = vec![PathBuf::from("/layer")];
    cfg.env_vars
        .insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "spoofed".into());
    cfg.env_vars.insert("MY_VAR".into(), "1".into());
    let env = runtime_env(&cfg, &slots(), &host);
    for (k, v) in [
        ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:4000"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[7]abc"),
        ("LAMBDA_TASK_ROOT", "/code"),
        ("_HANDLER", "bootstrap"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("TZ", "UTC"),
        ("PATH", "/layer/bin:/usr/bin"),
        ("ROLLCALL_PROXY_PORT", "4001"),
        ("ROLLCALL_TELEMETRY_PORT", "4002"),
        ("ROLLCALL_LAB_OPT", "/layer"),
        ("MY_VAR", "1"),
        ("HOME", "/root"),
    ] {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
    }
    for k in [
        "LANG",
        "LD_LIBRARY_PATH",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
    ] {
        assert!(env.contains_key(k), "{k} missing");
    }
}

#[test]
fn the_sdk_endpoints_point_at_the_lab_unless_the_function_chose_its_own() {
    let mut cfg = FunctionConfig::new("fn", "7", "/code", "bootstrap");
    let env = runtime_env(&cfg, &slots(), &host);
    for k in SDK_ENDPOINT_VARIABLES {
        assert!(!env.contains_key(*k), "no lab endpoint given: no {k}");
    }
    cfg.sdk_endpoint = Some("http://127.0.0.1:3001".into());
    // Credentials and region are Lambda's (reserved): a function's own values lose.
    cfg.env_vars
        .insert("AWS_SECRET_ACCESS_KEY".into(), "mine".into());
    cfg.env_vars.insert("AWS_REGION".into(), "eu-west-1".into());
    let env = runtime_env(&cfg, &slots(), &host);
    assert_eq!(env["AWS_ENDPOINT_URL_LAMBDA"], "http://127.0.0.1:3001");
    assert_eq!(env["AWS_ENDPOINT_URL_CODEDEPLOY"], "http://127.0.0.1:3001");
    assert_ne!(env["AWS_SECRET_ACCESS_KEY"], "mine");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    ] {
        assert!(env.get(k).is_some_and(|v| !v.is_empty()), "{k}");
    }
    let ext = extension_env(&env, Path::new("/l1"));
    assert_eq!(ext["AWS_ENDPOINT_URL_CODEDEPLOY"], "http://127.0.0.1:3001");
    // Lambda sets no endpoint variable: the function's own wins, service by service...
    cfg.env_vars.insert(
        "AWS_ENDPOINT_URL_LAMBDA".into(),
        "http://elsewhere:1".into(),
    );
    let env = runtime_env(&cfg, &slots(), &host);
    assert_eq!(env["AWS_ENDPOINT_URL_LAMBDA"], "http://elsewhere:1");
    assert_eq!(env["AWS_ENDPOINT_URL_CODEDEPLOY"], "http://127.0.0.1:3001");
    // ... and a global endpoint means the function chose for every service.
    cfg.env_vars.remove("AWS_ENDPOINT_URL_LAMBDA");
    cfg.env_vars
        .insert("AWS_ENDPOINT_URL".into(), "http://localstack:4566".into());
    let env = runtime_env(&cfg, &slots(), &host);
    assert_eq!(env["AWS_ENDPOINT_URL"], "http://localstack:4566");
    for k in SDK_ENDPOINT_VARIABLES {
        assert!(!env.contains_key(*k), "{k} would override AWS_ENDPOINT_URL");
    }
}

#[test]
fn extensions_do_not_see_the_hidden_variables_but_see_the_version() {
    let cfg = FunctionConfig::new("fn", "7", "/code", "bootstrap");
    let mut env = runtime_env(&cfg, &slots(), &host);
    env.insert("AWS_XRAY_DAEMON_ADDRESS".into(), "x".into());
    let ext = extension_env(&env, Path::new("/l1"));
    for k in [
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_DAEMON_ADDRESS",
    ] {
        assert!(!ext.contains_key(k), "{k} must be hidden");
    }
    assert_eq!(ext["AWS_LAMBDA_FUNCTION_VERSION"], "7");
    assert_eq!(ext["ROLLCALL_LAB_OPT"], "/l1");
}

#[test]
fn opt_paths_map_to_the_layer_that_has_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("wrapper"), "").unwrap();
    let layers = vec![a.clone(), b.clone()];
    assert_eq!(map_opt_path("/opt/wrapper", &layers), a.join("wrapper"));
    assert_eq!(map_opt_path("/opt/missing", &layers), b.join("missing"));
    assert_eq!(
        map_opt_path("/usr/bin/env", &layers),
        PathBuf::from("/usr/bin/env")
    );
}

fn write_exe(path: &Path, mode: u32) {
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn validation_names_the_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    let base = FunctionConfig::new("fn", "1", &code, "bootstrap");
    let err = |c: &FunctionConfig| c.validate().unwrap_err().to_string();

    assert!(err(&base).contains("no bootstrap"), "{}", err(&base));
    write_exe(&code.join("bootstrap"), 0o644);
    assert!(err(&base).contains("not executable"), "{}", err(&base));
    write_exe(&code.join("bootstrap"), 0o755);
    let resolved = base.validate().unwrap();
    assert_eq!(resolved.bootstrap, code.join("bootstrap"));

    let mut c = base.clone();
    c.memory_mb = 64;
    assert!(err(&c).contains("64 MB"));
    c.memory_mb = 10241;
    assert!(err(&c).contains("10241 MB"));
    let mut c = base.clone();
    c.timeout = Duration::from_secs(901);
    assert!(err(&c).contains("901 s"));
    let mut c = base.clone();
    c.code_dir = dir.path().join("nope");
    assert!(err(&c).contains("code dir"));
    let mut c = base.clone();
    c.layer_dirs = vec![dir.path().join("nolayer")];
    assert!(err(&c).contains("layer dir"));
    let mut c = base.clone();
    c.handler = String::new();
    assert!(err(&c).contains("handler"));
}

#[test]
fn extensions_are_found_sorted_and_wrapper_is_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    let layer = dir.path().join("layer");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::create_dir_all(layer.join("extensions")).unwrap();
    write_exe(&layer.join("bootstrap"), 0o755);
    write_exe(&layer.join("wrapper"), 0o755);
    write_exe(&layer.join("extensions/zeta"), 0o755);
    write_exe(&layer.join("extensions/alpha"), 0o755);
    let mut cfg = FunctionConfig::new("fn", "1", &code, "app");
    cfg.layer_dirs = vec![layer.clone()];
    cfg.env_vars
        .insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
    let r = cfg.validate().unwrap();
    assert_eq!(r.bootstrap, layer.join("bootstrap"));
    assert_eq!(
        runtime_command(&r),
        vec![layer.join("wrapper"), layer.join("bootstrap")]
    );
    let names: Vec<_> = r.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    cfg.honour_exec_wrapper = false;
    assert_eq!(
        runtime_command(&cfg.validate().unwrap()),
        vec![layer.join("bootstrap")]
    );
}

#[test]
fn a_runtime_command_replaces_bootstrap_and_the_wrapper_gets_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    let layer = dir.path().join("layer");
    std::fs::create_dir_all(code.join("bin")).unwrap();
    std::fs::create_dir_all(&layer).unwrap();
    write_exe(&layer.join("wrapper"), 0o755);
    write_exe(&code.join("bin/run"), 0o755);
    let mut cfg = FunctionConfig::new("fn", "1", &code, "app");
    cfg.layer_dirs = vec![layer.clone()];
    cfg.env_vars
        .insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
    cfg.command = Some(vec!["python3".into(), "runtime.py".into()]);
    assert_eq!(
        runtime_command(&cfg.validate().unwrap()),
        ["wrapper", "python3", "runtime.py"].map(|p| match p {
            "wrapper" => layer.join(p),
            _ => PathBuf::from(p),
        })
    );
    cfg.command = Some(vec!["bin/run".into(), "-v".into()]);
    cfg.env_vars.clear();
    assert_eq!(
        runtime_command(&cfg.validate().unwrap()),
        [code.join("bin/run"), PathBuf::from("-v")]
    );
    write_exe(&code.join("bin/run"), 0o644);
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("not executable"), "{err}");
}
