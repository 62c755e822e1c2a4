//! `rollcall`: the external extension binary, installed as `/opt/extensions/rollcall`.

use rollcall_extension::{Config, LambdaEnv, logging};

/// The layer's static musl build uses mimalloc: musl's allocator maps and unmaps memory several
/// times per invocation and serializes the extension's threads on one lock (bench/README.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let get = |name: &str| std::env::var(name).ok();
    let (config, warnings) = Config::from_env(get);
    if let Some(problem) = logging::init(config.log_json, &config.log_filter) {
        tracing::warn!("{problem}");
    }
    for w in &warnings {
        tracing::error!(variable = w.variable, "bad configuration: {w}");
    }
    let env = LambdaEnv::from_env(get)?;
    rollcall_extension::run(config, env).await?;
    Ok(())
}
