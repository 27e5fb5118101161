//! The card host: a TLS listener of its own (`card_listen`) that requires a client
//! certificate, and serves the card login (login.rs) with the certificate the browser
//! presented.
//!
//! The handshake asks for a certificate (hinting the authority's name, so the browser
//! offers the card) and checks that the client holds its key (the TLS signature), but
//! accepts any issuer and any date: a foreign, expired or revoked card must reach the
//! handler, which verifies it with rustls's `WebPkiClientVerifier` against `card_ca_file`
//! at the injected clock's time and reads its state in the database, so the professional
//! gets a French page that says what is wrong instead of a browser's TLS error.

use super::CardError;
use crate::Idp;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more wait for the accept loop.
const MAX_HANDSHAKES: usize = 256;

/// Where the card host listens and what it trusts.
#[derive(Debug, Clone)]
pub struct CardListenerConfig {
    /// `card_listen`, e.g. `127.0.0.1:8443`.
    pub listen: String,
    /// `card_ca_file`: the authorities whose cards are accepted (PEM, one or more).
    pub ca_file: PathBuf,
    /// The server certificate and key (PEM), configured or generated at start.
    pub cert_pem: String,
    pub key_pem: String,
}

/// The verifier of cards: the authorities of `card_ca_file`.
#[derive(Clone)]
pub struct Trust {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trust")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a certificate is not a card of the trusted authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// Outside its validity (expired, or not yet valid).
    Expired,
    NotYetValid,
    /// Not issued by a trusted authority, or not a client certificate.
    Foreign,
    Revoked,
}

impl Trust {
    /// The authorities of a PEM file.
    pub fn from_pem(pem: &str) -> Result<Trust, CardError> {
        let mut roots = rustls::RootCertStore::empty();
        for item in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let item = item.map_err(|e| CardError::Cert(format!("PEM : {e}")))?;
            roots
                .add(CertificateDer::from(item.contents))
                .map_err(|e| CardError::Cert(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(CardError::Cert(
                "card_ca_file ne contient aucun certificat".into(),
            ));
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| CardError::Cert(e.to_string()))?;
        Ok(Trust { verifier })
    }

    /// Verifies a presented chain at `now` (Unix seconds).
    pub fn verify(&self, chain: &[CertificateDer<'static>], now: i64) -> Result<(), Untrusted> {
        let Some((leaf, rest)) = chain.split_first() else {
            return Err(Untrusted::Foreign);
        };
        let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
        match self.verifier.verify_client_cert(leaf, rest, at) {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(e)) => Err(match e {
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => Untrusted::Expired,
                rustls::CertificateError::NotValidYet
                | rustls::CertificateError::NotValidYetContext { .. } => Untrusted::NotYetValid,
                rustls::CertificateError::Revoked => Untrusted::Revoked,
                _ => Untrusted::Foreign,
            }),
            Err(_) => Err(Untrusted::Foreign),
        }
    }
}

/// The handshake's verifier: a certificate is required and its key must be the client's;
/// whether it is a valid card is for the handler to say (see the module's text).
#[derive(Debug)]
struct RequireAnyCard {
    trust: Trust,
}

impl ClientCertVerifier for RequireAnyCard {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.trust.verifier.root_hint_subjects()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust
            .verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust
            .verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.verifier.supported_verify_schemes()
    }
}

/// A connection of the card host: the peer and the certificates it presented.
#[derive(Debug, Clone)]
pub struct CardPeer {
    pub addr: SocketAddr,
    pub chain: Arc<Vec<CertificateDer<'static>>>,
}

impl Connected<IncomingStream<'_, CardListener>> for CardPeer {
    fn connect_info(stream: IncomingStream<'_, CardListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Connections whose TLS handshake is done, for `axum::serve`.
pub struct CardListener {
    local: SocketAddr,
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, CardPeer)>,
}

impl axum::serve::Listener for CardListener {
    type Io = TlsStream<TcpStream>;
    type Addr = CardPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept loop ended (its socket failed): nothing will come any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(CardPeer {
            addr: self.local,
            chain: Arc::new(Vec::new()),
        })
    }
}

impl CardListener {
    /// Binds `config.listen` and starts the handshakes in the background.
    pub async fn bind(config: &CardListenerConfig) -> Result<(CardListener, Trust), CardError> {
        let ca_pem = std::fs::read_to_string(&config.ca_file)
            .map_err(|e| CardError::Io(format!("{} : {e}", config.ca_file.display())))?;
        let trust = Trust::from_pem(&ca_pem)?;
        let certs = x509_parser::pem::Pem::iter_from_buffer(config.cert_pem.as_bytes())
            .map(|p| {
                p.map(|p| CertificateDer::from(p.contents))
                    .map_err(|e| CardError::Cert(format!("PEM : {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key_der = super::pki::pem_key_der(&config.key_pem)?;
        let key = PrivateKeyDer::try_from(key_der).map_err(|e| CardError::Cert(e.to_string()))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| CardError::Cert(e.to_string()))?
            .with_client_cert_verifier(Arc::new(RequireAnyCard {
                trust: trust.clone(),
            }))
            .with_single_cert(certs, key)
            .map_err(|e| CardError::Cert(e.to_string()))?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let tcp = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| CardError::Io(format!("card_listen {} : {e}", config.listen)))?;
        let local = tcp.local_addr().map_err(|e| CardError::Io(e.to_string()))?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (socket, addr) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "carte : accept");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => {
                            let chain = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                                .unwrap_or_default();
                            let peer = CardPeer {
                                addr,
                                chain: Arc::new(chain),
                            };
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %addr, "carte : poignée de main TLS")
                        }
                        Err(_) => tracing::debug!(%addr, "carte : poignée de main trop lente"),
                    }
                });
            }
        });
        Ok((CardListener { local, rx }, trust))
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

/// Serves the card host until the process ends: the card routes and the page kit's
/// assets, each request knowing its connection's certificate.
pub async fn serve(listener: CardListener, idp: Idp, trust: Trust) -> std::io::Result<()> {
    let app = super::login::card_host_router(idp, trust);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<CardPeer>(),
    )
    .await
}
