//! The CodeDeploy API (AWS JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.<Operation>`) on the
//! Lambda API's port, as `aws deploy ... --endpoint-url` and the SDKs' `AWS_ENDPOINT_URL_CODEDEPLOY`
//! reach it: each operation decodes its input with protocol's shapes and calls the engine
//! ([`Deployments`]).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use protocol::codedeploy::{
    ApplicationNameInput, CONTENT_TYPE, CodeDeployError, CodeDeployErrorType,
    DeploymentGroupNameInput, DeploymentTarget, DeploymentTargetType, GetApplicationOutput,
    GetDeploymentConfigInput, GetDeploymentConfigOutput, GetDeploymentGroupOutput,
    GetDeploymentInput, GetDeploymentOutput, GetDeploymentTargetInput, GetDeploymentTargetOutput,
    LambdaTarget, ListDeploymentTargetsInput, ListDeploymentTargetsOutput, Operation,
    TARGET_PREFIX,
};
use serde::Serialize;

use crate::control::deployments::Deployments;

/// The largest request body the API reads (an AppSpec is small).
pub const BODY_LIMIT: usize = 256 * 1024;

/// True when `target` (the `X-Amz-Target` header) names a CodeDeploy operation.
pub fn is_codedeploy(target: Option<&str>) -> bool {
    target.is_some_and(|t| t.trim().starts_with(TARGET_PREFIX))
}

/// Answers one JSON 1.1 request.
pub fn answer(engine: &Deployments, target: Option<&str>, body: &[u8]) -> Response<Full<Bytes>> {
    match dispatch(engine, target, body) {
        Ok(json) => respond(StatusCode::OK, json),
        Err(e) => {
            tracing::info!(error = %e, "CodeDeploy request refused");
            respond(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.body(),
            )
        }
    }
}

/// A body too large to read.
pub fn too_large() -> Response<Full<Bytes>> {
    let e = CodeDeployError::new(
        CodeDeployErrorType::InvalidInput,
        format!("the request body is larger than {BODY_LIMIT} bytes: send a smaller AppSpec"),
    );
    respond(StatusCode::BAD_REQUEST, e.body())
}

fn dispatch(
    engine: &Deployments,
    target: Option<&str>,
    body: &[u8],
) -> Result<String, CodeDeployError> {
    let op = Operation::from_target(target)?;
    match op {
        Operation::CreateApplication => json(engine.create_application(&op.decode(body)?)?),
        Operation::GetApplication => {
            let input: ApplicationNameInput = op.decode(body)?;
            json(GetApplicationOutput {
                application: engine.get_application(&input.application_name)?,
            })
        }
        Operation::DeleteApplication => {
            let input: ApplicationNameInput = op.decode(body)?;
            engine.delete_application(&input.application_name)?;
            Ok("{}".to_owned())
        }
        Operation::CreateDeploymentGroup => {
            json(engine.create_deployment_group(&op.decode(body)?)?)
        }
        Operation::GetDeploymentGroup => {
            let input: DeploymentGroupNameInput = op.decode(body)?;
            json(GetDeploymentGroupOutput {
                deployment_group_info: engine
                    .get_deployment_group(&input.application_name, &input.deployment_group_name)?,
            })
        }
        Operation::DeleteDeploymentGroup => {
            let input: DeploymentGroupNameInput = op.decode(body)?;
            json(
                engine.delete_deployment_group(
                    &input.application_name,
                    &input.deployment_group_name,
                )?,
            )
        }
        Operation::CreateDeploymentConfig => {
            json(engine.create_deployment_config(&op.decode(body)?)?)
        }
        Operation::GetDeploymentConfig => {
            let input: GetDeploymentConfigInput = op.decode(body)?;
            json(GetDeploymentConfigOutput {
                deployment_config_info: Some(
                    engine.deployment_config(&input.deployment_config_name)?,
                ),
            })
        }
        Operation::CreateDeployment => json(engine.create_deployment(&op.decode(body)?)?),
        Operation::GetDeployment => {
            let input: GetDeploymentInput = op.decode(body)?;
            json(GetDeploymentOutput {
                deployment_info: Some(engine.get_deployment(&input.deployment_id)?),
            })
        }
        Operation::ListDeployments => json(engine.list_deployments(&op.decode(body)?)?),
        Operation::StopDeployment => json(engine.stop_deployment(&op.decode(body)?)?),
        Operation::PutLifecycleEventHookExecutionStatus => {
            json(engine.put_hook_status(&op.decode(body)?)?)
        }
        Operation::ListDeploymentTargets => {
            let input: ListDeploymentTargetsInput = op.decode(body)?;
            let running = engine.deployment(&input.deployment_id)?;
            json(ListDeploymentTargetsOutput {
                target_ids: vec![running.context().target_id()],
                next_token: None,
            })
        }
        Operation::GetDeploymentTarget => {
            let input: GetDeploymentTargetInput = op.decode(body)?;
            let running = engine.deployment(&input.deployment_id)?;
            let ctx = running.context();
            if input.target_id != ctx.target_id() {
                return Err(CodeDeployError::new(
                    CodeDeployErrorType::DeploymentTargetDoesNotExist,
                    format!(
                        "deployment {} has one target, {}: not {:?}",
                        input.deployment_id,
                        ctx.target_id(),
                        input.target_id
                    ),
                ));
            }
            json(GetDeploymentTargetOutput {
                deployment_target: Some(DeploymentTarget {
                    deployment_target_type: Some(DeploymentTargetType::LambdaTarget),
                    lambda_target: Some(LambdaTarget::of(&running.deployment(), ctx)),
                    extra: Default::default(),
                }),
            })
        }
    }
}

fn json(value: impl Serialize) -> Result<String, CodeDeployError> {
    serde_json::to_string(&value).map_err(|e| {
        CodeDeployError::new(
            CodeDeployErrorType::InvalidInput,
            format!("the answer could not be written: {e}"),
        )
    })
}

fn respond(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}
