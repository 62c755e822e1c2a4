//! `rollcall-lab deploy`: a local `sam deploy` against a running lab. It sends CloudFormation's
//! `UpdateStack` (Query protocol) to the lab with the template as `TemplateURL=file://...`
//! (the lab reads local code, which AWS would take from S3), then follows the stack's events
//! as `sam deploy` prints them until the update ends: 0 when it completed (or had nothing to
//! do), 1 when it was rolled back.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::cli::{DEFAULT_ENDPOINT, DeployArgs, default_deploy_template, stack_source};
use crate::exit::{EXIT_UNAVAILABLE, EXIT_USAGE};

/// How often the stack's events are read while it updates.
const POLL: Duration = Duration::from_millis(200);

/// A CloudFormation answer: the XML document, or the error's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The lab answered an error.
    #[error("{code}: {message}")]
    Refused {
        /// `ValidationError`, ...
        code: String,
        /// CloudFormation's message.
        message: String,
    },
    /// No answer.
    #[error(
        "the lab did not answer at {endpoint}: {reason}; start it with `rollcall-lab serve --template template.yaml` or give --endpoint-url"
    )]
    Unreachable {
        /// The URL tried.
        endpoint: String,
        /// The transport error.
        reason: String,
    },
}

/// A CloudFormation Query client of one lab.
#[derive(Debug, Clone)]
pub struct CloudFormationClient {
    endpoint: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl CloudFormationClient {
    /// A client of the lab at `endpoint`.
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// `Action` with `params`; the response document's text.
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, QueryError> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", "2010-05-15");
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/", self.endpoint))
            .header(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(Full::new(Bytes::from(form.finish())))
            .expect("a valid request");
        let unreachable = |reason: String| QueryError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let ok = response.status().is_success();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        if ok {
            return Ok(text);
        }
        let doc = roxmltree::Document::parse(&text).ok();
        let field = |name: &str| {
            doc.as_ref()
                .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_owned()
        };
        Err(QueryError::Refused {
            code: field("Code"),
            message: if doc.is_some() {
                field("Message")
            } else {
                text
            },
        })
    }
}

/// The first element named `name` in `xml`, as text.
pub fn xml_field(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(str::to_owned)
}

/// One stack event, as DescribeStackEvents gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    /// Its id.
    pub id: String,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Status.
    pub status: String,
    /// Reason, if any.
    pub reason: String,
}

/// The events of a DescribeStackEvents answer, newest first.
pub fn stack_events(xml: &str) -> Vec<StackEvent> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("member") && n.children().any(|c| c.has_tag_name("EventId")))
        .map(|n| {
            let get = |name: &str| {
                n.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or_default()
                    .to_owned()
            };
            StackEvent {
                id: get("EventId"),
                logical_id: get("LogicalResourceId"),
                resource_type: get("ResourceType"),
                status: get("ResourceStatus"),
                reason: get("ResourceStatusReason"),
            }
        })
        .collect()
}

/// Runs `rollcall-lab deploy`; the exit code.
pub async fn deploy(args: &DeployArgs) -> i32 {
    let template = args
        .template
        .clone()
        .unwrap_or_else(default_deploy_template);
    let source = match stack_source(
        &template,
        args.stack_name.as_deref(),
        &args.parameter_overrides,
        "--parameter-overrides",
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rollcall-lab deploy: {e}");
            return EXIT_USAGE;
        }
    };
    let endpoint = args
        .endpoint_url
        .clone()
        .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
    let client = CloudFormationClient::new(&endpoint);
    let mut params = vec![
        ("StackName".to_owned(), source.stack_name.clone()),
        (
            "TemplateURL".to_owned(),
            format!("file://{}", source.template_path.display()),
        ),
        (
            "Capabilities.member.1".to_owned(),
            "CAPABILITY_IAM".to_owned(),
        ),
        (
            "Capabilities.member.2".to_owned(),
            "CAPABILITY_AUTO_EXPAND".to_owned(),
        ),
    ];
    for (i, (k, v)) in source.overrides.iter().enumerate() {
        params.push((
            format!("Parameters.member.{}.ParameterKey", i + 1),
            k.clone(),
        ));
        params.push((
            format!("Parameters.member.{}.ParameterValue", i + 1),
            v.clone(),
        ));
    }
    // Events already there are not this deploy's.
    let seen: std::collections::BTreeSet<String> = client
        .call(
            "DescribeStackEvents",
            &[("StackName".to_owned(), source.stack_name.clone())],
        )
        .await
        .map(|xml| stack_events(&xml).into_iter().map(|e| e.id).collect())
        .unwrap_or_default();
    eprintln!(
        "Deploying {} as stack {} to the lab at {endpoint}",
        source.template_path.display(),
        source.stack_name
    );
    match client.call("UpdateStack", &params).await {
        Ok(_) => {}
        Err(QueryError::Refused { message, .. })
            if message.contains("No updates are to be performed") =>
        {
            println!(
                "No changes to deploy. Stack {} is up to date",
                source.stack_name
            );
            return 0;
        }
        Err(e @ QueryError::Unreachable { .. }) => {
            eprintln!("rollcall-lab deploy: {e}");
            return EXIT_UNAVAILABLE;
        }
        Err(e) => {
            eprintln!(
                "rollcall-lab deploy: {}: {e}",
                source.template_path.display()
            );
            return 1;
        }
    }
    follow(&client, &source.stack_name, seen, &mut std::io::stdout()).await
}

