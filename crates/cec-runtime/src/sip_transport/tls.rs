//! rustls configuration: ring provider only, TLS 1.2 and 1.3, PEM files.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::config::TlsFiles;
use super::error::SendError;

static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(what: &str, path: &Path, err: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} {}: {err}", path.display()),
    )
}

fn load_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid("cannot read certificates from", path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("bad certificate PEM in", path, e))?;
    if certs.is_empty() {
        return Err(invalid("no certificate in", path, "empty"));
    }
    Ok(certs)
}

/// The server configuration for TLS listeners.
pub(crate) fn server_config(files: &TlsFiles) -> io::Result<Arc<ServerConfig>> {
    let certs = load_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| invalid("cannot read private key from", &files.key, e))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and key do not fit:", &files.cert, e))?;
    Ok(Arc::new(config))
}

/// The client configuration for outbound TLS, trusting the CAs in `roots`.
pub(crate) fn client_config(roots: &Path) -> io::Result<Arc<ClientConfig>> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(roots)? {
        store
            .add(cert)
            .map_err(|e| invalid("unusable CA certificate in", roots, e))?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(io::Error::other)?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name to present (SNI) and check: the given DNS name or IP literal,
/// else the IP address connected to.
pub(crate) fn server_name(
    name: Option<&str>,
    addr: std::net::IpAddr,
) -> Result<ServerName<'static>, SendError> {
    match name {
        Some(name) => {
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            ServerName::try_from(bare.to_owned())
                .map_err(|_| SendError::InvalidServerName(name.to_owned()))
        }
        None => Ok(ServerName::IpAddress(addr.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        let ip = std::net::IpAddr::from([192, 0, 2, 1]);
        assert!(matches!(
            server_name(None, ip),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name(Some("pbx.example.com"), ip),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name(Some("[2001:db8::1]"), ip),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name(Some("bad name!"), ip),
            Err(SendError::InvalidServerName(_))
        ));
    }

    #[test]
    fn missing_files_are_clear_errors() {
        let files = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = server_config(&files).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("/nonexistent/cert.pem"));
        assert!(client_config(Path::new("/nonexistent/ca.pem")).is_err());
    }
}
