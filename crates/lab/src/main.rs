//! `rollcall-lab`: parses the command line, sets up tracing, runs the lab until Ctrl-C or SIGTERM.
//! A usage error is printed once, without a backtrace, and exits 64 (as the prober's).

use clap::Parser;
use lab::cli::{Cli, Command, EXIT_SOFTWARE, EXIT_USAGE, ServeConfig};
use lab::lab::Lab;

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
    // Written, not `println!`ed: a reader that closes stdout after the first line (`| head -1`)
    // must not take the lab down with a broken pipe.
    let mut banner = format!(
        "API front door:    {}\nLambda Invoke API: {}  (aws lambda invoke --endpoint-url {})\n",
        lab.api_url(),
        lab.lambda_url(),
        lab.lambda_url()
    );
    match &lab.alias {
        Some(alias) => banner.push_str(&format!(
            "alias {}: {}  (seed {})\n",
            alias.name(),
            alias.routing(),
            lab.seed
        )),
        None => banner.push_str(&format!(
            "no alias: the front door invokes $LATEST = version {}\n",
            config.latest().version
        )),
    }
    print_to_stdout(&banner);
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    let pools = lab.pools.clone();
    lab.shutdown().await;
    let mut summary = String::from("rollcall-lab summary:\n");
    for (version, pool) in &pools {
        summary.push_str(&format!(
            "  {} version {version}: {}\n",
            config.function,
            pool.stats()
        ));
    }
    print_to_stdout(&summary);
    0
}

/// Writes `text` to stdout, ignoring a closed or broken stdout.
fn print_to_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
