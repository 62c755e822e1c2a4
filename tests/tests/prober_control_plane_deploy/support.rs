//! The lab for the prober's CodeDeploy tests: `hello` (the demo function, which names its
//! version in its JSON answer) at versions 1 and 2 behind `live` and `pinned` (both on 1), the
//! front door sending `/pinned` to `hello:pinned` and everything else to `hello:live`, a
//! deployment group whose configuration shifts 25 % a (scaled) minute, and hooks answered by
//! the test itself through the lab's CodeDeploy engine (so a deployment waits for the prober).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lab::lab::Lab;
use serde_json::{Value, json};

/// One (scaled) minute of CodeDeploy is this many seconds of the lab.
pub const TIME_SCALE: f64 = 60.0;
/// The group's configuration: 25 % more every minute (four steps).
pub const CONFIG: &str = "Linear25Every1";
pub const APP: &str = "hello-app";
pub const GROUP: &str = "hello-live";

/// The lab, its directory (event log, prober output) and the prober's environment.
pub struct DeployLab {
    pub lab: Lab,
    pub dir: tempfile::TempDir,
}

impl DeployLab {
    pub async fn start() -> Self {
        // Built before any deployment starts: a build must not outlast a hook's timeout.
        test_support::executable(&["prober"], "prober");
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(
            test_support::executable(&["hello"], "hello"),
            code.join("bootstrap"),
        )
        .unwrap();
        // The hooks: a function that answers any event and reports nothing (the test reports).
        let hook = dir.path().join("hook");
        std::fs::create_dir_all(&hook).unwrap();
        std::fs::copy(
            test_support::executable(&["lab-testfn"], "lab-testfn"),
            hook.join("bootstrap"),
        )
        .unwrap();
        let spec = dir.path().join("lab.yaml");
        std::fs::write(
            &spec,
            "region: us-east-1\nseed: 11\nfunctions:\n  hello:\n    code: code\n    handler: hello\n    \
             versions:\n      - {}\n      - {}\n    aliases:\n      live:\n        version: 1\n      \
             pinned:\n        version: 1\n  hook:\n    code: hook\n    handler: hook\nroutes:\n  - route: ANY /pinned\n    target: hello:pinned\n  \
             - route: $default\n    target: hello:live\n",
        )
        .unwrap();
        let spec = lab::spec::LabSpec::load(&spec).unwrap_or_else(|e| panic!("{e}"));
        let options = lab::cli::ServeOptions {
            event_log: Some(dir.path().join("events.jsonl")),
            time_scale: TIME_SCALE,
            ..lab::cli::ServeOptions::loopback()
        };
        let lab = Lab::start_spec(&spec, &options)
            .await
            .expect("the lab starts");
        lab.deployments.set_time_scale(TIME_SCALE).unwrap();
        let d = &lab.deployments;
        d.create_application(&from(
            json!({"applicationName": APP, "computePlatform": "Lambda"}),
        ))
        .unwrap();
        d.create_deployment_config(&from(json!({
            "deploymentConfigName": CONFIG,
            "computePlatform": "Lambda",
            "trafficRoutingConfig": {
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 25, "linearInterval": 1}
            }
        })))
        .unwrap();
        d.create_deployment_group(&from(json!({
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "deploymentConfigName": CONFIG,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "autoRollbackConfiguration": {"enabled": true, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]}
        })))
        .unwrap();
        DeployLab { lab, dir }
    }

    /// A deployment of `hello:live` from 1 to 2 whose hooks (when asked for) are `hook`: it
    /// never reports, so the test reports for it ([`Self::report_hook`]).
    pub fn create_deployment(&self, before: bool, after: bool) -> String {
        let mut hooks = Vec::new();
        if before {
            hooks.push(json!({"BeforeAllowTraffic": "hook"}));
        }
        if after {
            hooks.push(json!({"AfterAllowTraffic": "hook"}));
        }
        let appspec = json!({
            "version": 0.0,
            "Resources": [{"hello": {"Type": "AWS::Lambda::Function", "Properties": {
                "Name": "hello", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}],
            "Hooks": hooks,
        });
        let out = self
            .lab
            .deployments
            .create_deployment(&from(json!({
                "applicationName": APP,
                "deploymentGroupName": GROUP,
                "revision": {"revisionType": "AppSpecContent",
                             "appSpecContent": {"content": appspec.to_string()}}
            })))
            .unwrap();
        out.deployment_id
    }

    /// The lab's event log.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (bounded) for an event of the log satisfying `found`.
    pub async fn wait_event(&self, what: &str, found: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(e) = self.events().into_iter().find(&found) {
                return e;
            }
            assert!(Instant::now() < deadline, "no {what}: {:?}", self.events());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Reports `status` for the hook of `event` (`BeforeAllowTraffic`, `AfterAllowTraffic`)
    /// once the lab has invoked it.
    pub async fn report_hook(&self, id: &str, event: &str, status: &str) {
        let invoked = self
            .wait_event(&format!("{event} hook invocation"), |e| {
                e["type"] == "hookInvoked"
                    && e["deploymentId"] == id
                    && e["lifecycleEvent"] == event
            })
            .await;
        self.lab
            .deployments
            .put_hook_status(&from(json!({
                "deploymentId": id,
                "lifecycleEventHookExecutionId": invoked["executionId"],
                "status": status,
            })))
            .unwrap();
    }

    /// Waits (bounded) until `hello` has answered `n` invocations (the prober is sending); a
    /// prober that ended before is reported with its exit code and stderr.
    pub async fn wait_invocations(&self, n: u64, prober: &mut std::process::Child) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let count = || -> u64 {
            self.lab.functions["hello"]
                .values()
                .map(|p| p.stats().invocations)
                .sum()
        };
        while count() < n {
            if let Ok(Some(status)) = prober.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = prober.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut stderr);
                }
                panic!("the prober ended before sending {n} requests: {status}\n{stderr}");
            }
            assert!(Instant::now() < deadline, "the prober sent nothing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until `hello` version `version` has answered `more` invocations more
    /// than when called.
    pub async fn wait_more_invocations(&self, version: &str, more: u64) {
        let count = || self.lab.functions["hello"][version].stats().invocations;
        let target = count() + more;
        let deadline = Instant::now() + Duration::from_secs(60);
        while count() < target {
            assert!(
                Instant::now() < deadline,
                "version {version} got no traffic"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The final status of `id` and when the lab reached it (Unix ms), from its event log.
    pub fn final_status_ms(&self, id: &str) -> (String, f64) {
        let e = self
            .events()
            .into_iter()
            .find(|e| {
                e["type"] == "deploymentStatus"
                    && e["deploymentId"] == id
                    && ["Succeeded", "Failed", "Stopped"]
                        .contains(&e["status"].as_str().unwrap_or(""))
            })
            .unwrap_or_else(|| panic!("no deploymentStatus for {id}: {:?}", self.events()));
        (
            e["status"].as_str().unwrap().to_owned(),
            e["timeUs"].as_f64().unwrap() / 1000.0,
        )
    }

    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// The prober (or `prober watch`, with `args` starting with `watch`) against the lab's
    /// APIs, with throwaway credentials and no user configuration, IMDS off.
    pub fn prober(&self, args: &[&str]) -> Command {
        let home = self.dir.path().join("aws-home");
        std::fs::create_dir_all(&home).unwrap();
        let mut c = Command::new(test_support::executable(&["prober"], "prober"));
        c.args(args)
            .env("AWS_ENDPOINT_URL", self.lab.lambda_url())
            .env("AWS_ACCESS_KEY_ID", "AKIDLAB")
            .env("AWS_SECRET_ACCESS_KEY", "lab-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// A probe run's flags: the front door's `path`, the deployment, the scaled schedule.
    pub fn probe_args(&self, path: &str, deployment: &str) -> Vec<String> {
        [
            "--url",
            &format!("{}{path}", self.lab.api_url()),
            "--rps",
            "100",
            "--version-json",
            "/version",
            "--deployment",
            deployment,
            "--poll",
            "200ms",
            "--time-scale",
            &TIME_SCALE.to_string(),
            "--timeout",
            "2s",
            "--max-duration",
            "120s",
            "--quiet",
            "--out",
            &self.out().display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    pub fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.out().join("report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Waits for a spawned prober (bounded: it is killed after 120 s).
pub async fn finish(child: std::process::Child) -> Output {
    let pid = child.id();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(Duration::from_secs(120), waiter).await {
        Ok(out) => out.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the prober did not end within 120 s");
        }
    }
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// A short description of an output for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn path_of(p: &Path) -> String {
    p.display().to_string()
}

/// A spawned process whose stdout lines are collected as they come.
pub struct Lines {
    pub child: std::process::Child,
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Lines {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Lines {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Waits (bounded) for a line containing `text`.
    pub async fn wait_line(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.lines.lock().unwrap().iter().any(|l| l.contains(text)) {
            assert!(
                Instant::now() < deadline,
                "no line with {text:?}: {:?}",
                self.lines.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) for the process; its exit code, stdout lines and stderr.
    pub async fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let mut child = self.child;
        let reader = self.reader.take();
        let waited = tokio::task::spawn_blocking(move || {
            let status = child.wait();
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            (status, stderr)
        });
        let (status, stderr) = tokio::time::timeout(Duration::from_secs(120), waited)
            .await
            .expect("the watch ended within 120 s")
            .unwrap();
        if let Some(r) = reader {
            r.join().unwrap();
        }
        let lines = self.lines.lock().unwrap().clone();
        (status.unwrap().code(), lines, stderr)
    }
}
