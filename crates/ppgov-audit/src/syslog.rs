//! CEF over syslog: `ppgov audit export --format cef --syslog URL` sends each event as an RFC 5424
//! message whose text is the CEF line. `udp://host:514` sends one datagram per message (RFC 5426);
//! `tcp://host:601` and `tls://host:6514` use octet-counting framing (`LEN SP MSG`, RFC 6587 and
//! RFC 5425), TLS with the system's roots plus any the caller adds, and the host name checked.

use crate::AuditError;
use ppgov_store::EventRow;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per message.
    Udp,
    /// Octet-counted frames on a TCP stream.
    Tcp,
    /// Octet-counted frames over TLS.
    Tls,
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Transport.
    pub transport: Transport,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl std::str::FromStr for Target {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Target, AuditError> {
        let bad = |why: &str| {
            AuditError::Config(format!(
                "syslog target `{s}`: {why}; write udp://HOST:514, tcp://HOST:601 or tls://HOST:6514"
            ))
        };
        let u = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        let (transport, default_port) = match u.scheme() {
            "udp" => (Transport::Udp, 514),
            "tcp" => (Transport::Tcp, 601),
            "tls" => (Transport::Tls, 6514),
            other => return Err(bad(&format!("unknown transport `{other}`"))),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if u.path() != "" && u.path() != "/" || u.query().is_some() || !u.username().is_empty() {
            return Err(bad("only a host and a port are allowed"));
        }
        Ok(Target {
            transport,
            host,
            port: u.port().unwrap_or(default_port),
        })
    }
}

/// Settings of one send.
#[derive(Debug, Clone)]
pub struct Options {
    /// The HOSTNAME field of each message.
    pub hostname: String,
    /// Extra trusted roots for TLS (PEM), besides the system's.
    pub extra_roots_pem: Vec<u8>,
    /// Connect and write timeout.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hostname: "ppgov".into(),
            extra_roots_pem: Vec::new(),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Facility 13 (log audit).
const FACILITY: u8 = 13;
/// Largest message one UDP datagram carries here.
const MAX_DATAGRAM: usize = 65_000;

/// The RFC 5424 message for one event: `<PRI>1 TIMESTAMP HOST ppgov - CEF - CEF:0|...`.
pub fn message(e: &EventRow, hostname: &str) -> String {
    let severity = match e.risk.as_str() {
        "high" => 4,
        "medium" => 5,
        _ => 6,
    };
    let ts = chrono::DateTime::from_timestamp_millis(e.time_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| "-".into());
    let host: String = hostname
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let host = if host.is_empty() { "-".into() } else { host };
    format!(
        "<{}>1 {ts} {host} ppgov - CEF - {}",
        FACILITY * 8 + severity,
        crate::export::cef_line(e)
    )
}

/// `LEN SP MSG`.
pub fn frame(msg: &str) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

fn io(target: &Target, what: &str) -> impl Fn(std::io::Error) -> AuditError {
    let t = format!("{}:{}", target.host, target.port);
    let what = what.to_string();
    move |e| AuditError::Config(format!("syslog {t}: {what}: {e}"))
}

fn tls_config(opts: &Options) -> Result<rustls::ClientConfig, AuditError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    let mut extra = opts.extra_roots_pem.as_slice();
    for c in rustls_pemfile_certs(&mut extra)? {
        roots.add(c).map_err(|e| {
            AuditError::Config(format!("syslog TLS: a trusted root is not usable: {e}"))
        })?;
    }
    if roots.is_empty() {
        return Err(AuditError::Config(
            "syslog TLS: no trusted root certificate (none in the system store and none given)"
                .into(),
        ));
    }
    // The provider is named, not taken from the process default, which another crate of the
    // binary may have chosen differently.
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AuditError::Config(format!("syslog TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

fn rustls_pemfile_certs(
    pem: &mut &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, AuditError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AuditError::Config(format!("syslog TLS: the CA file is not PEM: {e}")))
}

/// Sends one message per event; returns how many were sent.
pub async fn send(
    target: &Target,
    opts: &Options,
    events: &[EventRow],
) -> Result<usize, AuditError> {
    let msgs: Vec<String> = events.iter().map(|e| message(e, &opts.hostname)).collect();
    let addr = (target.host.as_str(), target.port);
    let timed = |what: &'static str| {
        let t = format!("{}:{}", target.host, target.port);
        move |_| AuditError::Config(format!("syslog {t}: {what} timed out"))
    };
    match target.transport {
        Transport::Udp => {
            let bind = if target.host.contains(':') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let sock = tokio::net::UdpSocket::bind(bind)
                .await
                .map_err(io(target, "binding a UDP socket"))?;
            sock.connect(addr).await.map_err(io(target, "resolving"))?;
            for m in &msgs {
                if m.len() > MAX_DATAGRAM {
                    return Err(AuditError::Config(format!(
                        "syslog {}:{}: a message of {} bytes does not fit a datagram; use tcp:// or tls://",
                        target.host,
                        target.port,
                        m.len()
                    )));
                }
                sock.send(m.as_bytes())
                    .await
                    .map_err(io(target, "sending"))?;
            }
        }
        Transport::Tcp | Transport::Tls => {
            let tcp = tokio::time::timeout(opts.timeout, tokio::net::TcpStream::connect(addr))
                .await
                .map_err(timed("connecting"))?
                .map_err(io(target, "connecting"))?;
            let mut stream: Box<dyn tokio::io::AsyncWrite + Unpin + Send> =
                if target.transport == Transport::Tls {
                    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|e| {
                            AuditError::Config(format!(
                                "syslog TLS: `{}` is not a server name: {e}",
                                target.host
                            ))
                        })?;
                    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(opts)?));
                    let tls = tokio::time::timeout(opts.timeout, connector.connect(name, tcp))
                        .await
                        .map_err(timed("the TLS handshake"))?
                        .map_err(io(target, "the TLS handshake"))?;
                    Box::new(tls)
                } else {
                    Box::new(tcp)
                };
            for m in &msgs {
                tokio::time::timeout(opts.timeout, stream.write_all(&frame(m)))
                    .await
                    .map_err(timed("writing"))?
                    .map_err(io(target, "writing"))?;
            }
            tokio::time::timeout(opts.timeout, stream.shutdown())
                .await
                .map_err(timed("closing"))?
                .map_err(io(target, "closing"))?;
        }
    }
    Ok(msgs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_what_to_write() {
        let t: Target = "tls://siem.contoso.com"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.transport, t.port), (Transport::Tls, 6514));
        let t: Target = "udp://[::1]:5514".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.host.as_str(), t.port), ("::1", 5514));
        for bad in [
            "http://x",
            "tcp://",
            "tcp://u:p@h:1",
            "tls://h:1/path",
            "nonsense",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_are_rfc5424_with_the_cef_line_and_counted_frames() {
        let e = EventRow {
            id: "e1".into(),
            time_ms: 1_764_000_000_000,
            operation: "DeleteFlow".into(),
            risk: "high".into(),
            ..EventRow::default()
        };
        let m = message(&e, "gov host");
        assert!(m.starts_with("<108>1 2025-"), "{m}");
        assert!(
            m.contains(" govhost ppgov - CEF - CEF:0|ppgov|ppgov|"),
            "{m}"
        );
        let f = frame("héllo");
        assert_eq!(f, b"6 h\xc3\xa9llo".to_vec());
    }
}
