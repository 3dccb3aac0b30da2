//! `--tls-cert FILE --tls-key FILE`: TLS termination with rustls, as nginx's
//! `listen ... ssl http2` with `ssl_certificate` and `ssl_certificate_key`: ALPN offers
//! `h2` and `http/1.1`, and the protocol negotiated is the one served.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The ALPN name of HTTP/2.
pub const H2: &[u8] = b"h2";

/// The acceptor for the certificate chain in `cert` (PEM, the server's first, as
/// nginx's `ssl_certificate`) and the private key in `key` (PEM: PKCS#8, PKCS#1 or
/// SEC1). The error names the file and what is wrong with it.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let file = |path: &Path, err: &dyn std::fmt::Display| format!("{}: {err}", path.display());
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file(cert, &e))?;
    if chain.is_empty() {
        return Err(file(cert, &"no certificate (PEM `BEGIN CERTIFICATE`)"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file(key, &e))?;
    // rustls's default provider, named: the process-wide default is left unset.
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
    // nginx's order with `http2` on the listen: h2 preferred.
    config.alpn_protocols = vec![H2.to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
