//! `rollcall`: the external extension binary, installed as `/opt/extensions/rollcall`.

use rollcall_extension::{Config, LambdaEnv, logging};

/// The layer's static musl build uses mimalloc: musl's allocator maps and unmaps memory several
/// times per invocation and serializes the extension's threads on one lock (bench/README.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Freed pages go back to the OS at once rather than after mimalloc's default 10 ms: RSS
/// 9.1 MB -> ~5 MB over 100,000 invocations, no measurable latency cost (bench/README.md).
#[cfg(target_env = "musl")]
#[allow(unsafe_code)]
fn return_freed_memory_promptly() {
    /// `mi_option_purge_delay`, which libmimalloc-sys does not name: in mimalloc's `mimalloc.h`
    /// (v2 and v3) it is the option just before `mi_option_use_numa_nodes`.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
        libmimalloc_sys::mi_option_use_numa_nodes - 1;
    // SAFETY: `mi_option_set` stores a value in mimalloc's option table; `purge_delay` is a
    // valid option and 0 a valid value (the same as MIMALLOC_PURGE_DELAY=0).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

#[cfg(not(target_env = "musl"))]
fn return_freed_memory_promptly() {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    return_freed_memory_promptly();
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
