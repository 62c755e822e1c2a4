//! A rehearsal, start to end: the lab with `hello` version 1 behind `live`, version 2 released
//! through the Lambda API, a CodeDeploy deployment through the CodeDeploy API, and the prober
//! (a separate process that knows only the URL and the schedule) watching from the client side.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use http::Method;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::client::{CallError, LabClient};
use super::files::{self, ALIAS, CURRENT_VERSION, FUNCTION, TARGET_VERSION};
use super::from_template;
use super::outcome::{LabResult, Outcome, ProberResult};
use super::plan::{DeploymentConfig, Plan};
use crate::api::gateway::PayloadFormat;
use crate::cli::ServeOptions;
use crate::lab::{Lab, LabError};
use crate::ready::ReadyFile;
use crate::spec::{LabSpec, SpecError};

/// The CodeDeploy application and deployment group the rehearsal creates.
pub const APPLICATION: &str = "rollcall-rehearsal";
/// The deployment group (one per alias).
pub const DEPLOYMENT_GROUP: &str = "hello-live";

/// Why a rehearsal could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum RehearseError {
    /// The output directory cannot be written.
    #[error("--out {dir}: {reason}; give a writable directory")]
    Out {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// The lab's spec, written by the rehearsal from its flags, is refused (a code or layer
    /// directory that is not there, ...).
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// The lab did not start.
    #[error("{0}")]
    Lab(#[from] LabError),
    /// A call to the lab's APIs failed.
    #[error("the lab refused {0}")]
    Call(#[from] CallError),
    /// The template (`--template`) is refused or its stack could not be created or updated.
    #[error("--template: {0}")]
    Template(String),
    /// The prober could not be started.
    #[error(
        "--prober {path}: cannot start it ({reason}); build it with `cargo build -p prober` or give its path"
    )]
    Prober {
        /// The executable.
        path: PathBuf,
        /// The error.
        reason: std::io::Error,
    },
    /// The prober ended before the deployment started (a bad flag, an unreachable lab).
    #[error(
        "the prober exited with code {code} before the deployment started (its message is above)"
    )]
    ProberEndedEarly {
        /// Its exit code.
        code: i32,
    },
    /// Interrupted before the deployment started.
    #[error("interrupted by signal {0} before the deployment started")]
    Interrupted(i32),
}

impl RehearseError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Out { .. } => crate::exit::EXIT_CANTCREAT,
            Self::Spec(_) | Self::Prober { .. } | Self::Template(_) => crate::exit::EXIT_USAGE,
            Self::Lab(e) => e.exit_code(),
            Self::Call(_) | Self::ProberEndedEarly { .. } => crate::exit::EXIT_SOFTWARE,
            Self::Interrupted(signal) => 128 + signal,
        }
    }
}

/// Where a rehearsal writes its files.
#[derive(Debug, Clone)]
pub struct OutLayout {
    /// The output directory.
    pub dir: PathBuf,
}

impl OutLayout {
    /// The lab's spec.
    pub fn spec(&self) -> PathBuf {
        self.dir.join("lab.yaml")
    }
    /// The alarm's PutMetricAlarm JSON.
    pub fn alarm(&self) -> PathBuf {
        self.dir.join("alarm-error-rate.json")
    }
    /// The lab's event log.
    pub fn events(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }
    /// The environments' logs.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    /// The prober's artifacts.
    pub fn prober(&self) -> PathBuf {
        self.dir.join("prober")
    }
    /// The lab's readiness document, while the rehearsal runs.
    pub fn ready(&self) -> PathBuf {
        self.dir.join("lab.ready.json")
    }
    /// The rehearsal's own result.
    pub fn result(&self) -> PathBuf {
        self.dir.join("rehearsal.json")
    }
}

