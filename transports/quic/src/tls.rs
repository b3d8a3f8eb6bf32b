//! The TLS 1.3 side of WIRE.md §3: ring as the only provider, ALPN `quorumnet/1`, a self-signed server
//! certificate that carries no identity (the §3 proof does), clients without certificates.

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The ALPN protocol id: a peer offering anything else is refused by the TLS handshake.
pub const ALPN: &[u8] = b"quorumnet/1";

/// The SNI clients send and the name in the server's certificate.
pub const SERVER_NAME: &str = "quorumnet";

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// rcgen could not make the self-signed certificate.
    #[error("generating the self-signed certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// quinn refused the rustls configuration (e.g. a provider without TLS13_AES_128_GCM_SHA256).
    #[error("QUIC crypto configuration: {0}")]
    Quic(String),
}

fn provider() -> Arc<CryptoProvider> {
    // Deprecated in rustls 0.23.48 for lacking post-quantum key exchange; ring is the provider this
    // project builds (DEPENDENCIES.md), and identities are post-quantum through the §3 proof.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    // rustls 0.23.48 lists P-384 first, whose ECDH on ring costs ≈ 1 ms per handshake here; X25519 is
    // a small fraction of that and what every QUIC stack offers.
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519, rustls::crypto::ring::kx_group::SECP256R1];
    Arc::new(provider)
}

/// A server crypto config with a fresh self-signed certificate for [`SERVER_NAME`].
pub(crate) fn server_crypto() -> Result<Arc<QuicServerConfig>, TlsSetupError> {
    let certified = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicServerConfig::try_from(config).map_err(|e| TlsSetupError::Quic(e.to_string()))?;
    Ok(Arc::new(quic))
}

/// A client crypto config that accepts any server certificate but checks the server's handshake
/// signature with it. Skipping the certificate chain is sound because the §3 proof signs the TLS
/// exporter: a man in the middle runs two TLS sessions with two exporters and cannot produce either
/// side's signature over the other's.
pub(crate) fn client_crypto() -> Result<Arc<QuicClientConfig>, TlsSetupError> {
    client_crypto_with_alpn(ALPN)
}

/// As [`client_crypto`], offering `alpn` (tests offer a wrong one).
pub(crate) fn client_crypto_with_alpn(alpn: &[u8]) -> Result<Arc<QuicClientConfig>, TlsSetupError> {
    let provider = provider();
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(IdentityFreeCertificate { provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let quic = QuicClientConfig::try_from(config).map_err(|e| TlsSetupError::Quic(e.to_string()))?;
    Ok(Arc::new(quic))
}

/// Accepts the certificate itself (it names no validator) and verifies handshake signatures with it.
#[derive(Debug)]
struct IdentityFreeCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for IdentityFreeCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
