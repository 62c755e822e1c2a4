//! Weight changes applied vs the schedule's instants: runs `--deployments` linear deployments of
//! a lab alias (back and forth between versions 1 and 2, no hooks) at `--time-scale`, and prints
//! the lateness of every step (the alias's routing set, minus the step's instant in the
//! time-scaled schedule) as JSON: count, p50, p99, max in microseconds.
//!
//! `cargo run --release -p lab --example deploy_lateness -- --bootstrap target/release/lab-testfn`
//! (bench/lab-deploy-lateness.sh builds both and runs it).

use std::path::PathBuf;
use std::time::Duration;

use lab::lab::Lab;
use protocol::codedeploy::{
    ComputePlatform, CreateApplicationInput, CreateDeploymentGroupInput, CreateDeploymentInput,
    Extra, RevisionLocation,
};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn appspec(current: &str, target: &str) -> String {
    format!(
        "version: 0.0\nResources:\n  - hello:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: hello\n        Alias: live\n        CurrentVersion: \"{current}\"\n        TargetVersion: \"{target}\"\n"
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = PathBuf::from(arg(&args, "--bootstrap").ok_or(
        "--bootstrap <path of lab-testfn> is required (cargo build --release -p lab-testfn)",
    )?);
    if !bootstrap.is_file() {
        return Err(format!(
            "--bootstrap {}: no such file; build it with cargo build --release -p lab-testfn",
            bootstrap.display()
        )
        .into());
    }
    let deployments: usize = arg(&args, "--deployments").map_or(Ok(10), |s| s.parse())?;
    let time_scale: f64 = arg(&args, "--time-scale").map_or(Ok(600.0), |s| s.parse())?;
    let config_name = arg(&args, "--config")
        .unwrap_or_else(|| "CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into());

    let dir = tempfile::tempdir()?;
    let mut versions = Vec::new();
    for v in ["1", "2"] {
        let code = dir.path().join(v);
        std::fs::create_dir_all(&code)?;
        std::fs::copy(&bootstrap, code.join("bootstrap"))?;
        versions.push(format!("{v}={}", code.display()));
    }
    let flags = [
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
    ];
    let config = lab::cli::serve_config(&flags)?;
    let lab = Lab::start(&config).await?;
    let engine = &lab.deployments;
    engine.set_time_scale(time_scale)?;
    engine.create_application(&CreateApplicationInput {
        application_name: "bench".into(),
        compute_platform: Some(ComputePlatform::Lambda),
        tags: None,
    })?;
    engine.create_deployment_group(&CreateDeploymentGroupInput {
        application_name: "bench".into(),
        deployment_group_name: "live".into(),
        deployment_config_name: Some(config_name.clone()),
        service_role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        alarm_configuration: None,
        auto_rollback_configuration: None,
        deployment_style: None,
        tags: None,
        extra: Extra::new(),
    })?;
    let mut lateness = Vec::new();
    for i in 0..deployments {
        let (from, to) = if i % 2 == 0 { ("1", "2") } else { ("2", "1") };
        let out = engine.create_deployment(&CreateDeploymentInput {
            application_name: "bench".into(),
            deployment_group_name: Some("live".into()),
            revision: Some(RevisionLocation::app_spec(appspec(from, to))),
            deployment_config_name: None,
            description: None,
            auto_rollback_configuration: None,
            override_alarm_configuration: None,
            extra: Extra::new(),
        })?;
        let running = engine.deployment(&out.deployment_id)?;
        tokio::time::timeout(Duration::from_secs(3600), running.finished()).await?;
        let status = running.deployment().status();
        if status != rollout::deployment::DeploymentStatus::Succeeded {
            return Err(format!("{} ended {status}", out.deployment_id).into());
        }
        lateness.extend(
            running
                .weight_changes()
                .iter()
                .filter_map(|c| c.lateness())
                .map(|d| d.as_micros() as u64),
        );
    }
    lateness.sort_unstable();
    let quantile = |q: f64| {
        let rank = ((q * lateness.len() as f64).ceil() as usize).clamp(1, lateness.len());
        lateness[rank - 1]
    };
    let report = serde_json::json!({
        "config": config_name,
        "time_scale": time_scale,
        "deployments": deployments,
        "weight_changes": lateness.len(),
        "lateness_us": {
            "p50": quantile(0.5),
            "p99": quantile(0.99),
            "max": lateness.last(),
        },
    });
    println!("{report}");
    lab.shutdown().await;
    Ok(())
}