/// Runs the rehearsal `plan` describes; `interrupt` resolves with a signal number (SIGINT,
/// SIGTERM) to end it early: the prober gets the signal and writes its report, the deployment
/// is stopped and rolled back, and the outcome still says what each side saw.
pub async fn rehearse(
    plan: &Plan,
    interrupt: impl Future<Output = i32>,
) -> Result<Outcome, RehearseError> {
    tokio::pin!(interrupt);
    let out = prepare_out(&plan.out)?;
    if plan.template.is_none() {
        write_inputs(plan, &out).map_err(|reason| RehearseError::Out {
            dir: out.dir.clone(),
            reason,
        })?;
    }
    // From a template, the lab starts empty and the template's stack makes everything.
    let (spec, spec_file, alarms) = match &plan.template {
        Some(_) => (LabSpec::new(), None, Vec::new()),
        None => (
            LabSpec::load(&out.spec())?,
            Some(out.spec()),
            vec![out.alarm()],
        ),
    };
    let options = ServeOptions {
        api_addr: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        lambda_addr: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        log_dir: Some(out.logs()),
        default_format: PayloadFormat::V2,
        ready_file: Some(out.ready()),
        spec_file,
        alarms,
        event_log: Some(out.events()),
        time_scale: plan.time_scale,
    };
    let lab = Lab::start_spec(&spec, &options).await?;
    let result = with_lab(plan, &out, &lab, &mut interrupt).await;
    let _ = std::fs::remove_file(out.ready());
    lab.shutdown().await;
    let outcome = result?;
    let mut result = outcome.to_json();
    result["plan"] = json!({
        "deployment_config": plan.config.name(),
        "schedule": plan.schedule.name(),
        "time_scale": plan.time_scale,
        "rps": plan.rps,
        "fail_rate": plan.fail_rate,
        "seed": plan.seed,
    });
    let _ = std::fs::write(
        out.result(),
        serde_json::to_string_pretty(&result).unwrap_or_default() + "\n",
    );
    Ok(outcome)
}

/// The rehearsal's steps once the lab serves.
async fn with_lab(
    plan: &Plan,
    out: &OutLayout,
    lab: &Lab,
    interrupt: &mut std::pin::Pin<&mut impl Future<Output = i32>>,
) -> Result<Outcome, RehearseError> {
    ReadyFile::of(lab, std::process::id())
        .write(&out.ready())
        .map_err(|reason| RehearseError::Out {
            dir: out.dir.clone(),
            reason,
        })?;
    let client = LabClient::new(&lab.lambda_url());
    let template_release = match &plan.template {
        Some((template, python)) => {
            let engine =
                from_template::create_stack(lab, plan, template, out, python.clone()).await?;
            let release = from_template::prepare_release(&engine, plan, template, out).await?;
            eprintln!(
                "== releasing version 2: the stack update publishes it now; its deployment waits for the schedule"
            );
            Some(from_template::start_release(&engine, release))
        }
        None => None,
    };
    let target_version = match &template_release {
        Some(_) => TARGET_VERSION.to_owned(),
        None => {
            let target_version = release(&client, plan).await?;
            set_up_codedeploy(&client, plan, &target_version).await?;
            target_version
        }
    };

    let start_at = SystemTime::now() + plan.baseline;
    let mut prober = spawn_prober(plan, out, &lab.api_url(), &target_version, start_at)?;
    eprintln!(
        "== the prober sends {} rps to {}/hello; the deployment starts in {:.0?}",
        plan.rps,
        lab.api_url(),
        plan.baseline
    );
    let wait = start_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        status = prober.wait() => {
            let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
            return Err(RehearseError::ProberEndedEarly { code });
        }
        signal = interrupt.as_mut() => {
            forward(&prober, signal);
            let _ = prober.wait().await;
            return Err(RehearseError::Interrupted(signal));
        }
    }
    eprintln!(
        "== deploying {FUNCTION}:{ALIAS} from version {CURRENT_VERSION} to {target_version} with {} at time scale {} (about {:.0?})",
        plan.config.name(),
        plan.time_scale,
        plan.shift_duration()
    );
    let deployment_id = match template_release {
        Some((open, update)) => from_template::deploy(lab, open, update).await?,
        None => create_deployment(&client, plan, &target_version).await?,
    };
    let running = lab
        .deployments
        .deployment(&deployment_id)
        .expect("the deployment was just created");

    let mut interrupted = None;
    // The deployment's end, then the prober's (it stops once it has seen the end settle).
    tokio::select! {
        () = running.finished() => {}
        signal = interrupt.as_mut() => {
            interrupted = Some(signal);
            forward(&prober, signal);
            stop(&client, &deployment_id).await;
        }
        _ = prober.wait() => {
            // The prober concluded early (a deviation, an error budget spent): the lab's
            // deployment still runs its course, as it would on AWS.
        }
    }
    let limit = plan.shift_duration() + plan.baseline + Duration::from_secs(120);
    let deployment_end = tokio::time::timeout(limit, running.finished()).await;
    if deployment_end.is_err() {
        stop(&client, &deployment_id).await;
        running.finished().await;
    }
    let prober_code = tokio::select! {
        status = prober.wait() => status.ok().and_then(|s| s.code()),
        signal = interrupt.as_mut(), if interrupted.is_none() => {
            interrupted = Some(signal);
            forward(&prober, signal);
            prober.wait().await.ok().and_then(|s| s.code())
        }
    };
    Ok(Outcome {
        lab: LabResult::of(&running),
        prober: ProberResult::read(&out.prober(), prober_code),
        interrupted,
        out: out.dir.clone(),
    })
}

