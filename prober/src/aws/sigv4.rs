//! `--sigv4 SERVICE`: every probe signed with AWS Signature Version 4, without signing on the
//! send lanes.
//!
//! For one request (method, URL, headers, body) a signature depends only on `X-Amz-Date` (one
//! second resolution), the credentials and the scope: every request of one second shares one
//! signature. A [`Signer`] task on the main runtime signs once per second (and at once when the
//! credentials are refreshed) with the official `aws-sigv4` crate, and publishes the 2 to 4
//! headers ([`SignedHeaders`]) through a `watch` channel; a worker clones an `Arc` and appends
//! them in [`crate::worker::RequestTemplate::build`]. The first signature is made before any
//! probe, so that missing or expired credentials and an unknown region stop the run (exit 64)
//! with nothing sent.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::watch;

use crate::config::{Config, Scheme};
use crate::error::ProberError;

/// Credentials this close to their expiry are fetched again from the SDK's chain (STS, SSO,
/// role and process credentials expire; static ones are fetched once).
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// The headers that sign the requests of one second (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` / `x-amz-content-sha256` when they apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SignedHeaders {
    /// Sets these headers on `map` (replacing any of the same name).
    pub fn apply(&self, map: &mut HeaderMap) {
        for (name, value) in &self.headers {
            map.insert(name.clone(), value.clone());
        }
    }

    /// The value of header `name`, if signed.
    pub fn get(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when there is no header (never for a signature).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

/// What is signed: the request every probe sends, and the scope.
#[derive(Debug, Clone)]
pub struct Presigner {
    region: String,
    service: String,
    method: String,
    /// `scheme://host/path?query` with the host the request carries (its `Host` header).
    url: String,
    /// Every header the prober sends but those hyper adds (`content-length` is not signed).
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Presigner {
    /// The presigner of `config`'s request, for `service` in `region`.
    pub fn new(config: &Config, service: &str, region: &str) -> Result<Self, ProberError> {
        let target = &config.target;
        let host = config
            .headers
            .get(HOST)
            .unwrap_or(&target.host_header)
            .to_str()
            .map_err(|_| unsignable("Host", "its value is not visible ASCII"))?;
        let scheme = match target.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let url = format!("{scheme}://{host}{}", target.origin_form);
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let value = value
                .to_str()
                .map_err(|_| unsignable(name.as_str(), "its value is not visible ASCII"))?;
            headers.push((name.as_str().to_owned(), value.to_owned()));
        }
        Ok(Presigner {
            region: region.to_owned(),
            service: service.to_owned(),
            method: config.method.to_string(),
            url,
            headers,
            body: config.body.clone(),
        })
    }

    /// The region signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The headers signing the request at `at` with `credentials`.
    pub fn sign_at(
        &self,
        credentials: &Credentials,
        at: SystemTime,
    ) -> Result<SignedHeaders, String> {
        let identity = credentials.clone().into();
        let mut settings = SigningSettings::default();
        if !self.body.is_empty() {
            // Function URLs behind CloudFront OAC require it; harmless elsewhere.
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(at)
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable = SignableRequest::new(
            &self.method,
            self.url.as_str(),
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&self.body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        let (headers, _params) = instructions.into_parts();
        let mut signed = Vec::with_capacity(headers.len());
        for h in headers {
            let name = HeaderName::from_bytes(h.name().as_bytes()).map_err(|e| e.to_string())?;
            let mut value = HeaderValue::from_str(h.value()).map_err(|e| e.to_string())?;
            value.set_sensitive(h.sensitive() || name == http::header::AUTHORIZATION);
            signed.push((name, value));
        }
        Ok(SignedHeaders { headers: signed })
    }
}

fn unsignable(header: &str, why: &str) -> ProberError {
    ProberError::invalid(
        "--header",
        header,
        format!("{why}, so it cannot be signed with --sigv4; send ASCII header values"),
    )
}

/// The region named by an AWS endpoint host: `ID.execute-api.REGION.amazonaws.com[.cn]`
/// (API Gateway) or `ID.lambda-url.REGION.on.aws` (function URLs).
pub fn region_from_host(host: &str) -> Option<&str> {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    match labels.as_slice() {
        [_, "execute-api", region, "amazonaws", "com"]
        | [_, "execute-api", region, "amazonaws", "com", "cn"]
        | [_, "lambda-url", region, "on", "aws"] => Some(region),
        _ => None,
    }
}

/// Appends `text` encoded as SigV4 encodes query names and values: unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) as they are, every other byte as `%XY`.
pub fn sigv4_escape(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// `query` as SigV4's canonical request reads it, in the order given: each name and value
/// decoded (`+` is a space, as in forms and in the AWS SDKs' signers) and encoded again with
/// [`sigv4_escape`].
pub fn canonical_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !out.is_empty() {
            out.push('&');
        }
        sigv4_escape(&name, &mut out);
        out.push('=');
        sigv4_escape(&value, &mut out);
    }
    out
}

/// The IAM permission a signed probe needs (named in errors).
fn permission(config: &Config, service: &str) -> &'static str {
    match (service, config.control.invoke.is_some()) {
        ("lambda", true) => "lambda:InvokeFunction",
        ("lambda", false) => "lambda:InvokeFunctionUrl",
        _ => "execute-api:Invoke",
    }
}

/// The error's source chain, one cause after another.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Credentials from the SDK's chain; a usage error naming the setting when there are none or
/// they have expired.
async fn credentials(
    provider: &SharedCredentialsProvider,
    call: &'static str,
    resource: &str,
) -> Result<Credentials, ProberError> {
    let creds = provider.provide_credentials().await.map_err(|e| {
        use aws_credential_types::provider::error::CredentialsError as E;
        let fix = match &e {
            E::CredentialsNotLoaded(_) => {
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile \
                 of ~/.aws/config (run `aws sso login` for an SSO profile, `aws configure` \
                 otherwise)"
            }
            E::InvalidConfiguration(_) => {
                "fix the profile named by AWS_PROFILE in AWS_CONFIG_FILE / \
                 AWS_SHARED_CREDENTIALS_FILE (`aws configure list` shows what is used)"
            }
            _ => "check the credential source (`aws sts get-caller-identity` tries the same chain)",
        };
        ProberError::ControlPlane {
            call,
            resource: resource.to_owned(),
            reason: format!("no AWS credentials to sign with ({})", causes(&e)),
            fix: fix.to_owned(),
        }
    })?;
    if let Some(expiry) = creds.expiry() {
        if expiry <= SystemTime::now() {
            let at = time::OffsetDateTime::from(expiry)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| format!("{expiry:?}"));
            return Err(ProberError::ControlPlane {
                call,
                resource: resource.to_owned(),
                reason: format!("the AWS credentials expired at {at}"),
                fix: "refresh them (`aws sso login`, or the credential_process / role session \
                      that supplies them) and run again"
                    .to_owned(),
            });
        }
    }
    Ok(creds)
}

