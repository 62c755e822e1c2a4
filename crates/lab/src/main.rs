//! `rollcall-lab`: parses the command line, sets up tracing, runs the lab until Ctrl-C or SIGTERM.
//! A usage error is printed once, without a backtrace, and exits 64 (as the prober's).

use clap::Parser;
use lab::cli::{Cli, Command, EXIT_SOFTWARE, EXIT_USAGE, ServeConfig};
use lab::frontdoor::Lab;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` print to stdout and succeed.
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = cli.command;
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("rollcall-lab serve: {e}");
            std::process::exit(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rollcall-lab: cannot start the async runtime: {e}");
            std::process::exit(EXIT_SOFTWARE);
        }
    };
    let code = runtime.block_on(serve(config));
    drop(runtime);
    std::process::exit(code);
}

/// Runs the lab until Ctrl-C or SIGTERM; the exit code.
async fn serve(config: ServeConfig) -> i32 {
    let lab = match Lab::start(&config).await {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("rollcall-lab serve: {e}");
            return e.exit_code();
        }
    };
    // Before the banner: whoever reads it may stop the lab at once.
    use tokio::signal::unix::{SignalKind, signal};
    let signals =
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
    let (mut term, mut interrupt) = match signals {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rollcall-lab: cannot install the SIGTERM/SIGINT handlers: {e}");
            lab.shutdown().await;
            return EXIT_SOFTWARE;
        }
    };
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
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    let pools = lab.pools.clone();
    lab.shutdown().await;
    println!("rollcall-lab summary:");
    for (version, pool) in &pools {
        println!("  {} version {version}: {}", config.function, pool.stats());
    }
    0
}
