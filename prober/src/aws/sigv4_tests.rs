use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use clap::Parser;

use super::*;
use crate::cli::Cli;
use crate::worker::RequestTemplate;

/// The AWS SigV4 test suite's credentials (aws-signing-test-suite, `context.json`).
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, the suite's timestamp.
const SUITE_TIME: u64 = 1_440_938_160;

fn config(args: &[&str]) -> Config {
    let mut argv = vec!["prober"];
    argv.extend_from_slice(args);
    Config::from_cli(&Cli::try_parse_from(argv).unwrap(), |_| Ok(Vec::new())).unwrap()
}

fn creds(token: Option<&str>) -> Credentials {
    Credentials::new(AKID, SECRET, token.map(str::to_owned), None, "test")
}

fn at_suite_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SUITE_TIME)
}

#[test]
fn get_vanilla_known_answer() {
    // aws-signing-test-suite v4/get-vanilla: `GET /` to example.amazonaws.com, service
    // `service`, us-east-1.
    let c = config(&["--url", "https://example.amazonaws.com/"]);
    let p = Presigner::new(&c, "service", "us-east-1").unwrap();
    let signed = p.sign_at(&creds(None), at_suite_time()).unwrap();
    assert_eq!(signed.len(), 2);
    assert_eq!(signed.get("x-amz-date").unwrap(), "20150830T123600Z");
    assert_eq!(
        signed.get("authorization").unwrap(),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
    assert!(signed.get("authorization").unwrap().is_sensitive());
}

#[test]
fn a_session_token_and_a_body_add_their_headers() {
    let c = config(&[
        "--url",
        "https://abc.execute-api.eu-west-1.amazonaws.com/prod/x",
        "--method",
        "POST",
        "--body",
        "hello",
        "-H",
        "Content-Type: text/plain",
        "--sigv4",
        "execute-api",
    ]);
    let p = Presigner::new(&c, "execute-api", "eu-west-1").unwrap();
    let signed = p.sign_at(&creds(Some("TOKEN")), at_suite_time()).unwrap();
    assert_eq!(signed.len(), 4);
    assert_eq!(signed.get("x-amz-security-token").unwrap(), "TOKEN");
    // SHA-256 of "hello".
    assert_eq!(
        signed.get("x-amz-content-sha256").unwrap(),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    let auth = signed.get("authorization").unwrap().to_str().unwrap();
    assert!(
        auth.contains("/20150830/eu-west-1/execute-api/aws4_request")
            && auth.contains(
                "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;\
                 x-amz-security-token"
            ),
        "{auth}"
    );
    // One second later, another signature; the same second, the same one.
    let later = p
        .sign_at(
            &creds(Some("TOKEN")),
            at_suite_time() + Duration::from_secs(1),
        )
        .unwrap();
    assert_ne!(later.get("authorization"), signed.get("authorization"));
    let same = p
        .sign_at(
            &creds(Some("TOKEN")),
            at_suite_time() + Duration::from_millis(900),
        )
        .unwrap();
    assert_eq!(same, signed);
}

#[test]
fn http2_requests_carry_the_signature_without_a_host_header() {
    let c = config(&[
        "--url",
        "https://abc.lambda-url.us-east-2.on.aws/x",
        "--http2",
        "--sigv4",
        "lambda",
    ]);
    let p = Presigner::new(&c, "lambda", "us-east-2").unwrap();
    let signed = p.sign_at(&creds(None), at_suite_time()).unwrap();
    let template = RequestTemplate::new(&c);
    let h2 = template.build(true, Some(&signed));
    assert!(h2.headers().get(HOST).is_none());
    assert_eq!(h2.uri().host(), Some("abc.lambda-url.us-east-2.on.aws"));
    assert_eq!(
        h2.headers().get("authorization"),
        signed.get("authorization")
    );
    let h1 = template.build(false, Some(&signed));
    assert_eq!(
        h1.headers().get(HOST).unwrap(),
        "abc.lambda-url.us-east-2.on.aws"
    );
    assert_eq!(h1.headers().get("x-amz-date"), signed.get("x-amz-date"));
    assert!(
        template
            .build(false, None)
            .headers()
            .get("x-amz-date")
            .is_none()
    );
}

#[test]
fn regions_named_by_aws_hosts() {
    assert_eq!(
        region_from_host("abc123.execute-api.eu-west-1.amazonaws.com"),
        Some("eu-west-1")
    );
    assert_eq!(
        region_from_host("abc.execute-api.cn-north-1.amazonaws.com.cn"),
        Some("cn-north-1")
    );
    assert_eq!(
        region_from_host("xyz.lambda-url.ap-southeast-2.on.aws"),
        Some("ap-southeast-2")
    );
    assert_eq!(region_from_host("api.example.com"), None);
    assert_eq!(region_from_host("127.0.0.1"), None);
    assert_eq!(
        region_from_host("execute-api.eu-west-1.amazonaws.com"),
        None
    );
}

#[test]
fn queries_are_sent_as_signed() {
    assert_eq!(canonical_query("x=1&y=a+b"), "x=1&y=a%20b");
    assert_eq!(canonical_query("k=%7e%2f&z"), "k=~%2F&z=");
    assert_eq!(canonical_query("a=b"), "a=b");
    let c = config(&[
        "--url",
        "http://h/a b/%2F?x=1&y=a+b",
        "--sigv4",
        "execute-api",
    ]);
    assert_eq!(c.target.origin_form.to_string(), "/a%20b/%2F?x=1&y=a%20b");
    assert_eq!(c.target.uri.to_string(), "http://h/a%20b/%2F?x=1&y=a%20b");
    // Without --sigv4 the URL is sent as given.
    let c = config(&["--url", "http://h/p?y=a+b"]);
    assert_eq!(c.target.origin_form.to_string(), "/p?y=a+b");
}

#[test]
fn authorization_headers_and_user_info_do_not_mix_with_sigv4() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["prober"];
        argv.extend_from_slice(args);
        Config::from_cli(&Cli::try_parse_from(argv).unwrap(), |_| Ok(Vec::new()))
    };
    let e = parse(&[
        "--url",
        "http://h/",
        "--sigv4",
        "lambda",
        "-H",
        "Authorization: Bearer x",
    ])
    .unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
    assert!(
        !e.to_string().contains("Bearer x"),
        "the secret is not echoed: {e}"
    );
    let e = parse(&["--url", "http://u:p@h/", "--sigv4", "lambda"]).unwrap_err();
    assert!(e.to_string().contains("user info"), "{e}");
}

