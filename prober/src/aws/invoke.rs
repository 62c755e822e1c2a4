//! `--invoke`: Lambda's Invoke endpoint, resolved without sending anything exactly as the SDK
//! resolves it (aws-sdk-lambda's `Config::from(&SdkConfig)` and its endpoint rules). The probes
//! themselves go through the prober's own client, paced like any other target, and signed
//! for `lambda` by [`crate::aws::sigv4`].

use aws_sdk_lambda::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_types::service_config::ServiceConfigKey;

use crate::control::{ControlConfig, InvokeEndpoint};
use crate::error::ProberError;

/// The Invoke endpoint of `control`'s `--invoke`; `None` without it. Region: the function
/// ARN's, else `--sigv4-region`, else the SDK's chain. Endpoint: `AWS_ENDPOINT_URL_LAMBDA` or
/// the profile's `services` section, else `AWS_ENDPOINT_URL` or the profile's `endpoint_url`,
/// else Lambda's regional endpoint (FIPS and dual-stack settings honoured).
pub async fn resolve_endpoint(
    control: &ControlConfig,
) -> Result<Option<InvokeEndpoint>, ProberError> {
    let Some(function) = &control.invoke else {
        return Ok(None);
    };
    let failed = |reason: String, fix: &str| ProberError::ControlPlane {
        call: "lambda:InvokeFunction",
        resource: function.text.clone(),
        reason,
        fix: fix.to_owned(),
    };
    let known = function
        .reference
        .scope
        .as_ref()
        .map(|s| s.region.clone())
        .or_else(|| control.sigv4.as_ref().and_then(|s| s.region.clone()));
    let sdk = crate::aws::sdk_config(known.as_deref()).await;
    let Some(region) = known.or_else(|| sdk.region().map(|r| r.to_string())) else {
        return Err(failed(
            "no region: the function is not an ARN and the SDK's chain found none".into(),
            "give the function's ARN, or set AWS_REGION (or a region in the profile), or give \
             --sigv4-region REGION",
        ));
    };
    let key = ServiceConfigKey::builder()
        .service_id("Lambda")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .map_err(|e| ProberError::Internal(format!("service config key: {e}")))?;
    let configured = sdk
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned));
    let params = Params::builder()
        .region(region.clone())
        .use_fips(sdk.use_fips().unwrap_or(false))
        .use_dual_stack(sdk.use_dual_stack().unwrap_or(false))
        .set_endpoint(configured)
        .build()
        .map_err(|e| ProberError::Internal(format!("endpoint parameters: {e}")))?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map_err(|e| {
            failed(
                format!("Lambda's endpoint cannot be resolved ({e})"),
                "check AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL and the region",
            )
        })?;
    let url = endpoint.url().to_owned();
    tracing::debug!(%url, %region, "Lambda's Invoke endpoint");
    Ok(Some(InvokeEndpoint { url, region }))
}
