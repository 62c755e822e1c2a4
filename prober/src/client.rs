//! Connections to the target: TCP, TLS (rustls with the ring provider and webpki roots, or any
//! certificate with `--insecure`), and hyper 1 HTTP/1.1 or HTTP/2 handshakes.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::config::{Config, Scheme, Target};
use crate::error::ProberError;

/// The request body type.
pub type Body = Full<Bytes>;

/// Why a request failed without an HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// No response within `--timeout`.
    Timeout,
    /// TCP connect failed (unreachable network or host, ...).
    Connect,
    /// The target refused the connection: nothing listens on the port.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The connection was reset or closed mid-request.
    Reset,
    /// The TLS handshake failed.
    Tls,
    /// The server answered the TLS handshake with something that is not TLS (a plain-HTTP
    /// port behind an https:// URL).
    NotTls,
    /// Anything else (protocol errors, ...).
    Other,
    /// Abandoned in flight when the run was interrupted (not a failure of the target: not in
    /// the error rate).
    Interrupted,
}

impl FailKind {
    /// Every kind, in [`FailKind::index`] order.
    pub const ALL: [FailKind; 9] = [
        FailKind::Timeout,
        FailKind::Connect,
        FailKind::Refused,
        FailKind::Dns,
        FailKind::Reset,
        FailKind::Tls,
        FailKind::NotTls,
        FailKind::Other,
        FailKind::Interrupted,
    ];

    /// Position in [`FailKind::ALL`].
    pub fn index(self) -> usize {
        FailKind::ALL
            .iter()
            .position(|k| *k == self)
            .expect("every kind is listed")
    }

    /// The key used in `errors_by_kind` (refused and DNS failures are `connect`, a non-TLS
    /// answer is `tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::Timeout => "timeout",
            FailKind::Connect | FailKind::Refused | FailKind::Dns => "connect",
            FailKind::Reset => "reset",
            FailKind::Tls | FailKind::NotTls => "tls",
            FailKind::Other => "other",
            FailKind::Interrupted => "interrupted",
        }
    }

    /// The precise cause, as `totals.failure_causes` and the diagnosis say it.
    pub fn cause(self) -> &'static str {
        match self {
            FailKind::Timeout => "timeout",
            FailKind::Connect => "connection failed",
            FailKind::Refused => "connection refused",
            FailKind::Dns => "host not found",
            FailKind::Reset => "connection reset or closed",
            FailKind::Tls => "TLS handshake failed",
            FailKind::NotTls => "not TLS",
            FailKind::Other => "protocol error",
            FailKind::Interrupted => "interrupted",
        }
    }
}

/// An open connection, ready to carry requests.
#[derive(Debug)]
pub enum Conn {
    /// HTTP/1.1 keep-alive, owned by one worker.
    H1(http1::SendRequest<Body>),
    /// HTTP/2, shared by all workers (clones multiplex one connection).
    H2(http2::SendRequest<Body>),
}

impl Conn {
    /// False once the connection is closed.
    pub fn is_open(&self) -> bool {
        match self {
            Conn::H1(s) => !s.is_closed(),
            Conn::H2(s) => !s.is_closed(),
        }
    }
}

