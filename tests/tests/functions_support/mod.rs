//! The lab's Lambda API over an empty registry, driven by the real AWS CLI: shared by the
//! function tests.
#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;

use base64::Engine;
use lab::api::InvokeApi;
use lab::api::gateway::Listener;
use lab::api::lambda::FunctionControl;
use lab::control::code::{CodeStore, Limits};
use lab::control::{Provisioner, Registry, Snapshot};
use rollcall_e2e::tool::AWS_CLI;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/lab";
pub const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function";
/// The store's zip limit in these tests (Lambda's is 50 MB): small, to test the refusal cheaply.
pub const ZIP_LIMIT: u64 = 8 * 1024 * 1024;

/// A Lambda API over an empty registry with a code store under a temporary state dir.
pub struct LambdaApi {
    pub listener: Listener,
    pub registry: Arc<Registry>,
    pub dir: tempfile::TempDir,
    aws: PathBuf,
}

impl LambdaApi {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(Snapshot::default());
        let limits = Limits {
            zipped: ZIP_LIMIT,
            unzipped: 64 * 1024 * 1024,
        };
        let control = FunctionControl {
            store: CodeStore::with_limits(dir.path().join("state/code"), limits).unwrap(),
            provisioner: Provisioner::default(),
        };
        let listener = InvokeApi::new(Arc::clone(&registry))
            .with_control(control)
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let aws = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
        Self {
            listener,
            registry,
            dir,
            aws,
        }
    }

    /// `aws lambda <args> --endpoint-url <lab>`.
    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::from(rollcall_e2e::tool::aws_command(
            &self.aws,
            "lambda",
            &format!("http://{}", self.listener.local_addr()),
        ))
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.aws.display()))
    }

    /// The JSON output of a call that must succeed (`Null` when it prints nothing).
    pub async fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "aws lambda {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// The error code of a call that must fail (`An error occurred (<Code>) ...`), then checks
    /// that the lab still serves.
    pub async fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(!out.status.success(), "aws lambda {args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = stderr
            .split_once("An error occurred (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_owned())
            .unwrap_or_else(|| panic!("no error code in: {stderr}"));
        self.ok(&["list-functions"]).await;
        code
    }

    /// Writes `zip` to a file named `name` and gives its `fileb://` argument.
    pub fn zip_arg(&self, name: &str, zip: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, zip).unwrap();
        format!("fileb://{}", path.display())
    }

    /// `create-function <name>` from `zip` (more flags in `extra`).
    pub async fn create(&self, name: &str, zip: &[u8], extra: &[&str]) -> Value {
        let file = self.zip_arg(&format!("{name}.zip"), zip);
        let mut args = vec![
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "provided.al2023",
            "--role",
            ROLE,
            "--handler",
            "bootstrap",
            "--zip-file",
            &file,
        ];
        args.extend_from_slice(extra);
        self.ok(&args).await
    }

    /// Invokes `function` at `qualifier` with `payload`: (the CLI's answer, the output).
    pub async fn invoke(&self, function: &str, qualifier: &str, payload: &str) -> (Value, Value) {
        let out = self.dir.path().join("out.json");
        let reply = self
            .ok(&[
                "invoke",
                "--function-name",
                function,
                "--qualifier",
                qualifier,
                "--payload",
                payload,
                &out.display().to_string(),
            ])
            .await;
        let output = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        (reply, output)
    }
}

/// A package: `lab-testfn` as `bootstrap` (0755), plus `extra` files.
pub fn package(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut files: Vec<(&str, Vec<u8>, u32)> =
        vec![("bootstrap", std::fs::read(testfn).unwrap(), 0o755)];
    files.extend(extra.iter().map(|(n, c)| (*n, c.to_vec(), 0o644)));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents, mode) in files {
        let options = SimpleFileOptions::default().unix_permissions(mode);
        writer.start_file(name, options).unwrap();
        writer.write_all(&contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

pub fn sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

pub fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}
