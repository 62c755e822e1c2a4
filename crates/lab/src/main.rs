//! `rollcall-lab`: parses the command line, sets up tracing, runs the lab until Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use lab::cli::{Cli, Command};
use lab::frontdoor::Lab;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let config = args.into_config().context("rollcall-lab serve")?;
    let lab = Lab::start(&config).await.context("rollcall-lab serve")?;
    println!("API front door:    {}", lab.api_url());
    println!(
        "Lambda Invoke API: {}  (aws lambda invoke --endpoint-url {})",
        lab.lambda_url(),
        lab.lambda_url()
    );
    match &lab.alias {
        Some(alias) => println!(
            "alias {}: {}  (seed {})",
            alias.name(),
            alias.routing(),
            lab.seed
        ),
        None => println!(
            "no alias: the front door invokes $LATEST = version {}",
            config.latest().version
        ),
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    lab.shutdown().await;
    Ok(())
}
