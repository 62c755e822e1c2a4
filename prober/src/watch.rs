//! `prober watch`: no probes; follows one CodeDeploy deployment (given, or the newest of a
//! deployment group, waiting for one to start) and prints one plain line per change: its
//! status, each lifecycle event (with its duration and diagnostics), each weight step of the
//! alias (GetAlias, next to CodeDeploy's own weight), the rollback, the final status.
//!
//! Exit codes: 0 Succeeded; 2 Stopped or Failed and rolled back; 1 Failed without a rollback;
//! 3 no deployment (or none ended) within `--max-duration`; 64 bad input; 130/143 on a signal.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rollout::control_plane::{CallFailure, ControlPlaneReport};
use time::OffsetDateTime;

use crate::aws::alias::{AliasLog, GET_ALIAS, Poll, routing_of};
use crate::aws::deployment::{Tracker, control_plane_error, describe};
use crate::aws::deployment_poll::{Progress, Target, follow};
use crate::cli::WatchArgs;
use crate::config::parse_duration;
use crate::control::{DeploymentSelector, MIN_POLL, parse_deployment, parse_deployment_group};
use crate::error::ProberError;
use crate::{Interrupt, artifacts};

/// Exit code when no deployment started, or none ended, within `--max-duration`.
pub const EXIT_NO_DEPLOYMENT: i32 = 3;

/// The file `--out` gets.
pub const WATCH_JSON: &str = "watch.json";

/// What `prober watch` follows, checked.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// `--stack`: the deployment group is its alias's (unless `--deployment-group` is given).
    pub stack: Option<String>,
    /// The deployment, or `latest` of `group`.
    pub deployment: DeploymentSelector,
    /// `(application, group)` for `latest`.
    pub group: Option<(String, String)>,
    /// `--poll`.
    pub poll: Duration,
    /// `--max-duration`.
    pub max_duration: Duration,
    /// `--out`.
    pub out: Option<std::path::PathBuf>,
}

impl WatchConfig {
    /// Checks the flags (pure).
    pub fn from_args(args: &WatchArgs) -> Result<WatchConfig, ProberError> {
        let poll = parse_duration("--poll", &args.poll)?;
        if poll < MIN_POLL {
            return Err(ProberError::invalid(
                "--poll",
                &args.poll,
                "polls closer than 100ms would exhaust the control plane's quota; use e.g. --poll 1s",
            ));
        }
        let max_duration = parse_duration("--max-duration", &args.max_duration)?;
        let deployment = match args.deployment.as_deref() {
            Some(d) => parse_deployment(d)?,
            // The stack's alias's deployment group, found when the watch starts.
            None if args.stack.is_some() => DeploymentSelector::Latest,
            None => {
                return Err(ProberError::MissingFlag {
                    flag: "--deployment",
                    reason: "name the deployment to watch (d-XXXXXXXXX), or `latest` with \
                             --deployment-group APPLICATION/GROUP, or give --stack NAME"
                        .into(),
                });
            }
        };
        let group = args
            .deployment_group
            .as_deref()
            .map(parse_deployment_group)
            .transpose()?
            .map(|g| (g.application, g.group));
        if deployment == DeploymentSelector::Latest && group.is_none() && args.stack.is_none() {
            return Err(ProberError::invalid(
                "--deployment",
                "latest",
                "`latest` needs the deployment group: add --deployment-group APPLICATION/GROUP",
            ));
        }
        Ok(WatchConfig {
            stack: args.stack.clone(),
            deployment,
            group,
            poll,
            max_duration,
            out: args.out.clone(),
        })
    }
}

/// The process exit code for a deployment's end.
pub fn exit_code(status: &str, rolled_back: bool) -> i32 {
    match (status, rolled_back) {
        ("Succeeded", _) => 0,
        ("Failed" | "Stopped", true) => 2,
        ("Failed" | "Stopped", false) => 1,
        _ => EXIT_NO_DEPLOYMENT,
    }
}

/// What the watch has seen, shared by its tasks.
#[derive(Debug, Default)]
struct Seen {
    report: ControlPlaneReport,
    /// `(function, alias, target version)` once the deployment's target is known.
    alias: Option<(String, String, Option<String>)>,
    /// CodeDeploy's last `targetVersionWeight`.
    codedeploy_weight: Option<f64>,
    /// The alias's polls, from the first answered (it names the alias's ARN).
    alias_log: Option<AliasLog>,
}

/// The clock of a watch: its origin, as an instant and in Unix milliseconds.
#[derive(Debug, Clone, Copy)]
struct Clock {
    t0: Instant,
    origin_unix_ms: u64,
}

impl Clock {
    fn now(self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }
}

/// One line, flushed (a closed stdout is ignored: the exit code is what matters).
fn line(at: f64, text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{at:7.1}s  {text}").and_then(|()| out.flush());
}

