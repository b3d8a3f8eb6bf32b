//! TLS for `wss://`: rustls on the ring provider only (as quinn uses it, so features unify), TLS 1.3.
//! A server presents a certificate chain and key loaded from PEM files; a client trusts the roots
//! it is given (a CA's certificate, or the server's own self-signed one) and checks the server's
//! name against the address's host. TLS is only the outer layer here: the validator identity is
//! proven by the Noise handshake inside, so a wrong or missing root costs reachability, never
//! authentication.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS setting could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("reading {path}: {reason} (expected PEM: CERTIFICATE blocks, or one PRIVATE KEY)")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the certificate, key or roots.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// rcgen could not make a self-signed certificate.
    #[error("generating a self-signed certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

fn provider() -> Arc<CryptoProvider> {
    // Deprecated in rustls 0.23.48 for lacking post-quantum key exchange; ring is the provider this
    // project builds (DEPENDENCIES.md), and identities are post-quantum through the Noise handshake.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    // P-384 first costs ≈ 1 ms of ECDH per handshake on ring; X25519 a fraction of it.
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519, rustls::crypto::ring::kx_group::SECP256R1];
    Arc::new(provider)
}

fn pem_error(path: &Path, reason: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError::Pem { path: path.display().to_string(), reason: reason.to_string() }
}

fn certificates_from_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    match certs.is_empty() {
        true => Err(pem_error(path, "no CERTIFICATE block")),
        false => Ok(certs),
    }
}

/// What a `wss://` transport serves with and trusts. Build it once and share it: it is cheap to
/// clone.
///
/// ```no_run
/// # fn demo() -> Result<(), quorumnet_websocket::TlsSetupError> {
/// use quorumnet_websocket::WssConfig;
///
/// // A validator behind a TLS-terminating name: its certificate, and the CA its peers use.
/// let tls = WssConfig::new()
///     .serve_pem_files("/etc/quorumnet/cert.pem".as_ref(), "/etc/quorumnet/key.pem".as_ref())?
///     .trust_pem_file("/etc/quorumnet/peers-ca.pem".as_ref())?;
/// # let _ = tls; Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct WssConfig {
    pub(crate) server: Option<Arc<rustls::ServerConfig>>,
    roots: Vec<CertificateDer<'static>>,
    pub(crate) client: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for WssConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WssConfig").field("serves", &self.server.is_some()).field("roots", &self.roots.len()).finish()
    }
}

impl WssConfig {
    /// Neither serving nor trusting anything yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves the certificate chain (leaf first) and private key (PKCS#8, PKCS#1 or SEC1) in these
    /// PEM files.
    ///
    /// # Errors
    /// [`TlsSetupError::Pem`] for an unreadable or empty file, [`TlsSetupError::Rustls`] for a key
    /// that does not match the certificate or is of an unsupported kind.
    pub fn serve_pem_files(self, cert_chain: &Path, key: &Path) -> Result<Self, TlsSetupError> {
        let chain = certificates_from_pem(cert_chain)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
        self.serve(chain, key)
    }

    /// Serves `chain` (leaf first) with `key`.
    ///
    /// # Errors
    /// [`TlsSetupError::Rustls`] when rustls refuses them.
    pub fn serve(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsSetupError> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        self.server = Some(Arc::new(config));
        Ok(self)
    }

    /// Also trusts every certificate in this PEM file as a root (a CA, or a server's self-signed
    /// certificate).
    ///
    /// # Errors
    /// [`TlsSetupError::Pem`] for an unreadable or empty file, [`TlsSetupError::Rustls`] for a
    /// certificate rustls cannot use as a root.
    pub fn trust_pem_file(self, roots: &Path) -> Result<Self, TlsSetupError> {
        let certs = certificates_from_pem(roots)?;
        self.trust(certs)
    }

    /// Also trusts `roots`.
    ///
    /// # Errors
    /// [`TlsSetupError::Rustls`] for a certificate rustls cannot use as a root.
    pub fn trust(mut self, roots: Vec<CertificateDer<'static>>) -> Result<Self, TlsSetupError> {
        self.roots.extend(roots);
        let mut store = rustls::RootCertStore::empty();
        for root in &self.roots {
            store.add(root.clone())?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(store)
            .with_no_client_auth();
        self.client = Some(Arc::new(config));
        Ok(self)
    }

    /// Serves and trusts one fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`:
    /// every transport built with the returned config reaches every other on loopback. **Tests and
    /// local devnets only**; the PEM texts are returned for other processes (interop peers).
    ///
    /// # Errors
    /// [`TlsSetupError::Certificate`] if rcgen fails, or rustls' refusal.
    pub fn self_signed_loopback() -> Result<(Self, SelfSigned), TlsSetupError> {
        let names = ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec();
        let certified = rcgen::generate_simple_self_signed(names)?;
        let pem = SelfSigned { cert_pem: certified.cert.pem(), key_pem: certified.signing_key.serialize_pem() };
        let cert = certified.cert.der().clone();
        let key =
            PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
        let config = WssConfig::new().serve(vec![cert.clone()], key)?.trust(vec![cert])?;
        Ok((config, pem))
    }
}

/// A self-signed certificate and its key, as PEM.
#[derive(Clone)]
pub struct SelfSigned {
    /// The certificate (`-----BEGIN CERTIFICATE-----`): what clients trust.
    pub cert_pem: String,
    /// The PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}
