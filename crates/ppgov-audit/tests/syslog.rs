//! CEF over syslog to real listeners on loopback: UDP datagrams, octet-counted TCP frames, and
//! TLS with a certificate made here (trusted through the extra roots, refused without them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ppgov_audit::syslog::{Options, Target, send};
use ppgov_store::EventRow;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

fn events() -> Vec<EventRow> {
    (0..3)
        .map(|i| EventRow {
            id: format!("ev-{i}"),
            time_ms: 1_764_000_000_000 + i,
            operation: "DeleteFlow".into(),
            actor: "ann@contoso.com".into(),
            risk: "high".into(),
            ..EventRow::default()
        })
        .collect()
}

/// Splits octet-counted frames.
fn frames(mut b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let sp = b.iter().position(|c| *c == b' ').unwrap();
        let n: usize = std::str::from_utf8(&b[..sp]).unwrap().parse().unwrap();
        out.push(String::from_utf8(b[sp + 1..sp + 1 + n].to_vec()).unwrap());
        b = &b[sp + 1 + n..];
    }
    out
}

fn check(msgs: &[String]) {
    assert_eq!(msgs.len(), 3);
    for (i, m) in msgs.iter().enumerate() {
        assert!(m.starts_with("<108>1 "), "{m}");
        assert!(
            m.contains("CEF:0|ppgov|ppgov|") && m.contains(&format!("externalId=ev-{i}")),
            "{m}"
        );
    }
}

#[tokio::test]
async fn udp_sends_one_datagram_per_event() {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let target: Target = format!("udp://127.0.0.1:{port}").parse().unwrap();
    assert_eq!(
        send(&target, &Options::default(), &events()).await.unwrap(),
        3
    );
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    for _ in 0..3 {
        let n = sock.recv(&mut buf).await.unwrap();
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    check(&got);
}

#[tokio::test]
async fn tcp_frames_every_message_with_its_length() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut b = Vec::new();
        s.read_to_end(&mut b).await.unwrap();
        b
    });
    let target: Target = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    send(&target, &Options::default(), &events()).await.unwrap();
    check(&frames(&server.await.unwrap()));
}

#[tokio::test]
async fn tls_verifies_the_server_and_frames_like_tcp() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut out = Vec::new();
        // The first connection is the untrusted attempt; its handshake fails.
        for _ in 0..2 {
            let (s, _) = l.accept().await.unwrap();
            if let Ok(mut tls) = acceptor.accept(s).await {
                let mut b = Vec::new();
                tls.read_to_end(&mut b).await.unwrap();
                out = b;
            }
        }
        out
    });
    let target: Target = format!("tls://127.0.0.1:{port}").parse().unwrap();
    let refused = send(&target, &Options::default(), &events()).await;
    assert!(refused.is_err(), "a server nobody trusts is refused");
    let opts = Options {
        extra_roots_pem: cert.pem().into_bytes(),
        ..Options::default()
    };
    send(&target, &opts, &events()).await.unwrap();
    check(&frames(&server.await.unwrap()));
}
