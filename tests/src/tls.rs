//! A TLS terminator on a loopback port in front of the daemon's unix socket, accepting only
//! clients whose certificate a given CA signed: a `tcp://` daemon behind TLS, as a Docker
//! context names one (`docker -H tcp://... --tlsverify`). It counts the handshakes it accepted
//! and refused, so a test sees that the client's certificate was asked for and checked.
//!
//! Certificates are read from PEM files (the tests make them with `openssl`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// The PEM files of the terminator's side.
#[derive(Debug, Clone)]
pub struct ServerCertificates {
    /// The server's certificate, valid for 127.0.0.1.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The CA whose signature a client's certificate must carry.
    pub client_ca: PathBuf,
}

/// A running terminator. Dropping it stops it.
pub struct TlsDaemon {
    port: u16,
    counts: Arc<Counts>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

impl TlsDaemon {
    /// Starts a terminator on a free loopback port, relaying each accepted connection to the
    /// daemon listening on the unix socket `upstream`.
    pub fn start(upstream: &Path, certificates: &ServerCertificates) -> io::Result<TlsDaemon> {
        let acceptor = TlsAcceptor::from(Arc::new(server_config(certificates)?));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let counts = Arc::new(Counts::default());
        let (shutdown, stop) = oneshot::channel();
        let upstream = upstream.to_owned();
        let shared = Arc::clone(&counts);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                tokio::select! {
                    _ = stop => {}
                    () = serve(listener, acceptor, upstream, shared) => {}
                }
            });
        });
        Ok(TlsDaemon {
            port,
            counts,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `tcp://127.0.0.1:PORT`, for a context's endpoint.
    pub fn docker_host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// How many clients completed the handshake with a certificate the CA signed.
    pub fn accepted(&self) -> usize {
        self.counts.accepted.load(Ordering::SeqCst)
    }

    /// How many handshakes failed (no certificate, one the CA did not sign, a client that did
    /// not trust the server).
    pub fn refused(&self) -> usize {
        self.counts.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TlsDaemon {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn server_config(certificates: &ServerCertificates) -> io::Result<ServerConfig> {
    let invalid = |what: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", what.display()),
        )
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&certificates.client_ca)
        .map_err(|e| invalid(&certificates.client_ca, &e))?
    {
        roots
            .add(cert.map_err(|e| invalid(&certificates.client_ca, &e))?)
            .map_err(|e| invalid(&certificates.client_ca, &e))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| invalid(&certificates.client_ca, &e))?;
    let chain = CertificateDer::pem_file_iter(&certificates.cert)
        .map_err(|e| invalid(&certificates.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&certificates.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&certificates.key)
        .map_err(|e| invalid(&certificates.key, &e))?;
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&certificates.cert, &e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| invalid(&certificates.cert, &e))
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    upstream: PathBuf,
    counts: Arc<Counts>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (acceptor, upstream, counts) =
            (acceptor.clone(), upstream.clone(), Arc::clone(&counts));
        tokio::spawn(async move {
            let mut tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(_) => {
                    counts.refused.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            };
            counts.accepted.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut daemon) = UnixStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut daemon).await;
            }
        });
    }
}
