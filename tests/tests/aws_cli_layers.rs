//! Layer versions through the lab's Lambda API, driven by the real AWS CLI
//! (`aws lambda ... --endpoint-url`): PublishLayerVersion (`--zip-file fileb://`),
//! GetLayerVersion, GetLayerVersionByArn, ListLayerVersions, ListLayers, DeleteLayerVersion, and
//! a function whose `--layers` are merged in order into what it sees as `/opt` (the layers'
//! `bin/` on `PATH`, the last layer as `$ROLLCALL_LAB_OPT`). Then Lambda's answers to bad input,
//! the lab serving after each.

mod functions_support;

use std::io::{Cursor, Write};

use functions_support::{LambdaApi, names, package, sha256};
use serde_json::Value;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

const LAYER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:layer";

/// A zip of `files` (name, contents, mode).
fn zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents, mode) in files {
        let options = SimpleFileOptions::default().unix_permissions(*mode);
        writer.start_file(*name, options).unwrap();
        writer.write_all(contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A layer whose `bin/greet` prints `who`, with `greeting.txt` holding `text` when given.
fn layer(who: &str, text: Option<&str>) -> Vec<u8> {
    let greet = format!("#!/bin/sh\necho {who}\n");
    let mut files: Vec<(&str, &[u8], u32)> = vec![("bin/greet", greet.as_bytes(), 0o755)];
    if let Some(text) = text {
        files.push(("greeting.txt", text.as_bytes(), 0o644));
    }
    zip(&files)
}

/// A function package whose `bootstrap` reads its layers (`greet` on `PATH`, the file under
/// `$ROLLCALL_LAB_OPT`) into variables, then runs `lab-testfn`, which answers
/// `{"env": [...]}` with them.
fn reader() -> Vec<u8> {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let testfn = std::fs::read(testfn).unwrap();
    let bootstrap = b"#!/bin/sh\n\
        LAYER_GREET=\"$(greet)\"\n\
        LAYER_FILE=\"$(cat \"${ROLLCALL_LAB_OPT:-/opt}/greeting.txt\")\"\n\
        export LAYER_GREET LAYER_FILE\n\
        exec \"$LAMBDA_TASK_ROOT/testfn\"\n";
    zip(&[("bootstrap", bootstrap, 0o755), ("testfn", &testfn, 0o755)])
}

/// What the function's layers gave it: (`greet`'s output, the file's contents).
async fn read_layers(api: &LambdaApi, function: &str, qualifier: &str) -> (Value, Value) {
    let (_, output) = api
        .invoke(
            function,
            qualifier,
            r#"{"env":["LAYER_GREET","LAYER_FILE"]}"#,
        )
        .await;
    (output["LAYER_GREET"].clone(), output["LAYER_FILE"].clone())
}

async fn publish(api: &LambdaApi, name: &str, zip: &[u8], extra: &[&str]) -> Value {
    let file = api.zip_arg(&format!("layer-{name}.zip"), zip);
    let mut args = vec![
        "publish-layer-version",
        "--layer-name",
        name,
        "--zip-file",
        &file,
    ];
    args.extend_from_slice(extra);
    api.ok(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_publishes_reads_lists_and_deletes_layer_versions() {
    let api = LambdaApi::start().await;
    let tools = layer("tools", None);
    let published = publish(
        &api,
        "tools",
        &tools,
        &[
            "--description",
            "greeter",
            "--compatible-runtimes",
            "provided.al2023",
            "--compatible-architectures",
            "x86_64",
            "--license-info",
            "MIT",
        ],
    )
    .await;
    assert_eq!(published["Version"], 1);
    assert_eq!(published["LayerArn"], format!("{LAYER_ARN}:tools"));
    assert_eq!(published["LayerVersionArn"], format!("{LAYER_ARN}:tools:1"));
    assert_eq!(published["Content"]["CodeSize"], tools.len() as u64);
    assert_eq!(published["Content"]["CodeSha256"], sha256(&tools));
    assert_eq!(published["Description"], "greeter");
    assert_eq!(published["LicenseInfo"], "MIT");
    assert_eq!(
        published["CompatibleRuntimes"],
        serde_json::json!(["provided.al2023"])
    );
    assert_eq!(
        published["CompatibleArchitectures"],
        serde_json::json!(["x86_64"])
    );
    assert!(
        published["CreatedDate"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    let data = layer("data", Some("hello from a layer"));
    let data_v1 = publish(
        &api,
        "data",
        &data,
        &["--compatible-runtimes", "python3.12"],
    )
    .await;
    assert_eq!(data_v1["Version"], 1, "each layer numbers its own versions");

    // GetLayerVersion and GetLayerVersionByArn answer what PublishLayerVersion did.
    let got = api
        .ok(&[
            "get-layer-version",
            "--layer-name",
            "tools",
            "--version-number",
            "1",
        ])
        .await;
    assert_eq!(got, published);
    let by_arn = api
        .ok(&[
            "get-layer-version-by-arn",
            "--arn",
            &format!("{LAYER_ARN}:tools:1"),
        ])
        .await;
    assert_eq!(by_arn, published);

    // A function whose layers are merged in order: the later layer's `greet` wins on PATH,
    // and the last layer is the /opt holding greeting.txt.
    let layers = [
        format!("{LAYER_ARN}:tools:1"),
        format!("{LAYER_ARN}:data:1"),
    ];
    let created = api
        .create(
            "reader",
            &reader(),
            &["--layers", &layers[0], &layers[1], "--publish"],
        )
        .await;
    assert_eq!(created["Version"], "1");
    let configuration = api
        .ok(&["get-function-configuration", "--function-name", "reader"])
        .await;
    assert_eq!(
        configuration["Layers"],
        serde_json::json!([
            {"Arn": layers[0], "CodeSize": tools.len()},
            {"Arn": layers[1], "CodeSize": data.len()},
        ])
    );
    let (greet, file) = read_layers(&api, "reader", "1").await;
    assert_eq!((greet, file), ("data".into(), "hello from a layer".into()));

    // The order is the function's: reversed, the tools layer's `greet` wins.
    let reversed = api
        .ok(&[
            "update-function-configuration",
            "--function-name",
            "reader",
            "--layers",
            &layers[1],
            &layers[0],
        ])
        .await;
    assert_eq!(reversed["Layers"][0]["Arn"], layers[1].as_str());
    let (greet, _) = read_layers(&api, "reader", "$LATEST").await;
    assert_eq!(greet, "tools");

    // A second version of `data`: numbers go on; the lists show the newest first, filtered by
    // runtime, paged by the marker.
    let data_v2 = publish(&api, "data", &layer("data2", Some("two")), &[]).await;
    assert_eq!(data_v2["Version"], 2);
    let versions = api
        .ok(&[
            "list-layer-versions",
            "--layer-name",
            "data",
            "--page-size",
            "1",
        ])
        .await;
    assert_eq!(
        names(&versions, "LayerVersions", "LayerVersionArn"),
        [format!("{LAYER_ARN}:data:2"), format!("{LAYER_ARN}:data:1")]
    );
    let python = api
        .ok(&[
            "list-layer-versions",
            "--layer-name",
            "data",
            "--compatible-runtime",
            "python3.12",
        ])
        .await;
    assert_eq!(
        names(&python, "LayerVersions", "LayerVersionArn"),
        [format!("{LAYER_ARN}:data:1")]
    );
    let first_page = api
        .ok(&[
            "list-layer-versions",
            "--layer-name",
            "data",
            "--max-items",
            "1",
        ])
        .await;
    assert_eq!(first_page["LayerVersions"].as_array().unwrap().len(), 1);
    assert!(first_page["NextToken"].is_string(), "{first_page}");
    let listed = api.ok(&["list-layers", "--page-size", "1"]).await;
    assert_eq!(names(&listed, "Layers", "LayerName"), ["data", "tools"]);
    assert_eq!(
        listed["Layers"][0]["LatestMatchingVersion"]["Version"], 2,
        "the newest version"
    );
    let python = api
        .ok(&["list-layers", "--compatible-runtime", "python3.12"])
        .await;
    assert_eq!(
        python["Layers"][0]["LatestMatchingVersion"]["LayerVersionArn"],
        format!("{LAYER_ARN}:data:1")
    );
    assert_eq!(python["Layers"].as_array().unwrap().len(), 1);

    // DeleteLayerVersion: gone from reads and lists, numbers not reused, but the published
    // function version holding it keeps running it.
    let deleted = api
        .ok(&[
            "delete-layer-version",
            "--layer-name",
            "data",
            "--version-number",
            "1",
        ])
        .await;
    assert_eq!(deleted, Value::Null, "no output");
    let gone = api
        .refused(&[
            "get-layer-version",
            "--layer-name",
            "data",
            "--version-number",
            "1",
        ])
        .await;
    assert_eq!(gone, "ResourceNotFoundException");
    let versions = api
        .ok(&["list-layer-versions", "--layer-name", "data"])
        .await;
    assert_eq!(
        names(&versions, "LayerVersions", "LayerVersionArn"),
        [format!("{LAYER_ARN}:data:2")]
    );
    let again = api
        .ok(&[
            "delete-layer-version",
            "--layer-name",
            "data",
            "--version-number",
            "1",
        ])
        .await;
    assert_eq!(again, Value::Null, "deleting again succeeds, as in Lambda");
    let data_v3 = publish(&api, "data", &data, &[]).await;
    assert_eq!(data_v3["Version"], 3, "numbers are never reused");
    let (greet, file) = read_layers(&api, "reader", "1").await;
    assert_eq!((greet, file), ("data".into(), "hello from a layer".into()));
    let one = api
        .ok(&[
            "get-function-configuration",
            "--function-name",
            "reader",
            "--qualifier",
            "1",
        ])
        .await;
    assert_eq!(one["Layers"][1]["Arn"], layers[1].as_str());
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_layer_input_gets_lambdas_answers_and_the_lab_keeps_serving() {
    let api = LambdaApi::start().await;
    api.create("f", &package(&[]), &[]).await;
    let serving = || async {
        let (reply, _) = api.invoke("f", "$LATEST", r#"{"pid":true}"#).await;
        assert_eq!(reply["StatusCode"], 200, "the lab still serves");
    };
    let stderr = |args: Vec<String>| {
        let api = &api;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = api.run(&args).await;
            assert!(!out.status.success(), "{args:?} should fail");
            String::from_utf8_lossy(&out.stderr).into_owned()
        }
    };
    let strings = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    // A zip that is not a zip (the CLI itself refuses a file without a zip's end record, so
    // it gets a zip whose entry is damaged).
    let mut damaged = zip(&[(
        "bin/greet",
        "#!/bin/sh\necho hi\n".repeat(200).as_bytes(),
        0o755,
    )]);
    for b in &mut damaged[60..90] {
        *b ^= 0x5a;
    }
    let not_zip = api.zip_arg("not.zip", &damaged);
    let args = [
        "publish-layer-version",
        "--layer-name",
        "bad",
        "--zip-file",
        &not_zip,
    ];
    assert_eq!(api.refused(&args).await, "InvalidParameterValueException");
    serving().await;

    // Content from S3: the lab has none, and says so.
    let args = strings(&[
        "publish-layer-version",
        "--layer-name",
        "s3",
        "--content",
        "S3Bucket=bucket,S3Key=layer.zip",
    ]);
    let err = stderr(args).await;
    assert!(err.contains("(InvalidParameterValueException)"), "{err}");
    assert!(err.contains("--zip-file fileb://"), "names the fix: {err}");
    serving().await;

    // A layer name outside Lambda's pattern.
    let good = api.zip_arg("good.zip", &layer("x", None));
    let args = [
        "publish-layer-version",
        "--layer-name",
        "bad name!",
        "--zip-file",
        &good,
    ];
    assert_eq!(api.refused(&args).await, "ValidationException");
    serving().await;

    // Unknown layer versions in CreateFunction and UpdateFunctionConfiguration.
    let published = publish(&api, "tools", &layer("tools", None), &[]).await;
    let known = published["LayerVersionArn"].as_str().unwrap().to_owned();
    let unknown = format!("{LAYER_ARN}:tools:9");
    let code = api.zip_arg("g.zip", &package(&[]));
    let create = |layers: Vec<String>| {
        let mut args = strings(&[
            "create-function",
            "--function-name",
            "g",
            "--runtime",
            "provided.al2023",
            "--role",
            functions_support::ROLE,
            "--handler",
            "bootstrap",
            "--zip-file",
            &code,
            "--layers",
        ]);
        args.extend(layers);
        args
    };
    let err = stderr(create(vec![known.clone(), unknown.clone()])).await;
    assert!(err.contains("(InvalidParameterValueException)"), "{err}");
    assert!(
        err.contains(&format!("Layer version {unknown} does not exist.")),
        "{err}"
    );
    serving().await;
    let err = stderr(strings(&[
        "update-function-configuration",
        "--function-name",
        "f",
        "--layers",
        &unknown,
    ]))
    .await;
    assert!(err.contains("(InvalidParameterValueException)"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    serving().await;

    // Six layers (Lambda takes five), all of them existing versions.
    let tools = layer("tools", None);
    let mut six = vec![known.clone()];
    for _ in 0..5 {
        let v = publish(&api, "tools", &tools, &[]).await;
        six.push(v["LayerVersionArn"].as_str().unwrap().to_owned());
    }
    let err = stderr(create(six)).await;
    assert!(err.contains("(InvalidParameterValueException)"), "{err}");
    assert!(err.contains("more than 5 layers"), "{err}");
    serving().await;

    // Nothing was created or changed by the refusals.
    let functions = api.ok(&["list-functions"]).await;
    assert_eq!(names(&functions, "Functions", "FunctionName"), ["f"]);
    let f = api
        .ok(&["get-function-configuration", "--function-name", "f"])
        .await;
    assert!(f.get("Layers").is_none(), "{f}");
    let layers = api.ok(&["list-layers"]).await;
    assert_eq!(names(&layers, "Layers", "LayerName"), ["tools"]);
    api.registry.shutdown_pools().await;
}
