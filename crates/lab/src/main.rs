//! `rollcall-lab`: parses the command line, sets up tracing, runs the lab until Ctrl-C or SIGTERM.
//! A usage error is printed once, without a backtrace, and exits 64 (as the prober's).

use std::sync::Arc;

use clap::Parser;
use lab::cli::{Cli, Command, EXIT_SOFTWARE, EXIT_USAGE, Serve};
use lab::exit::EXIT_CANTCREAT;
use lab::lab::Lab;
use lab::pool::VersionPool;
use lab::ready::ReadyFile;

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
    // A rehearsal's console shows the deployment's progress lines between the prober's.
    let default_filter = match cli.command {
        Command::Serve(_) | Command::Deploy(_) => "info".to_owned(),
        Command::Rehearse(_) => format!("warn,{}=info", lab::control::events::PROGRESS_TARGET),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Rehearse(args) => std::process::exit(rehearse(&args)),
        Command::Deploy(args) => std::process::exit(deploy(&args)),
    };
    let serve_what = match args.into_serve() {
        Ok(serve) => serve,
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
    let code = runtime.block_on(serve(serve_what));
    drop(runtime);
    std::process::exit(code);
}

/// `rollcall-lab deploy`: the exit code.
fn deploy(args: &lab::template::cli::DeployArgs) -> i32 {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(lab::template::deploy::deploy(args)),
        Err(e) => {
            eprintln!("rollcall-lab: cannot start the async runtime: {e}");
            EXIT_SOFTWARE
        }
    }
}

/// `rollcall-lab rehearse`: the exit code (the prober's when both sides agree).
fn rehearse(args: &lab::rehearse::RehearseArgs) -> i32 {
    let plan = match lab::rehearse::Plan::from_args(args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("rollcall-lab rehearse: {e}");
            return EXIT_USAGE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rollcall-lab: cannot start the async runtime: {e}");
            return EXIT_SOFTWARE;
        }
    };
    let code = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            eprintln!("rollcall-lab: cannot install the SIGTERM/SIGINT handlers");
            return EXIT_SOFTWARE;
        };
        // The first signal ends the rehearsal in order (the prober writes its report, the
        // deployment rolls back); a second one exits at once.
        let (first, signalled) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut first = Some(first);
            loop {
                let signal = tokio::select! {
                    _ = interrupt.recv() => nix::libc::SIGINT,
                    _ = term.recv() => nix::libc::SIGTERM,
                };
                match first.take() {
                    Some(first) => {
                        eprintln!("rollcall-lab rehearse: stopping (again to exit at once)");
                        let _ = first.send(signal);
                    }
                    None => std::process::exit(128 + signal),
                }
            }
        });
        let signalled = async move {
            match signalled.await {
                Ok(signal) => signal,
                Err(_) => std::future::pending().await,
            }
        };
        match lab::rehearse::rehearse(&plan, signalled).await {
            Ok(outcome) => {
                print_to_stdout(&outcome.summary());
                outcome.exit_code()
            }
            Err(e) => {
                eprintln!("rollcall-lab rehearse: {e}");
                e.exit_code()
            }
        }
    });
    drop(runtime);
    code
}

/// Runs the lab until Ctrl-C or SIGTERM; the exit code.
async fn serve(
    Serve {
        spec,
        options,
        template,
    }: Serve,
) -> i32 {
    let lab = match Lab::start_spec(&spec, &options).await {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("rollcall-lab serve: {e}");
            return e.exit_code();
        }
    };
    let mut stack_banner = String::new();
    if let Some((source, python)) = template {
        match lab::template::lab_engine::create_stack_on_start(&lab, &source, python).await {
            Ok(text) => {
                // The line that points the prober and the AWS SDKs at this lab.
                stack_banner = format!("{text}{}\n", lab::ready::export_line(&lab));
            }
            Err((code, message)) => {
                eprintln!("rollcall-lab serve: {message}");
                lab.shutdown().await;
                return code;
            }
        }
    }
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
    if let Some(path) = &options.ready_file
        && let Err(e) = ReadyFile::of(&lab, std::process::id()).write(path)
    {
        eprintln!(
            "rollcall-lab serve: --ready-file {}: cannot write it ({e}); give a path in a writable directory",
            path.display()
        );
        lab.shutdown().await;
        return EXIT_CANTCREAT;
    }
    // After the ready file: whoever saw the banner finds it there.
    // Written, not `println!`ed: a reader that closes stdout after the first line (`| head -1`)
    // must not take the lab down with a broken pipe.
    print_to_stdout(&(banner(&lab) + &stack_banner));
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = term.recv() => {}
    }
    if let Some(path) = &options.ready_file {
        let _ = std::fs::remove_file(path);
    }
    // The pools the lab started, then those the Lambda API made (CreateFunction,
    // PublishVersion, ...) that are still in the registry.
    let mut pools: Vec<(String, String, Arc<VersionPool>)> = lab
        .functions
        .iter()
        .flat_map(|(f, pools)| {
            pools
                .iter()
                .map(|(v, p)| (f.clone(), v.clone(), Arc::clone(p)))
        })
        .collect();
    let snapshot = lab.registry.snapshot();
    for (name, f) in &snapshot.functions {
        for v in std::iter::once(&f.latest).chain(f.versions.values()) {
            if let Some(pool) = &v.owned_pool
                && !pools.iter().any(|(_, _, p)| Arc::ptr_eq(p, pool))
            {
                pools.push((name.clone(), v.version.clone(), Arc::clone(pool)));
            }
        }
    }
    drop(snapshot);
    pools.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    lab.shutdown().await;
    let mut summary = String::from("rollcall-lab summary:\n");
    for (function, version, pool) in &pools {
        summary.push_str(&format!(
            "  {function} version {version}: {}\n",
            pool.stats()
        ));
    }
    print_to_stdout(&summary);
    0
}

/// The URLs, then every function with its versions and aliases, and the routes.
fn banner(lab: &Lab) -> String {
    let mut banner = format!(
        "API front door:    {}\nLambda Invoke API: {}  (aws lambda invoke --endpoint-url {})\n",
        lab.api_url(),
        lab.lambda_url(),
        lab.lambda_url()
    );
    let snapshot = lab.registry.snapshot();
    for (name, f) in &snapshot.functions {
        let versions: Vec<String> = std::iter::once(f.latest.version.clone())
            .chain(f.versions.keys().map(u64::to_string))
            .collect();
        banner.push_str(&format!(
            "function {name}: versions {}\n",
            versions.join(", ")
        ));
        for (alias, a) in &f.aliases {
            banner.push_str(&format!(
                "  alias {alias}: {}  (seed {})\n",
                a.routing(),
                lab.seed
            ));
        }
    }
    let ready = ReadyFile::of(lab, std::process::id());
    for r in &ready.routes {
        banner.push_str(&format!(
            "route {} -> {} (payload {})\n",
            r.route, r.target, r.payload_format
        ));
    }
    banner
}
/// Writes `text` to stdout, ignoring a closed or broken stdout.
fn print_to_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