/// A provider handing out `AKID0`, `AKID1`, ... each expiring in `lifetime` (counts its calls).
#[derive(Debug)]
struct Rotating {
    calls: std::sync::atomic::AtomicU32,
    lifetime: Option<Duration>,
}

impl ProvideCredentials for Rotating {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let expiry = self.lifetime.map(|l| SystemTime::now() + l);
        aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKID{n}"),
            SECRET,
            None,
            expiry,
            "rotating",
        )))
    }
}

/// Starts the signing task for `provider` from `initial`; the receiver and the provider.
fn signing(
    initial: Credentials,
    lifetime: Option<Duration>,
) -> (
    watch::Receiver<Arc<SignedHeaders>>,
    Arc<Rotating>,
    tokio::task::JoinHandle<()>,
) {
    let c = config(&["--url", "https://abc.execute-api.us-east-1.amazonaws.com/"]);
    let p = Presigner::new(&c, "execute-api", "us-east-1").unwrap();
    let rotating = Arc::new(Rotating {
        calls: Default::default(),
        lifetime,
    });
    let provider = SharedCredentialsProvider::new(RotatingRef(rotating.clone()));
    let first = p.sign_at(&initial, SystemTime::now()).unwrap();
    let (tx, rx) = watch::channel(Arc::new(first));
    let task = tokio::spawn(keep_signing(p, provider, initial, tx));
    (rx, rotating, task)
}

#[derive(Debug)]
struct RotatingRef(Arc<Rotating>);

impl ProvideCredentials for RotatingRef {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.0.provide_credentials()
    }
}

/// The next signature published (a changed watch), or a panic after 5 s.
async fn next(rx: &mut watch::Receiver<Arc<SignedHeaders>>) -> Arc<SignedHeaders> {
    tokio::time::timeout(Duration::from_secs(5), rx.changed())
        .await
        .expect("a new signature every second")
        .unwrap();
    rx.borrow_and_update().clone()
}

fn access_key(s: &SignedHeaders) -> String {
    let auth = s.get("authorization").unwrap().to_str().unwrap();
    let credential = auth.split("Credential=").nth(1).unwrap();
    credential.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn credentials_about_to_expire_are_fetched_again_and_signed_with_at_once() {
    let expiring = Credentials::new(
        "AKIDOLD",
        SECRET,
        None,
        Some(SystemTime::now() + Duration::from_secs(30)),
        "test",
    );
    let (mut rx, rotating, task) = signing(expiring, Some(Duration::from_secs(3600)));
    assert_eq!(access_key(&rx.borrow_and_update()), "AKIDOLD");
    let s1 = next(&mut rx).await;
    assert_eq!(
        access_key(&s1),
        "AKID0",
        "refreshed within REFRESH_BEFORE_EXPIRY"
    );
    let s2 = next(&mut rx).await;
    assert_eq!(access_key(&s2), "AKID0", "fresh credentials are kept");
    assert_ne!(
        s1.get("x-amz-date"),
        s2.get("x-amz-date"),
        "one signature a second"
    );
    assert_eq!(rotating.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    task.abort();
}

#[tokio::test]
async fn credentials_without_expiry_are_not_fetched_again() {
    let (mut rx, rotating, task) = signing(creds(None), None);
    let s1 = next(&mut rx).await;
    let s2 = next(&mut rx).await;
    assert_eq!(access_key(&s2), AKID);
    assert_ne!(s1.get("x-amz-date"), s2.get("x-amz-date"));
    assert_eq!(rotating.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    task.abort();
}