/// Opens connections to the target.
#[derive(Clone)]
pub struct Connector {
    scheme: Scheme,
    host: String,
    port: u16,
    http2: bool,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("http2", &self.http2)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Connector {
    /// A connector for `config`'s target and TLS settings. With a `--connect-to` for the
    /// target's host, connections go to that address instead (TLS only when it is https://,
    /// the server name still the target's host); requests are unchanged.
    pub fn new(config: &Config) -> Result<Self, ProberError> {
        let Target { host, .. } = &config.target;
        let (scheme, dial_host, port) = match config
            .control
            .connect_to
            .iter()
            .find(|c| c.host.eq_ignore_ascii_case(host))
        {
            Some(c) => {
                let scheme = match c.to.scheme_str() {
                    Some("https") => Scheme::Https,
                    _ => Scheme::Http,
                };
                let to_host = c.to.host().unwrap_or_default();
                let to_host = to_host.trim_start_matches('[').trim_end_matches(']');
                let default = if scheme == Scheme::Https { 443 } else { 80 };
                tracing::info!(%host, to = %c.to, "--connect-to: connecting elsewhere");
                (
                    scheme,
                    to_host.to_owned(),
                    c.to.port_u16().unwrap_or(default),
                )
            }
            None => (config.target.scheme, host.clone(), config.target.port),
        };
        let scheme = &scheme;
        let tls = match scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let tls_config = tls_config(config.insecure, config.http2)?;
                let name = ServerName::try_from(host.clone()).map_err(|_| {
                    ProberError::invalid(
                        "--url",
                        &config.target.redacted,
                        "the host is not a valid TLS server name",
                    )
                })?;
                Some((tokio_rustls::TlsConnector::from(Arc::new(tls_config)), name))
            }
        };
        Ok(Connector {
            scheme: *scheme,
            host: dial_host,
            port,
            http2: config.http2,
            tls,
        })
    }

    /// True when requests must carry the full URI (HTTP/2) rather than the origin form.
    pub fn prefers_h2(&self) -> bool {
        self.http2
    }

    /// Opens a connection: HTTP/2 with prior knowledge on http:// when asked, HTTP/2 when ALPN
    /// negotiates it on https://, HTTP/1.1 otherwise.
    pub async fn connect(&self) -> Result<Conn, FailKind> {
        let addrs: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host((self.host.as_str(), self.port))
                .await
                .map_err(|e| {
                    tracing::debug!(error = %e, host = %self.host, "name resolution failed");
                    FailKind::Dns
                })?
                .collect();
        if addrs.is_empty() {
            return Err(FailKind::Dns);
        }
        let tcp = TcpStream::connect(&addrs[..]).await.map_err(|e| {
            tracing::debug!(error = %e, "connect failed");
            match classify_io(&e, FailKind::Connect) {
                FailKind::Reset | FailKind::Other => FailKind::Connect,
                kind => kind,
            }
        })?;
        let _ = tcp.set_nodelay(true);
        match (&self.tls, self.scheme) {
            (Some((tls, name)), Scheme::Https) => {
                let stream = tls.connect(name.clone(), tcp).await.map_err(|e| {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    classify_io(&e, FailKind::Tls)
                })?;
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                handshake(TokioIo::new(stream), h2).await
            }
            _ => handshake(TokioIo::new(tcp), self.http2).await,
        }
    }
}

async fn handshake<T>(io: TokioIo<T>, h2: bool) -> Result<Conn, FailKind>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if h2 {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| classify_hyper(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "HTTP/2 connection ended");
            }
        });
        Ok(Conn::H2(sender))
    } else {
        let (sender, conn) = http1::handshake(io).await.map_err(|e| classify_hyper(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "HTTP/1 connection ended");
            }
        });
        Ok(Conn::H1(sender))
    }
}

/// The rustls client configuration: webpki roots, or no verification with `insecure`; ALPN
/// `h2` then `http/1.1` when HTTP/2 is wanted.
pub fn tls_config(insecure: bool, http2: bool) -> Result<rustls::ClientConfig, ProberError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProberError::Internal(format!("TLS setup: {e}")))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// `--insecure`: accepts any certificate (signatures are still checked for well-formedness).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Classifies an I/O error; `default` when nothing more specific applies.
pub fn classify_io(e: &std::io::Error, default: FailKind) -> FailKind {
    use std::io::ErrorKind as K;
    if let Some(inner) = e.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return classify_tls(tls);
        }
    }
    match e.kind() {
        K::TimedOut => FailKind::Timeout,
        K::ConnectionRefused => FailKind::Refused,
        K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => FailKind::Connect,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            FailKind::Reset
        }
        _ => default,
    }
}

/// A TLS error: [`FailKind::NotTls`] when the peer's bytes were not TLS records at all.
fn classify_tls(e: &rustls::Error) -> FailKind {
    match e {
        rustls::Error::InvalidMessage(_) => FailKind::NotTls,
        _ => FailKind::Tls,
    }
}

/// Classifies a hyper error by walking its source chain.
pub fn classify_hyper(e: &hyper::Error) -> FailKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return classify_tls(tls);
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return classify_io(io, FailKind::Reset);
        }
        source = s.source();
    }
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        FailKind::Reset
    } else if e.is_timeout() {
        FailKind::Timeout
    } else {
        FailKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_kinds() {
        use std::io::{Error, ErrorKind as K};
        assert_eq!(
            classify_io(&Error::from(K::ConnectionRefused), FailKind::Other),
            FailKind::Refused
        );
        let not_tls = Error::new(
            K::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert_eq!(classify_io(&not_tls, FailKind::Other), FailKind::NotTls);
        for kind in FailKind::ALL {
            assert_eq!(FailKind::ALL[kind.index()], kind);
        }
        assert_eq!(
            classify_io(&Error::from(K::ConnectionReset), FailKind::Other),
            FailKind::Reset
        );
        assert_eq!(
            classify_io(&Error::from(K::TimedOut), FailKind::Other),
            FailKind::Timeout
        );
        let tls = Error::new(K::InvalidData, rustls::Error::DecryptError);
        assert_eq!(classify_io(&tls, FailKind::Other), FailKind::Tls);
        assert_eq!(
            classify_io(&Error::from(K::InvalidData), FailKind::Other),
            FailKind::Other
        );
    }

    #[test]
    fn tls_configs_build_with_alpn() {
        let c = tls_config(false, true).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        let c = tls_config(true, false).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