/// Runs `prober watch`; returns the exit code.
pub async fn watch(
    args: &WatchArgs,
    interrupt: impl Future<Output = Interrupt> + Send,
) -> Result<i32, ProberError> {
    let mut config = WatchConfig::from_args(args)?;
    if let Some(out) = &config.out {
        artifacts::check_writable(out)?;
    }
    let sdk = crate::aws::sdk_config(None).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    if let (Some(name), None) = (&config.stack, &config.group) {
        let stack = crate::aws::stack::resolve(&sdk, name, None).await?;
        config.group = Some(stack.group.ok_or_else(|| {
            ProberError::ControlPlane {
                call: "cloudformation:GetTemplate",
                resource: name.clone(),
                reason: "no alias of the stack has a CodeDeployLambdaAliasUpdate policy".into(),
                fix: "give SAM's AutoPublishAlias and DeploymentPreference to the function, or \
                  --deployment-group APPLICATION/GROUP"
                    .into(),
            }
        })?);
    }
    let since = SystemTime::now();
    let target = match &config.deployment {
        DeploymentSelector::Id(id) => {
            codedeploy
                .get_deployment()
                .deployment_id(id)
                .send()
                .await
                .map_err(|e| control_plane_error("codedeploy:GetDeployment", id, &e))?;
            Target::Id(id.clone())
        }
        DeploymentSelector::Latest => {
            let (application, group) = config.group.clone().unwrap_or_default();
            codedeploy
                .list_deployments()
                .application_name(&application)
                .deployment_group_name(&group)
                .send()
                .await
                .map_err(|e| {
                    control_plane_error(
                        "codedeploy:ListDeployments",
                        &format!("{application}/{group}"),
                        &e,
                    )
                })?;
            line(
                0.0,
                &format!("waiting for a deployment of {application}/{group}"),
            );
            Target::Latest {
                application,
                group,
                since,
            }
        }
    };
    let t0 = Instant::now();
    let origin = OffsetDateTime::now_utc();
    let origin_unix = origin.unix_timestamp_nanos() as f64 / 1e9;
    let clock = Clock {
        t0,
        origin_unix_ms: u64::try_from(origin.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
    };
    let now = move || clock.now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sink = {
        let seen = seen.clone();
        move |progress: Progress<'_>| {
            let Ok(mut s) = seen.lock() else {
                return;
            };
            match progress {
                Progress::Failure(f) => {
                    line(f.at, &format!("{} failed (retrying): {}", f.call, f.error));
                    s.report.failures.push(f);
                }
                Progress::Polled { tracker, changes } => {
                    let at = now();
                    for c in &changes {
                        line(at, &c.to_string());
                    }
                    note_target(&mut s, tracker);
                }
            }
        }
    };
    let alias_steps = follow_alias(lambda, seen.clone(), config.poll, clock);
    let followed = async {
        tokio::time::timeout(
            config.max_duration,
            follow(&codedeploy, target, config.poll, origin_unix, now, sink),
        )
        .await
    };
    let mut alias_steps = std::pin::pin!(alias_steps);
    let outcome = tokio::select! {
        done = followed => Ok(done),
        signal = interrupt => Err(signal),
        () = &mut alias_steps => unreachable!("the alias follower never ends by itself"),
    };
    let code = match outcome {
        Ok(Ok(tracker)) => {
            // The rollback's (or the last step's) routing, which may land after the last poll.
            poll_alias_once(
                &aws_sdk_lambda::Client::new(&sdk),
                &seen,
                config.poll,
                clock,
            )
            .await;
            let r = tracker.report();
            let code = exit_code(&r.status, r.rollback.is_some());
            line(
                now(),
                &format!(
                    "{} {}{} (exit {code})",
                    r.deployment_id,
                    r.status,
                    if r.rollback.is_some() {
                        ", rolled back"
                    } else {
                        ""
                    }
                ),
            );
            code
        }
        Ok(Err(_elapsed)) => {
            let s = seen
                .lock()
                .map(|s| s.report.deployment.clone())
                .ok()
                .flatten();
            let what = match s {
                Some(d) => format!(
                    "{} still {} after --max-duration",
                    d.deployment_id, d.status
                ),
                None => "no deployment within --max-duration".to_owned(),
            };
            line(now(), &format!("{what} (exit {EXIT_NO_DEPLOYMENT})"));
            EXIT_NO_DEPLOYMENT
        }
        Err(signal) => {
            line(now(), &format!("interrupted by {}", signal.name()));
            signal.exit_code()
        }
    };
    if let Some(out) = &config.out {
        let report = seen
            .lock()
            .map(|mut s| {
                let end = now();
                s.report.alias = s.alias_log.as_mut().map(|log| log.finish(end));
                s.report.clone()
            })
            .unwrap_or_default();
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| ProberError::Internal(format!("watch.json: {e}")))?;
        let path = out.join(WATCH_JSON);
        std::fs::write(&path, text).map_err(|source| ProberError::Write { path, source })?;
    }
    Ok(code)
}

