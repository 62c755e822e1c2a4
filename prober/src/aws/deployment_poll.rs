//! Following a CodeDeploy deployment over the network: finding it (`latest`), polling it until
//! its status is final, reporting each poll and each failed call to the caller.

use std::time::{Duration, SystemTime};

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::types::{self as cd, DeploymentStatus};
use rollout::control_plane::CallFailure;

use super::deployment::{
    Change, DeploymentView, IN_PROGRESS, Tracker, backoff, config_schedule, describe,
};

/// GetDeployment, then the target's lifecycle events and alias (ListDeploymentTargets and
/// GetDeploymentTarget; a failure there leaves the view without them).
pub async fn poll_deployment(
    client: &Client,
    id: &str,
) -> Result<DeploymentView, (&'static str, String)> {
    let out = client
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| ("codedeploy:GetDeployment", describe(&e)))?;
    let info = out.deployment_info().ok_or((
        "codedeploy:GetDeployment",
        "no deploymentInfo in the answer".to_owned(),
    ))?;
    let view = DeploymentView::of_info(info);
    let targets = client
        .list_deployment_targets()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| ("codedeploy:ListDeploymentTargets", describe(&e)))?;
    let Some(target_id) = targets.target_ids().first() else {
        return Ok(view);
    };
    let target = client
        .get_deployment_target()
        .deployment_id(id)
        .target_id(target_id)
        .send()
        .await
        .map_err(|e| ("codedeploy:GetDeploymentTarget", describe(&e)))?;
    Ok(
        match target.deployment_target().and_then(|t| t.lambda_target()) {
            Some(lambda) => view.with_target(lambda),
            None => view,
        },
    )
}

/// The newest deployment of `application/group` that has not ended, or else the newest created
/// at or after `since` (whatever its status); `None` when there is none yet.
pub async fn latest(
    client: &Client,
    application: &str,
    group: &str,
    since: SystemTime,
) -> Result<Option<String>, String> {
    let list_error = |e| format!("codedeploy:ListDeployments: {}", describe(&e));
    let mut request = client
        .list_deployments()
        .application_name(application)
        .deployment_group_name(group);
    for status in IN_PROGRESS {
        request = request.include_only_statuses(DeploymentStatus::from(status));
    }
    // Every page (`nextToken`): a busy group can list more than one page.
    let running: Vec<String> = request
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(list_error)?;
    let ids = if running.is_empty() {
        let range = cd::TimeRange::builder()
            .start(aws_sdk_codedeploy::primitives::DateTime::from(since))
            .build();
        client
            .list_deployments()
            .application_name(application)
            .deployment_group_name(group)
            .create_time_range(range)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(list_error)?
    } else {
        running
    };
    newest(client, ids).await
}

/// Of `ids`, the one created last (GetDeployment of each: ListDeployments' order is not
/// documented).
async fn newest(client: &Client, ids: Vec<String>) -> Result<Option<String>, String> {
    if ids.len() <= 1 {
        return Ok(ids.into_iter().next());
    }
    let mut best: Option<(f64, String)> = None;
    for id in ids {
        let out = client
            .get_deployment()
            .deployment_id(&id)
            .send()
            .await
            .map_err(|e| format!("codedeploy:GetDeployment: {}", describe(&e)))?;
        let created = out
            .deployment_info()
            .and_then(|i| i.create_time())
            .map_or(f64::MIN, |t| t.as_secs_f64());
        if best.as_ref().is_none_or(|(b, _)| created >= *b) {
            best = Some((created, id));
        }
    }
    Ok(best.map(|(_, id)| id))
}

/// Which deployment a follower follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This one.
    Id(String),
    /// The newest of the group not yet ended, else the first created at or after `since`.
    Latest {
        /// The application.
        application: String,
        /// The deployment group.
        group: String,
        /// When the prober started.
        since: SystemTime,
    },
}

/// What a follower reports to its caller.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A call failed (it is retried after a backoff).
    Failure(CallFailure),
    /// A poll was answered.
    Polled {
        /// The deployment so far.
        tracker: &'a Tracker,
        /// What changed since the previous poll.
        changes: Vec<Change>,
    },
}

/// Follows a deployment until its status is final: finds it (`latest` waits for one), reads
/// its configuration's schedule once, then polls every `poll` (backing off after failures,
/// which are reported and never end the follow). `now` gives seconds since the origin,
/// `origin_unix` the origin in Unix seconds. Returns the final tracker.
pub async fn follow(
    client: &Client,
    target: Target,
    poll: Duration,
    origin_unix: f64,
    now: impl Fn() -> f64,
    mut sink: impl FnMut(Progress<'_>),
) -> Tracker {
    let mut failures = 0u32;
    let fail = |call: &str, error: String, sink: &mut dyn FnMut(Progress<'_>)| {
        sink(Progress::Failure(CallFailure {
            at: now(),
            call: call.to_owned(),
            error,
        }));
    };
    let id = match target {
        Target::Id(id) => id,
        Target::Latest {
            application,
            group,
            since,
        } => loop {
            match latest(client, &application, &group, since).await {
                Ok(Some(id)) => break id,
                Ok(None) => {
                    failures = 0;
                    tokio::time::sleep(poll).await;
                }
                Err(e) => {
                    fail("codedeploy:ListDeployments", e, &mut sink);
                    failures += 1;
                    tokio::time::sleep(backoff(poll, failures)).await;
                }
            }
        },
    };
    let mut tracker = Tracker::new(&id, origin_unix);
    let mut schedule_read = false;
    failures = 0;
    loop {
        match poll_deployment(client, &id).await {
            Ok(view) => {
                failures = 0;
                if !schedule_read && !view.config.is_empty() {
                    match config_schedule(client, &view.config).await {
                        Ok(s) => {
                            tracker.set_schedule(Some(s.name().to_owned()));
                            schedule_read = true;
                        }
                        Err(e) => fail("codedeploy:GetDeploymentConfig", e, &mut sink),
                    }
                }
                let changes = tracker.update(&view, now());
                sink(Progress::Polled {
                    tracker: &tracker,
                    changes,
                });
                if tracker.is_final() {
                    return tracker;
                }
                tokio::time::sleep(poll).await;
            }
            Err((call, e)) => {
                fail(call, e, &mut sink);
                failures += 1;
                tokio::time::sleep(backoff(poll, failures)).await;
            }
        }
    }
}
