//! CloudFormation's Query API (`2010-05-15`) on the Lambda API's port, as
//! `aws cloudformation ... --endpoint-url`, `sam list stack-outputs` and the SDKs'
//! `AWS_ENDPOINT_URL_CLOUDFORMATION` reach it: `POST /` with a form body
//! (`Action=DescribeStacks&Version=2010-05-15&StackName=…`), answered in XML.
//!
//! The reads ([`reads`]) answer from the lab's [`Stacks`]; CreateStack and UpdateStack are
//! decoded into a [`StackRequest`] and handed to the [`StackEngine`], which creates and updates
//! the stack's resources.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::control::stacks::Stacks;
pub use crate::control::stacks::{CloudFormationError, ErrorCode};
pub use form::Form;

pub mod form;
mod reads;
pub mod xml;

/// The largest request body the API reads (a template sent inline is at most 51,200 bytes,
/// percent-encoding can triple it).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The content type of a Query request.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// True when a request with this content type is a Query request.
pub fn is_query(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE))
    })
}

/// Where a stack's template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// `TemplateBody`: the template itself.
    Body(String),
    /// `TemplateURL`: where to read it (the lab reads `file://` URLs, its extension for a local
    /// deploy).
    Url(String),
    /// UpdateStack's `UsePreviousTemplate=true`.
    UsePrevious,
}

/// One of a request's `Parameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterRequest {
    /// `ParameterKey`.
    pub key: String,
    /// `ParameterValue` (none with `UsePreviousValue`).
    pub value: Option<String>,
    /// `UsePreviousValue`: keep the stack's current value.
    pub use_previous_value: bool,
}

/// A CreateStack or UpdateStack request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRequest {
    /// `StackName` (UpdateStack also accepts the stack id).
    pub stack_name: String,
    /// The template.
    pub template: TemplateSource,
    /// `Parameters`, in the request's order.
    pub parameters: Vec<ParameterRequest>,
    /// `Capabilities` (`CAPABILITY_IAM`, `CAPABILITY_AUTO_EXPAND`, ...).
    pub capabilities: Vec<String>,
}

/// What creates and updates stacks: reads the template, creates or updates the resources and
/// records them in [`Stacks`]. Returns the stack id at once; the work may go on after.
pub trait StackEngine: Send + Sync {
    /// CreateStack.
    fn create_stack(&self, request: StackRequest) -> Result<String, CloudFormationError>;
    /// UpdateStack.
    fn update_stack(&self, request: StackRequest) -> Result<String, CloudFormationError>;
}

/// The CloudFormation API over the lab's stacks.
#[derive(Clone)]
pub struct CloudFormationApi {
    stacks: std::sync::Arc<Stacks>,
    engine: Option<std::sync::Arc<dyn StackEngine>>,
}

impl std::fmt::Debug for CloudFormationApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFormationApi")
            .field("stacks", &self.stacks)
            .field("engine", &self.engine.as_ref().map(|_| "StackEngine"))
            .finish()
    }
}

impl CloudFormationApi {
    /// The API over `stacks`; CreateStack and UpdateStack go to `engine` (without one they are
    /// refused with what to do).
    pub fn new(
        stacks: std::sync::Arc<Stacks>,
        engine: Option<std::sync::Arc<dyn StackEngine>>,
    ) -> Self {
        Self { stacks, engine }
    }

