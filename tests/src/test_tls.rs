//! TLS for test receivers: a CA made for the test and a certificate it issues for
//! 127.0.0.1, served through rustls.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA's certificate (PEM) and an acceptor that presents a certificate it issued for
/// 127.0.0.1.
pub(crate) fn receiver_tls() -> (String, TlsAcceptor) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("receiver key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("receiver parameters");
    let certificate = params.signed_by(&key, &issuer).expect("receiver certificate");
    let chain = vec![CertificateDer::from(certificate.der().to_vec())];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config =
        ServerConfig::builder().with_no_client_auth().with_single_cert(chain, private).expect("TLS config");
    (ca.pem(), TlsAcceptor::from(Arc::new(config)))
}
