//! A self-signed certificate for `localhost`, 127.0.0.1 and ::1, made for
//! one test and written to a temporary folder (removed when dropped): the
//! local TLS relay and HTTPS gateway present it, and the configuration
//! trusts it through `ca_file`.

#![allow(dead_code)]

use std::path::PathBuf;

pub struct TestCert {
    dir: PathBuf,
    /// The certificate (PEM): what `ca_file` points at.
    pub cert: PathBuf,
    /// Its private key (PEM, PKCS #8).
    pub key: PathBuf,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCert {
    pub fn new() -> TestCert {
        let mut params = rcgen::CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .expect("names for a certificate");
        // A name of its own: another test certificate is another issuer.
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("onestop test {}", uuid::Uuid::new_v4().simple()),
        );
        let key = rcgen::KeyPair::generate().expect("a key");
        let made = rcgen::CertifiedKey {
            cert: params.self_signed(&key).expect("a self-signed certificate"),
            signing_key: key,
        };
        let dir = std::env::temp_dir().join(format!(
            "onestop-cert-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("a folder for the certificate");
        let (cert_pem, key_pem) = (made.cert.pem(), made.signing_key.serialize_pem());
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &cert_pem).unwrap();
        std::fs::write(&key, &key_pem).unwrap();
        TestCert {
            dir,
            cert,
            key,
            cert_pem,
            key_pem,
        }
    }

    /// `ca_file` for the configuration.
    pub fn ca_file(&self) -> Option<String> {
        Some(self.cert.to_string_lossy().into_owned())
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