/// Keeps the deployment's report and target in the shared state.
fn note_target(s: &mut Seen, tracker: &Tracker) {
    let r = tracker.report();
    if s.alias.is_none() {
        if let Some((function, alias)) = r.alias.as_deref().and_then(|a| a.split_once(':')) {
            s.alias = Some((
                function.to_owned(),
                alias.to_owned(),
                r.target_version.clone(),
            ));
        }
    }
    s.codedeploy_weight = r.target_version_weight;
    s.report.deployment = Some(r.clone());
}

/// Polls GetAlias every `poll` once the deployment's alias is known, printing each new routing.
async fn follow_alias(
    lambda: aws_sdk_lambda::Client,
    seen: Arc<Mutex<Seen>>,
    poll: Duration,
    clock: Clock,
) {
    let mut failures = 0u32;
    loop {
        let ok = poll_alias_once(&lambda, &seen, poll, clock).await;
        failures = if ok { 0 } else { failures + 1 };
        tokio::time::sleep(crate::aws::alias::backoff(poll, failures)).await;
    }
}

/// One GetAlias (when the alias is known), recorded in the alias's log as `prober --alias`
/// records its polls; prints the routing when it changed. False when the call failed
/// (recorded).
async fn poll_alias_once(
    lambda: &aws_sdk_lambda::Client,
    seen: &Arc<Mutex<Seen>>,
    poll: Duration,
    clock: Clock,
) -> bool {
    let Some((function, alias, target)) = seen.lock().ok().and_then(|s| s.alias.clone()) else {
        return true;
    };
    let sent = Instant::now();
    let answer = lambda
        .get_alias()
        .function_name(&function)
        .name(&alias)
        .send()
        .await;
    let answered = Instant::now();
    let Ok(mut s) = seen.lock() else {
        return true;
    };
    let s = &mut *s;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            s.report.failures.push(CallFailure {
                at: clock.now(),
                call: GET_ALIAS.into(),
                error: describe(&e),
            });
            if let Some(log) = s.alias_log.as_mut() {
                log.failed();
            }
            return false;
        }
    };
    let routing = routing_of(&out);
    let log = s.alias_log.get_or_insert_with(|| {
        AliasLog::new(
            out.alias_arn().unwrap_or_default().to_owned(),
            poll,
            clock.t0,
            clock.origin_unix_ms,
        )
    });
    let before = log.last_routing().cloned();
    let changed = log.record(Poll {
        due: sent,
        sent,
        answered,
        routing: routing.clone(),
        revision_id: out.revision_id().map(str::to_owned),
    });
    // A new revision with the same weights (a description changed) is logged, not printed.
    if !changed || before.as_ref() == Some(&routing) {
        return true;
    }
    let share = target.as_deref().map(|t| routing.share_of(t) * 100.0);
    let text = match (target.as_deref(), share) {
        (Some(t), Some(p)) => {
            let cd = s
                .codedeploy_weight
                .map_or(String::new(), |w| format!(" (CodeDeploy: {w:.0}%)"));
            format!("alias {function}:{alias}: version {t} at {p:.0}%{cd}")
        }
        _ => format!(
            "alias {function}:{alias}: version {} primary",
            routing.primary
        ),
    };
    line(log.secs(answered), &text);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<WatchConfig, ProberError> {
        let mut argv = vec!["prober", "watch"];
        argv.extend_from_slice(args);
        let cli = crate::Cli::try_parse_from(argv).unwrap();
        match cli.command {
            Some(crate::Command::Watch(w)) => WatchConfig::from_args(&w),
            _ => unreachable!(),
        }
    }

    #[test]
    fn exit_codes_follow_the_deployments_end() {
        assert_eq!(exit_code("Succeeded", false), 0);
        assert_eq!(exit_code("Stopped", true), 2);
        assert_eq!(exit_code("Failed", true), 2);
        assert_eq!(exit_code("Failed", false), 1);
        assert_eq!(exit_code("InProgress", false), EXIT_NO_DEPLOYMENT);
    }

    #[test]
    fn flags_are_checked() {
        let c = config(&["--deployment", "d-A1B2C3D4E", "--poll", "200ms"]).unwrap();
        assert_eq!(c.deployment, DeploymentSelector::Id("d-A1B2C3D4E".into()));
        assert_eq!(c.poll, Duration::from_millis(200));
        let e = config(&["--deployment", "latest"]).unwrap_err().to_string();
        assert!(e.contains("--deployment-group"), "{e}");
        let c = config(&["--deployment", "latest", "--deployment-group", "a/g"]).unwrap();
        assert_eq!(c.group, Some(("a".into(), "g".into())));
        let e = config(&[]).unwrap_err().to_string();
        assert!(e.contains("--deployment"), "{e}");
        let e = config(&["--deployment", "d-1", "--poll", "1ms"]).unwrap_err();
        assert_eq!(e.exit_code(), 64);
    }
}
