//! Lambda-friendly logging: `tracing` to stderr, no timestamps (CloudWatch adds them), JSON
//! lines when `AWS_LAMBDA_LOG_FORMAT=JSON`. Stdout carries EMF documents only.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Returns a message when `filter` was not understood (the
/// filter is then `info`).
pub fn init(json: bool, filter: &str) -> Option<String> {
    let (filter, problem) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new("info"),
            Some(format!(
                "ROLLCALL_LOG={filter:?} is not a tracing filter ({e}); logging at `info`"
            )),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time();
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    problem
}