/// Creates the output directory and writes the lab's spec and the alarm into it; the
/// artifacts of an earlier rehearsal there are replaced.
fn prepare_out(dir: &Path) -> Result<OutLayout, RehearseError> {
    let fail = |reason| RehearseError::Out {
        dir: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let dir = std::path::absolute(dir).map_err(fail)?;
    let out = OutLayout { dir };
    for stale in [
        out.prober(),
        out.logs(),
        out.dir.join("hook"),
        out.dir.join("build"),
    ] {
        if stale.exists() {
            std::fs::remove_dir_all(&stale).map_err(fail)?;
        }
    }
    for stale in [out.events(), out.result()] {
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(fail)?;
        }
    }
    std::fs::create_dir_all(out.logs()).map_err(fail)?;
    Ok(out)
}

/// Writes the spec and alarm files of `plan` into `out`.
pub fn write_inputs(plan: &Plan, out: &OutLayout) -> std::io::Result<()> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut plan = plan.clone();
    plan.code = absolute(&plan.code);
    plan.layer = absolute(&plan.layer);
    let hook_code = match &plan.post_traffic_hook {
        None => None,
        Some((binary, _)) => {
            // The hook runs on provided.al2023: its executable is the code's `bootstrap`.
            let dir = out.dir.join("hook");
            std::fs::create_dir_all(&dir)?;
            std::fs::copy(binary, dir.join("bootstrap"))?;
            Some(dir)
        }
    };
    std::fs::write(
        out.spec(),
        files::lab_spec_yaml(&plan, hook_code.as_deref()),
    )?;
    let alarm = files::error_rate_alarm(TARGET_VERSION);
    std::fs::write(out.alarm(), serde_json::to_string_pretty(&alarm)? + "\n")
}

/// Version 2: `$LATEST`'s configuration changed (slower, or failing with `--bad-release`),
/// then published; returns its number.
async fn release(client: &LabClient, plan: &Plan) -> Result<String, RehearseError> {
    let functions = format!("/2015-03-31/functions/{FUNCTION}");
    let variables = files::release_environment(plan);
    eprintln!(
        "== releasing {FUNCTION} version {}: {}",
        TARGET_VERSION,
        variables
            .iter()
            .filter(|(k, _)| k.starts_with("HELLO_") && *k != "HELLO_SEED")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    client
        .lambda(
            "UpdateFunctionConfiguration",
            Method::PUT,
            &format!("{functions}/configuration"),
            &json!({"Environment": {"Variables": variables}}),
        )
        .await?;
    let published = client
        .lambda(
            "PublishVersion",
            Method::POST,
            &format!("{functions}/versions"),
            &json!({"Description": "the rehearsal's release"}),
        )
        .await?;
    Ok(published["Version"].as_str().unwrap_or_default().to_owned())
}

/// The application, the custom deployment config if any, and the deployment group with the
/// error-rate alarm and automatic rollback.
async fn set_up_codedeploy(
    client: &LabClient,
    plan: &Plan,
    target_version: &str,
) -> Result<(), RehearseError> {
    client
        .codedeploy(
            "CreateApplication",
            &json!({"applicationName": APPLICATION, "computePlatform": "Lambda"}),
        )
        .await?;
    if let DeploymentConfig::Custom {
        linear,
        percentage,
        interval_minutes,
    } = plan.config
    {
        let routing = if linear {
            json!({"type": "TimeBasedLinear", "timeBasedLinear":
                {"linearPercentage": percentage, "linearInterval": interval_minutes}})
        } else {
            json!({"type": "TimeBasedCanary", "timeBasedCanary":
                {"canaryPercentage": percentage, "canaryInterval": interval_minutes}})
        };
        client
            .codedeploy(
                "CreateDeploymentConfig",
                &json!({"deploymentConfigName": plan.config.name(), "computePlatform": "Lambda",
                        "trafficRoutingConfig": routing}),
            )
            .await?;
    }
    client
        .codedeploy(
            "CreateDeploymentGroup",
            &json!({
                "applicationName": APPLICATION,
                "deploymentGroupName": DEPLOYMENT_GROUP,
                "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
                "deploymentConfigName": plan.config.name(),
                "deploymentStyle": {"deploymentType": "BLUE_GREEN",
                                    "deploymentOption": "WITH_TRAFFIC_CONTROL"},
                "alarmConfiguration": {"enabled": true,
                                       "alarms": [{"name": files::alarm_name(target_version)}]},
                "autoRollbackConfiguration": {"enabled": true, "events":
                    ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]}
            }),
        )
        .await?;
    Ok(())
}

