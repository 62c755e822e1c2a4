//! `prober`: parse, set up tracing, run, print the summary, exit with the verdict's code.

fn main() {
    let cli = match prober::Cli::from_command_line(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                prober::error::EXIT_USAGE
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROBER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("prober: cannot start the async runtime: {e}");
            std::process::exit(prober::error::EXIT_SOFTWARE);
        }
    };
    let code = match &cli.command {
        Some(prober::Command::Watch(args)) => {
            match runtime.block_on(prober::watch::watch(args, prober::signals())) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("prober: {e}");
                    e.exit_code()
                }
            }
        }
        _ => run(&runtime, cli),
    };
    // Blocking tasks still running (a name lookup of an unresolvable host can take seconds)
    // must not hold the exit back: the verdict is out.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

/// A probe run or a merge: the summary on stdout, the verdict's exit code.
fn run(runtime: &tokio::runtime::Runtime, cli: prober::Cli) -> i32 {
    match runtime.block_on(prober::run(cli)) {
        Ok(outcome) => {
            for e in &outcome.artifact_errors {
                eprintln!("prober: {e}");
            }
            // The summary goes to stdout after every run, also with --quiet (which silences
            // only the live progress).
            // Written, not `print!`ed: a closed stdout (`prober ... | head -1`) must not cost
            // the verdict's exit code (a broken-pipe panic aborts in release).
            let summary = prober::summary::render(&outcome.report, outcome.out_dir.as_deref());
            let mut stdout = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut stdout, summary.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut stdout));
            outcome.exit_code
        }
        Err(e) => {
            eprintln!("prober: {e}");
            e.exit_code()
        }
    }
}