/// Prints the stack's new events to `out`, oldest first, until the update ends; the exit
/// code. The status is read before the events: once it says the update ended, the events
/// read after it hold the last ones (the stack's own final event is logged with its status).
async fn follow(
    client: &CloudFormationClient,
    stack: &str,
    mut seen: std::collections::BTreeSet<String>,
    out: &mut (dyn std::io::Write + Send),
) -> i32 {
    let _ = writeln!(
        out,
        "{:<40} {:<36} {:<40} ResourceStatusReason",
        "ResourceStatus", "ResourceType", "LogicalResourceId"
    );
    let name = [("StackName".to_owned(), stack.to_owned())];
    loop {
        let status = match client.call("DescribeStacks", &name).await {
            Ok(xml) => xml_field(&xml, "StackStatus").unwrap_or_default(),
            Err(e) => {
                eprintln!("rollcall-lab deploy: DescribeStacks: {e}");
                return EXIT_UNAVAILABLE;
            }
        };
        let events = match client.call("DescribeStackEvents", &name).await {
            Ok(xml) => stack_events(&xml),
            Err(e) => {
                eprintln!("rollcall-lab deploy: DescribeStackEvents: {e}");
                return EXIT_UNAVAILABLE;
            }
        };
        for e in events.iter().rev().filter(|e| !seen.contains(&e.id)) {
            let _ = writeln!(
                out,
                "{:<40} {:<36} {:<40} {}",
                e.status,
                e.resource_type,
                e.logical_id,
                if e.reason.is_empty() { "-" } else { &e.reason }
            );
        }
        seen.extend(events.iter().map(|e| e.id.clone()));
        match status.as_str() {
            "UPDATE_COMPLETE" | "CREATE_COMPLETE" => {
                let _ = writeln!(out, "Successfully updated stack {stack} ({status})");
                return 0;
            }
            s if s.ends_with("_COMPLETE") || s.ends_with("_FAILED") => {
                eprintln!(
                    "rollcall-lab deploy: stack {stack} ended {s}: the update was rolled back (the events above say why)"
                );
                return 1;
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    use super::*;

    /// A stack's CloudFormation answers in a race the lab cannot be made to hit on demand:
    /// the update ends (its final event logged with its status) right after each events read.
    async fn stack_ending_after_an_events_read() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ended = Arc::new(AtomicBool::new(false));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let ended = Arc::clone(&ended);
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let ended = Arc::clone(&ended);
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        let form = String::from_utf8_lossy(&body).into_owned();
                        let event = |id: &str, status: &str| {
                            format!(
                                "<member><EventId>{id}</EventId><LogicalResourceId>demo</LogicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><ResourceStatus>{status}</ResourceStatus></member>"
                            )
                        };
                        let xml = if form.contains("Action=DescribeStackEvents") {
                            let done = ended.swap(true, Ordering::SeqCst);
                            let mut events = String::new();
                            if done {
                                events.push_str(&event("e2", "UPDATE_COMPLETE"));
                            }
                            events.push_str(&event("e1", "UPDATE_IN_PROGRESS"));
                            format!("<R><StackEvents>{events}</StackEvents></R>")
                        } else {
                            let status = if ended.load(Ordering::SeqCst) {
                                "UPDATE_COMPLETE"
                            } else {
                                "UPDATE_IN_PROGRESS"
                            };
                            format!("<R><StackStatus>{status}</StackStatus></R>")
                        };
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(xml))))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn the_last_events_are_printed_when_the_update_ends_between_two_reads() {
        let endpoint = stack_ending_after_an_events_read().await;
        let client = CloudFormationClient::new(&endpoint);
        let mut out = Vec::new();
        let code = follow(&client, "demo", Default::default(), &mut out).await;
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, 0, "{out}");
        let statuses: Vec<&str> = out
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            statuses,
            ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "Successfully"],
            "{out}"
        );
    }
}