/// CreateDeployment with the Lambda AppSpec; returns the deployment's id.
async fn create_deployment(
    client: &LabClient,
    plan: &Plan,
    target_version: &str,
) -> Result<String, RehearseError> {
    let mut appspec = json!({"version": 0.0, "Resources": [{FUNCTION: {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": FUNCTION, "Alias": ALIAS,
                       "CurrentVersion": CURRENT_VERSION, "TargetVersion": target_version}}}]});
    if plan.post_traffic_hook.is_some() {
        appspec["Hooks"] = json!([{"AfterAllowTraffic": files::HOOK_FUNCTION}]);
    }
    let created = client
        .codedeploy(
            "CreateDeployment",
            &json!({
                "applicationName": APPLICATION,
                "deploymentGroupName": DEPLOYMENT_GROUP,
                "description": format!("rehearsal: {} at time scale {}", plan.config.name(), plan.time_scale),
                "revision": {"revisionType": "AppSpecContent",
                             "appSpecContent": {"content": appspec.to_string()}}
            }),
        )
        .await?;
    Ok(created["deploymentId"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// StopDeployment with rollback (an interrupted rehearsal leaves the alias on one version).
async fn stop(client: &LabClient, deployment_id: &str) {
    let stopped = client
        .codedeploy(
            "StopDeployment",
            &json!({"deploymentId": deployment_id, "autoRollbackEnabled": true}),
        )
        .await;
    if let Err(e) = stopped {
        // Finished in the meantime: nothing to stop.
        tracing::debug!("{e}");
    }
}

/// The prober, with the schedule, versions and start the rehearsal knows, as a CI job would
/// run it against AWS.
fn spawn_prober(
    plan: &Plan,
    out: &OutLayout,
    api_url: &str,
    target_version: &str,
    start_at: SystemTime,
) -> Result<tokio::process::Child, RehearseError> {
    let start = OffsetDateTime::from(start_at)
        .format(&Rfc3339)
        .expect("a system time formats as RFC 3339");
    let cap = plan.baseline + plan.shift_duration() + Duration::from_secs(90);
    let mut args: Vec<String> = vec![
        "--url".into(),
        format!("{}/hello", api_url.trim_end_matches('/')),
        "--rps".into(),
        plan.rps.to_string(),
        "--schedule".into(),
        plan.schedule.name().to_owned(),
        "--time-scale".into(),
        plan.time_scale.to_string(),
        "--from-version".into(),
        CURRENT_VERSION.into(),
        "--to-version".into(),
        target_version.into(),
        "--max-duration".into(),
        format!("{}s", cap.as_secs()),
        "--out".into(),
        out.prober().display().to_string(),
    ];
    if plan.prober_knows_start {
        args.extend(["--deployment-start".into(), start]);
    }
    eprintln!(
        "== {} {}",
        plan.prober.display(),
        args.iter()
            .map(|a| shlex::try_quote(a).unwrap_or_else(|_| a.into()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    tokio::process::Command::new(&plan.prober)
        .args(&args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|reason| RehearseError::Prober {
            path: plan.prober.clone(),
            reason,
        })
}

/// Sends `signal` to the prober (it may have had it already from the terminal).
fn forward(prober: &tokio::process::Child, signal: i32) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let (Some(pid), Ok(signal)) = (prober.id(), Signal::try_from(signal)) {
        let _ = kill(Pid::from_raw(pid as i32), signal);
    }
}
