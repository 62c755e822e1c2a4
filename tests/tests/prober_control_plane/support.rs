//! The lab in-process for the prober's control-plane tests: `hello` (the demo function, which
//! names its version in its body) at versions 1 and 2 behind `live` on version 1, the front
//! door's `GET /hello` route to `hello:live`, CodeDeploy at a compressed time scale, and the
//! event log (the ground truth of every routing change). The prober runs as a process with a
//! throwaway AWS environment pointed at the lab.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lab::lab::Lab;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr};

/// The lab and its files.
pub struct AliasLab {
    pub dir: tempfile::TempDir,
    pub lab: Lab,
}

impl AliasLab {
    /// Starts the lab; deployments run `time_scale` times faster.
    pub async fn start(time_scale: f64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hello = test_support::executable(&["hello"], "hello");
        let mut versions = Vec::new();
        for v in ["1", "2"] {
            let code = dir.path().join("code").join(v);
            std::fs::create_dir_all(&code).unwrap();
            std::fs::copy(&hello, code.join("bootstrap")).unwrap();
            versions.push(format!("{v}={}", code.display()));
        }
        let events = dir.path().join("events.jsonl").display().to_string();
        let scale = time_scale.to_string();
        let args = [
            "--function",
            "hello",
            "--version",
            &versions[0],
            "--version",
            &versions[1],
            "--alias",
            "live",
            "--weights",
            "1=1",
            "--route",
            "GET /hello",
            "--payload-format",
            "2.0",
            "--seed",
            "7",
            "--event-log",
            &events,
            "--time-scale",
            &scale,
        ];
        let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
        let lab = Lab::start(&config).await.expect("the lab starts");
        Self { dir, lab }
    }

    /// The front door's URL of `hello:live`.
    pub fn url(&self) -> String {
        format!("{}/hello", self.lab.api_url())
    }

    /// A CodeDeploy application and deployment group deploying `hello:live` with `config`.
    pub fn group(&self, app: &str, group: &str, config: &str) {
        let d = &self.lab.deployments;
        d.create_application(
            &serde_json::from_value(json!({
                "applicationName": app, "computePlatform": "Lambda"
            }))
            .unwrap(),
        )
        .unwrap();
        d.create_deployment_group(
            &serde_json::from_value(json!({
                "applicationName": app,
                "deploymentGroupName": group,
                "deploymentConfigName": config,
                "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
                "deploymentStyle": {
                    "deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"
                },
            }))
            .unwrap(),
        )
        .unwrap();
    }

    /// CreateDeployment of `hello:live` from version 1 to 2; the deployment id.
    pub fn deploy(&self, app: &str, group: &str) -> String {
        let appspec = json!({
            "version": 0.0,
            "Resources": [{ "hello": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Name": "hello", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"
                }
            }}],
        })
        .to_string();
        let out = self
            .lab
            .deployments
            .create_deployment(
                &serde_json::from_value(json!({
                    "applicationName": app,
                    "deploymentGroupName": group,
                    "revision": {
                        "revisionType": "AppSpecContent",
                        "appSpecContent": { "content": appspec }
                    },
                }))
                .unwrap(),
            )
            .unwrap();
        out.deployment_id
    }

    /// Stops the lab (its event log complete); its files stay until the result is dropped.
    pub async fn shutdown(self) -> tempfile::TempDir {
        self.lab.shutdown().await;
        self.dir
    }

    /// A throwaway AWS environment for the prober: the lab's endpoint, dummy keys, the lab's
    /// region, no user configuration, no instance metadata.
    pub fn aws_env(&self, cmd: &mut tokio::process::Command) {
        let home = self.dir.path().join("aws-home");
        std::fs::create_dir_all(&home).unwrap();
        for file in ["config", "credentials"] {
            std::fs::write(home.join(file), "").unwrap();
        }
        for name in [
            "AWS_PROFILE",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ] {
            cmd.env_remove(name);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PROBER_") {
                cmd.env_remove(name);
            }
        }
        let url = self.lab.lambda_url();
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_ENDPOINT_URL_LAMBDA", &url)
            .env("AWS_ENDPOINT_URL_CODEDEPLOY", &url)
            .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &url)
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            )
            .env("AWS_REGION", &self.lab.scope.region);
    }
}

/// The prober binary.
pub fn prober_exe() -> PathBuf {
    test_support::executable(&["prober"], "prober")
}

/// A running prober whose stderr is read line by line.
pub struct Prober {
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// Stderr read so far.
    pub seen: String,
}

/// How a prober run ended.
pub struct Exit {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Prober {
    /// Starts the prober with `args` in `lab`'s AWS environment, logging its control plane at
    /// info level.
    pub fn spawn(lab: &AliasLab, args: &[&str]) -> Self {
        let mut cmd = tokio::process::Command::new(prober_exe());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        lab.aws_env(&mut cmd);
        cmd.env("PROBER_LOG", "prober::aws=info,warn");
        let mut child = cmd.spawn().expect("spawn prober");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        Self {
            child,
            stderr,
            seen: String::new(),
        }
    }

    /// Waits (bounded) for a stderr line containing `needle`.
    pub async fn line_with(&mut self, needle: &str) {
        let wait = async {
            loop {
                let mut line = String::new();
                let n = self.stderr.read_line(&mut line).await.unwrap();
                self.seen.push_str(&line);
                if n == 0 {
                    return false;
                }
                if line.contains(needle) {
                    return true;
                }
            }
        };
        let found = tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or(false);
        assert!(found, "no {needle:?} from the prober: {}", self.seen);
    }

    /// Waits (bounded) for the exit.
    pub async fn exit(mut self) -> Exit {
        let mut stdout = String::new();
        let mut rest = String::new();
        let mut out = self.child.stdout.take().unwrap();
        let run = async {
            let (a, b, status) = tokio::join!(
                out.read_to_string(&mut stdout),
                self.stderr.read_to_string(&mut rest),
                self.child.wait()
            );
            a.unwrap();
            b.unwrap();
            status.unwrap()
        };
        let status = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .expect("the prober exits within 120 s");
        self.seen.push_str(&rest);
        Exit {
            code: status.code().expect("exited, not killed"),
            stdout,
            stderr: self.seen,
        }
    }
}

/// The event log's lines in `dir` (the lab's files).
pub fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The JSON file at `path`.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}
