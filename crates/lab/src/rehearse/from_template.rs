//! The rehearsal from a SAM template (`rehearse --template template.yaml`, what
//! `scripts/demo.sh` runs): the template is laid out as `sam build` would lay it out, with the
//! rehearsal's builds (`--code`, `--layer`) as the function's and the layer's code, and run as
//! the lab's stack; the release is the same template with `hello`'s literal `HELLO_*` values
//! changed, deployed as `rollcall-lab deploy` deploys it: CloudFormation publishes version 2
//! and CodeDeploy shifts the alias with the template's deployment preference and alarms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::files::{FLUSH_INTERVAL, release_environment};
use super::plan::Plan;
use super::run::{OutLayout, RehearseError};
use crate::lab::Lab;
use crate::template::cli::StackSource;
use crate::template::lab_engine::LabStackEngine;

/// The template's function the rehearsal releases (`hello`, Rust, with the rollcall layer).
pub const HELLO_FUNCTION: &str = "HelloFunction";
/// The stack the rehearsal creates.
pub const STACK: &str = "rollcall-rehearsal";

/// Writes `OUT/build/template.json`: `template` with every function's and layer's code a
/// local directory (`hello`'s the rehearsal's `--code`, the layer's `--layer`, other
/// functions' their sources next to the template), and `hello`'s environment `variables`
/// added. Returns its path.
pub fn write_build(
    plan: &Plan,
    template: &Path,
    out: &OutLayout,
    name: &str,
    variables: &[(String, String)],
) -> Result<PathBuf, RehearseError> {
    let invalid =
        |message: String| RehearseError::Template(format!("{}: {message}", template.display()));
    let text =
        std::fs::read_to_string(template).map_err(|e| invalid(format!("cannot read it ({e})")))?;
    let mut doc = cloudformation::parse_template(&text).map_err(|e| invalid(e.to_string()))?;
    let source_dir = template.parent().unwrap_or(Path::new("."));
    let resources = doc
        .get_mut("Resources")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| invalid("no Resources".into()))?;
    if !resources.contains_key(HELLO_FUNCTION) {
        return Err(invalid(format!(
            "no {HELLO_FUNCTION}: the rehearsal releases the repository's demo function"
        )));
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    for (id, r) in resources.iter_mut() {
        // Built already: what `sam build` would do is done.
        if let Some(m) = r.get_mut("Metadata").and_then(Value::as_object_mut) {
            m.remove("BuildMethod");
            m.remove("BuildArchitecture");
        }
        let resource_type = r["Type"].as_str().unwrap_or_default().to_owned();
        let properties = &mut r["Properties"];
        match resource_type.as_str() {
            "AWS::Serverless::Function" if id == HELLO_FUNCTION => {
                properties["CodeUri"] = Value::String(absolute(&plan.code).display().to_string());
                let vars = &mut properties["Environment"]["Variables"];
                for (k, v) in variables {
                    vars[k] = Value::String(v.clone());
                }
            }
            "AWS::Serverless::Function" => {
                if let Some(uri) = properties["CodeUri"].as_str() {
                    let dir = absolute(&source_dir.join(uri));
                    properties["CodeUri"] = Value::String(dir.display().to_string());
                }
            }
            "AWS::Serverless::LayerVersion" => {
                properties["ContentUri"] =
                    Value::String(absolute(&plan.layer).display().to_string());
            }
            _ => {}
        }
    }
    let dir = out.dir.join("build");
    std::fs::create_dir_all(&dir).map_err(|reason| RehearseError::Out {
        dir: dir.clone(),
        reason,
    })?;
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )
    .map_err(|reason| RehearseError::Out {
        dir: dir.clone(),
        reason,
    })?;
    Ok(path)
}

/// Version 1's variables: metrics flushed well within a time-scaled alarm period, the seed.
fn first_variables(plan: &Plan) -> Vec<(String, String)> {
    vec![
        (
            protocol::rollcall::env::FLUSH_INTERVAL.to_owned(),
            FLUSH_INTERVAL.to_owned(),
        ),
        ("HELLO_SEED".to_owned(), plan.seed.to_string()),
    ]
}