    /// Answers one Query request (its form body).
    pub fn answer(&self, body: &[u8], request_id: &str) -> Response<Full<Bytes>> {
        let form = Form::parse(body);
        match self.dispatch(&form, request_id) {
            Ok(xml) => respond(StatusCode::OK, xml),
            Err(e) => {
                tracing::info!(error = %e, "CloudFormation request refused");
                respond(
                    StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST),
                    xml::error(&e, request_id),
                )
            }
        }
    }

    fn dispatch(&self, form: &Form, request_id: &str) -> Result<String, CloudFormationError> {
        let action = form.get("Action").ok_or_else(|| {
            CloudFormationError::new(
                ErrorCode::MissingAction,
                "the request has no Action: send Action=DescribeStacks (or another \
                 CloudFormation operation) in the form body",
            )
        })?;
        let stacks = &self.stacks;
        match action {
            "DescribeStacks" => reads::describe_stacks(stacks, form, request_id),
            "DescribeStackResources" => reads::describe_stack_resources(stacks, form, request_id),
            "DescribeStackResource" => reads::describe_stack_resource(stacks, form, request_id),
            "ListStackResources" => reads::list_stack_resources(stacks, form, request_id),
            "DescribeStackEvents" => reads::describe_stack_events(stacks, form, request_id),
            "GetTemplate" => reads::get_template(stacks, form, request_id),
            "ListStacks" => reads::list_stacks(stacks, form, request_id),
            "CreateStack" | "UpdateStack" => {
                let create = action == "CreateStack";
                let request = stack_request(form, create)?;
                let engine = self.engine.as_ref().ok_or_else(|| {
                    CloudFormationError::validation(format!(
                        "{action} needs the lab's stack engine, which runs only when the lab \
                         reads a template: start it with `rollcall-lab serve --template \
                         template.yaml`"
                    ))
                })?;
                let stack_id = if create {
                    engine.create_stack(request)?
                } else {
                    engine.update_stack(request)?
                };
                Ok(xml::response(action, request_id, |x| {
                    x.text("StackId", &stack_id);
                }))
            }
            other => Err(CloudFormationError::new(
                ErrorCode::InvalidAction,
                format!("The action {other} is not valid for this web service."),
            )),
        }
    }
}

/// Decodes CreateStack's (`create`) or UpdateStack's request.
pub fn stack_request(form: &Form, create: bool) -> Result<StackRequest, CloudFormationError> {
    let stack_name = form.required("StackName")?.to_owned();
    let body = form.get("TemplateBody");
    let url = form.get("TemplateURL");
    let previous = !create && form.flag("UsePreviousTemplate")?;
    let template = match (body, url, previous) {
        (Some(body), None, false) => TemplateSource::Body(body.to_owned()),
        (None, Some(url), false) => TemplateSource::Url(url.to_owned()),
        (None, None, true) => TemplateSource::UsePrevious,
        _ if create => {
            return Err(CloudFormationError::validation(
                "Specify exactly one of TemplateBody or TemplateURL.",
            ));
        }
        _ => {
            return Err(CloudFormationError::validation(
                "Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate.",
            ));
        }
    };
    let mut parameters = Vec::new();
    for member in form.members("Parameters") {
        let key = member.get("ParameterKey").cloned().ok_or_else(|| {
            CloudFormationError::validation(
                "a member of Parameters has no ParameterKey: send Parameters.member.N.ParameterKey",
            )
        })?;
        let use_previous_value = member
            .get("UsePreviousValue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let value = member.get("ParameterValue").cloned();
        if use_previous_value && value.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(CloudFormationError::validation(format!(
                "Invalid input for parameter key {key}. Cannot specify usePreviousValue as true \
                 and non empty value for a parameter"
            )));
        }
        if create && use_previous_value {
            return Err(CloudFormationError::validation(format!(
                "Invalid input for parameter key {key}. UsePreviousValue cannot be used when \
                 creating a stack"
            )));
        }
        parameters.push(ParameterRequest {
            key,
            value,
            use_previous_value,
        });
    }
    Ok(StackRequest {
        stack_name,
        template,
        parameters,
        capabilities: form.list("Capabilities"),
    })
}

fn respond(status: StatusCode, xml: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(xml)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    response
}

/// A body too large to read.
pub fn too_large(request_id: &str) -> Response<Full<Bytes>> {
    let e = CloudFormationError::validation(format!(
        "the request body is larger than {BODY_LIMIT} bytes: send the template by TemplateURL"
    ));
    respond(StatusCode::BAD_REQUEST, xml::error(&e, request_id))
}

#[cfg(test)]
mod tests;
