//! `rollcall-hook`: the CodeDeploy BeforeAllowTraffic hook as a Lambda function (`bootstrap`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rollcall_hook::{Hook, HookEvent, Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let hook = &Hook::new(settings);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<HookEvent>| async move {
            hook.handle(event.payload).await.map_err(Error::from)
        },
    ))
    .await
}
