//! TLS transport with an rcgen CA and server certificate written to PEM
//! files: a tokio-rustls client exchanges a message both ways with a TLS
//! listener, one `SipTransports` connects out to another over TLS with SNI
//! and certificate checks (and fails on a name mismatch), and a client that
//! never finishes its handshake is dropped after the handshake timeout.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cec_runtime::{
    Inbound, SendError, SipTransports, Target, TlsFiles, TransportConfig, TransportKind,
    response_target,
};
use cec_sip_msg::StreamDecoder;
use cec_sip_msg::bytes::Bytes;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A CA and a server certificate for `localhost` and 127.0.0.1, as files.
struct Pki {
    dir: PathBuf,
    server: TlsFiles,
    ca: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pki() -> Pki {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cec-runtime-tls-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        server: TlsFiles {
            cert: write("server.pem", &cert.pem()),
            key: write("server.key", &key.serialize_pem()),
        },
        ca: write("ca.pem", &ca.pem()),
        dir,
    }
}

fn tls_config(pki: &Pki) -> TransportConfig {
    let mut cfg = config(&["tls:127.0.0.1:0"]);
    cfg.tls = Some(pki.server.clone());
    cfg
}

fn client_connector(pki: &Pki) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn tls_client_exchanges_a_message_both_ways() {
    let pki = pki();
    let (transports, mut rx) = SipTransports::bind(tls_config(&pki)).await.unwrap();
    let server = transports.local_addr(TransportKind::Tls).unwrap();
    let tcp = tcp_from("127.0.0.2", server).await;
    let client_addr = tcp.local_addr().unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(WAIT, client_connector(&pki).connect(name, tcp))
        .await
        .unwrap()
        .unwrap();
    let via = "SIP/2.0/TLS phone.example.com;rport;branch=z9hG4bKtls";
    tls.write_all(request("REGISTER", via, "tls1").as_bytes())
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(r.kind, TransportKind::Tls);
    assert_eq!(r.source, client_addr);
    assert!(r.connection.is_some());
    let top = r.message.top_via().unwrap();
    assert_eq!(top.rport(), Some(Some(client_addr.port())));
    assert_eq!(top.received(), Some(client_addr.ip()));
    let target = response_target(&r);
    assert_eq!(target.kind, TransportKind::Tls);
    assert_eq!(target.server_name.as_deref(), Some("phone.example.com"));
    transports
        .sender()
        .send(target, ok_response(&r.message))
        .await
        .unwrap();
    let mut decoder = StreamDecoder::new();
    let resp = read_message(&mut tls, &mut decoder).await;
    assert_eq!(resp.status(), Some(200));
    assert_eq!(call_id(&resp), "tls1");
}

async fn tls_client_transports(pki: &Pki) -> (SipTransports, mpsc::Receiver<Inbound>) {
    let mut cfg = config(&[]);
    cfg.tls_client_roots = Some(pki.ca.clone());
    SipTransports::bind(cfg).await.unwrap()
}

#[tokio::test]
async fn outbound_tls_checks_the_server_name_and_carries_both_directions() {
    let pki = pki();
    let (server, mut server_rx) = SipTransports::bind(tls_config(&pki)).await.unwrap();
    let server_addr = server.local_addr(TransportKind::Tls).unwrap();
    let (client, mut client_rx) = tls_client_transports(&pki).await;
    let via = "SIP/2.0/TLS client.example.com;branch=z9hG4bKout";
    let req = Bytes::from(request("OPTIONS", via, "out-tls"));
    client
        .sender()
        .send(Target::tls(server_addr, "localhost"), req)
        .await
        .unwrap();
    let r = next_message(&mut server_rx).await;
    assert_eq!(r.kind, TransportKind::Tls);
    assert_eq!(call_id(&r.message), "out-tls");
    server
        .sender()
        .send(response_target(&r), ok_response(&r.message))
        .await
        .unwrap();
    let resp = next_message(&mut client_rx).await;
    assert_eq!(resp.message.status(), Some(200));
    assert_eq!(resp.source, server_addr);
    assert_eq!(client.connection_count(), 1);
}

#[tokio::test]
async fn outbound_tls_to_the_wrong_name_or_without_roots_fails() {
    let pki = pki();
    let (server, _rx) = SipTransports::bind(tls_config(&pki)).await.unwrap();
    let server_addr: SocketAddr = server.local_addr(TransportKind::Tls).unwrap();
    let (client, _client_rx) = tls_client_transports(&pki).await;
    let err = client
        .sender()
        .send(
            Target::tls(server_addr, "other.example.com"),
            Bytes::from_static(b"x"),
        )
        .await;
    assert!(matches!(err, Err(SendError::Io(_))), "{err:?}");
    assert_eq!(client.connection_count(), 0);
    // The certificate also names 127.0.0.1: no server name checks the IP.
    let by_ip = Target::new(TransportKind::Tls, server_addr);
    client
        .sender()
        .send(by_ip, Bytes::from_static(b"\r\n\r\n"))
        .await
        .unwrap();
    let (plain, _rx2) = SipTransports::bind(config(&[])).await.unwrap();
    let err = plain
        .sender()
        .send(
            Target::tls(server_addr, "localhost"),
            Bytes::from_static(b"x"),
        )
        .await;
    assert!(
        matches!(err, Err(SendError::TlsClientNotConfigured)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_the_handshake_is_dropped() {
    let pki = pki();
    let mut cfg = tls_config(&pki);
    cfg.handshake_timeout = Duration::from_millis(300);
    let (transports, _rx) = SipTransports::bind(cfg).await.unwrap();
    let server = transports.local_addr(TransportKind::Tls).unwrap();
    let mut silent: TcpStream = tcp_from("127.0.0.2", server).await;
    // A few bytes of a ClientHello, then nothing.
    silent.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let started = tokio::time::Instant::now();
    assert_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    wait_for_no_connections(&transports).await;
}

#[tokio::test]
async fn tls_listener_without_certificate_is_a_bind_error() {
    let err = SipTransports::bind(config(&["tls:127.0.0.1:0"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