/// The stack source of `template` with the plan's deployment type.
fn source(plan: &Plan, template: PathBuf) -> StackSource {
    StackSource {
        stack_name: STACK.to_owned(),
        template_path: template,
        overrides: [(
            "DeploymentType".to_owned(),
            plan.config
                .name()
                .trim_start_matches("CodeDeployDefault.Lambda")
                .to_owned(),
        )]
        .into(),
    }
}

/// Creates the stack of version 1 in `lab`; the engine that will deploy version 2.
pub async fn create_stack(
    lab: &Lab,
    plan: &Plan,
    template: &Path,
    out: &OutLayout,
    python: PathBuf,
) -> Result<Arc<LabStackEngine>, RehearseError> {
    let path = write_build(
        plan,
        template,
        out,
        "template-v1.json",
        &first_variables(plan),
    )?;
    let engine = LabStackEngine::for_lab(lab, python);
    let source = source(plan, path);
    eprintln!("== creating stack {STACK} from {}", template.display());
    let outcome = engine
        .create(&source)
        .await
        .map_err(|e| RehearseError::Template(e.to_string()))?;
    if !outcome.complete {
        return Err(RehearseError::Template(format!(
            "stack {STACK} was not created: {}",
            outcome.reason.unwrap_or_default()
        )));
    }
    Ok(engine)
}

/// A release ready to deploy: version 2's template, translated.
pub struct Release {
    source: StackSource,
    prepared: crate::template::apply::Prepared,
}

/// Writes and translates version 2's template (before the prober starts: deploying it then
/// takes milliseconds).
pub async fn prepare_release(
    engine: &Arc<LabStackEngine>,
    plan: &Plan,
    template: &Path,
    out: &OutLayout,
) -> Result<Release, RehearseError> {
    let mut variables = first_variables(plan);
    variables.extend(release_environment(plan));
    let path = write_build(plan, template, out, "template-v2.json", &variables)?;
    let source = source(plan, path);
    let (engine, s) = (Arc::clone(engine), source.clone());
    let prepared = tokio::task::spawn_blocking(move || engine.prepare(&s))
        .await
        .map_err(|e| RehearseError::Template(e.to_string()))?
        .map_err(|e| RehearseError::Template(e.to_string()))?;
    Ok(Release { source, prepared })
}

/// Starts the release's stack update now (version 2 is published at once) with its alias's
/// CodeDeploy deployment held; the opener that starts the deployment, and the update's task.
pub fn start_release(
    engine: &Arc<LabStackEngine>,
    mut release: Release,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<
        Result<
            crate::template::engine::StackOutcome,
            crate::api::cloudformation::CloudFormationError,
        >,
    >,
) {
    let (open, gate) = tokio::sync::watch::channel(false);
    release.prepared.shift_gate = Some(gate);
    let engine = Arc::clone(engine);
    let update =
        tokio::spawn(async move { engine.update(&release.source, release.prepared).await });
    (open, update)
}

/// Opens the gate (the CodeDeploy deployment starts now); its id once CodeDeploy has it.
pub async fn deploy(
    lab: &Lab,
    open: tokio::sync::watch::Sender<bool>,
    mut update: tokio::task::JoinHandle<
        Result<
            crate::template::engine::StackOutcome,
            crate::api::cloudformation::CloudFormationError,
        >,
    >,
) -> Result<String, RehearseError> {
    let before = lab.deployments.deployment_ids();
    let _ = open.send(true);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = lab
            .deployments
            .deployment_ids()
            .into_iter()
            .find(|id| !before.contains(id))
        {
            return Ok(id);
        }
        if update.is_finished() || Instant::now() > deadline {
            let ended = match (&mut update).await {
                Ok(Ok(outcome)) => outcome.reason.unwrap_or_else(|| "nothing to shift".into()),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            return Err(RehearseError::Template(format!(
                "the stack update started no CodeDeploy deployment: {ended}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