/// The signer of a run: the current [`SignedHeaders`], renewed every second by a task on the
/// main runtime (stopped when dropped).
#[derive(Debug)]
pub struct Signer {
    rx: watch::Receiver<Arc<SignedHeaders>>,
    region: String,
    task: tokio::task::JoinHandle<()>,
}

impl Signer {
    /// Resolves the region and the credentials and makes the first signature (nothing is sent
    /// yet); `None` without `--sigv4`. Region: `--sigv4-region` (or `--invoke`'s), else the
    /// URL's host, else the SDK's region chain.
    pub async fn start(config: &Config) -> Result<Option<Signer>, ProberError> {
        let Some(sigv4) = &config.control.sigv4 else {
            return Ok(None);
        };
        let call = permission(config, &sigv4.service);
        let resource = config.target.redacted.clone();
        let from_host = region_from_host(&config.target.host).map(str::to_owned);
        if let (Some(flag), Some(host)) = (&sigv4.region, &from_host) {
            if flag != host {
                tracing::warn!(
                    flag = %flag,
                    host = %host,
                    "--sigv4-region differs from the region the URL's host names; signing for \
                     --sigv4-region"
                );
            }
        }
        let known = sigv4.region.clone().or(from_host);
        let sdk = crate::aws::sdk_config(known.as_deref()).await;
        let region = match known.or_else(|| sdk.region().map(|r| r.to_string())) {
            Some(r) => r,
            None => {
                return Err(ProberError::ControlPlane {
                    call,
                    resource,
                    reason: "no region to sign for: the URL's host names none and the SDK's \
                             chain found none"
                        .to_owned(),
                    fix: "give --sigv4-region REGION (or PROBER_SIGV4_REGION), or set AWS_REGION \
                          or a region in the profile"
                        .to_owned(),
                });
            }
        };
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| ProberError::ControlPlane {
                call,
                resource: resource.clone(),
                reason: "no AWS credential provider is configured".to_owned(),
                fix: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE".to_owned(),
            })?;
        let creds = credentials(&provider, call, &resource).await?;
        let presigner = Presigner::new(config, &sigv4.service, &region)?;
        let first = presigner
            .sign_at(&creds, SystemTime::now())
            .map_err(|reason| ProberError::ControlPlane {
                call,
                resource: resource.clone(),
                reason: format!("the request cannot be signed: {reason}"),
                fix: "check --url, --method and --header".to_owned(),
            })?;
        tracing::info!(service = %sigv4.service, %region, "signing every probe with SigV4");
        let (tx, rx) = watch::channel(Arc::new(first));
        let task = tokio::spawn(keep_signing(presigner, provider, creds, tx));
        Ok(Some(Signer { rx, region, task }))
    }

    /// A receiver of the current signature, for a send lane.
    pub fn receiver(&self) -> watch::Receiver<Arc<SignedHeaders>> {
        self.rx.clone()
    }

    /// The region signed for.
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Re-signs at every second of the wall clock, and fetches the credentials again shortly before
/// they expire (re-signing at once when they changed).
async fn keep_signing(
    presigner: Presigner,
    provider: SharedCredentialsProvider,
    mut creds: Credentials,
    tx: watch::Sender<Arc<SignedHeaders>>,
) {
    let mut warned = false;
    loop {
        let now = SystemTime::now();
        let into = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        // A millisecond past the boundary, so that the date is the new second's.
        let wait = Duration::from_nanos(u64::from(1_000_000_000 - into)) + Duration::from_millis(1);
        tokio::time::sleep(wait).await;
        let due = creds
            .expiry()
            .is_some_and(|e| e <= SystemTime::now() + REFRESH_BEFORE_EXPIRY);
        if due {
            match provider.provide_credentials().await {
                Ok(fresh) => {
                    if fresh != creds {
                        tracing::info!("AWS credentials refreshed; re-signing");
                    }
                    creds = fresh;
                    warned = false;
                }
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(
                        error = %causes(&e),
                        "cannot refresh the AWS credentials; signing with the old ones"
                    );
                }
                Err(_) => {}
            }
        }
        match presigner.sign_at(&creds, SystemTime::now()) {
            Ok(signed) => {
                tx.send_replace(Arc::new(signed));
            }
            Err(e) => tracing::warn!(error = %e, "signing failed; the previous signature stays"),
        }
    }
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
