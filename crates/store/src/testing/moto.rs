//! A local S3-compatible server for tests: moto (`moto_server`, from PyPI),
//! started on a free port for one test and killed when dropped.
//!
//! Found through `ONESTOP_MOTO` (the `moto_server` program), else
//! `/opt/onestop-moto/bin/moto_server`, else `moto_server` on the `PATH`.
//! A machine without it fails the test with how to install it: the object
//! store backend is tested, never skipped.

use crate::blobs::S3Settings;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `test.sh` and `.ci/run` install moto (a Python virtual environment).
pub const DEFAULT_MOTO: &str = "/opt/onestop-moto/bin/moto_server";

const HOW_TO_INSTALL: &str = "the object store tests need moto's S3 server: \
     python3 -m venv /opt/onestop-moto && /opt/onestop-moto/bin/pip install 'moto[server]' \
     (./test.sh does this when run as root), or set ONESTOP_MOTO to a moto_server program";

/// The `moto_server` program to run.
pub fn moto_program() -> PathBuf {
    if let Some(p) = std::env::var_os("ONESTOP_MOTO").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "ONESTOP_MOTO is {} but there is no such file; {HOW_TO_INSTALL}",
            p.display()
        );
        return p;
    }
    if std::path::Path::new(DEFAULT_MOTO).is_file() {
        return DEFAULT_MOTO.into();
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("moto_server was not found; {HOW_TO_INSTALL}"))
}

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub endpoint: String,
    /// The certificate it presents, to trust (https only).
    pub ca_pem: Option<Vec<u8>>,
}

impl Moto {
    /// Over plain HTTP on 127.0.0.1.
    pub fn start() -> Moto {
        Self::launch(false)
    }

    /// Over HTTPS with a certificate of its own for `localhost` (signed by
    /// no public authority: a client must trust [`Self::ca_pem`]).
    pub fn start_tls() -> Moto {
        Self::launch(true)
    }

    fn launch(tls: bool) -> Moto {
        let program = moto_program();
        let dir =
            std::env::temp_dir().join(format!("onestop-moto-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a folder for moto");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = dir.join("moto.log");
        let mut cmd = Command::new(&program);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut ca_pem = None;
        if tls {
            let (cert, key) = certificate();
            let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
            std::fs::write(&cert_path, &cert).unwrap();
            std::fs::write(&key_path, &key).unwrap();
            cmd.arg("-c").arg(&cert_path).arg("-k").arg(&key_path);
            ca_pem = Some(cert.into_bytes());
        }
        let out = std::fs::File::create(&log).expect("moto's log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} did not start ({e}); {HOW_TO_INSTALL}",
                    program.display()
                )
            });
        let mut moto = Moto {
            child,
            dir,
            endpoint: if tls {
                format!("https://localhost:{port}")
            } else {
                format!("http://127.0.0.1:{port}")
            },
            ca_pem,
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server stopped at once ({status}):\n{}", log_text());
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within a minute:\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Makes a bucket (moto takes unsigned requests).
    pub fn create_bucket(&self, bucket: &str) {
        let url = format!("{}/{bucket}", self.endpoint);
        let ca = self.ca_pem.clone();
        crate::testing::off_runtime(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut client = reqwest::Client::builder();
                if let Some(pem) = ca {
                    client = client.add_root_certificate(
                        reqwest::Certificate::from_pem(&pem).expect("the test certificate"),
                    );
                }
                let answer = client
                    .build()
                    .unwrap()
                    .put(&url)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
                assert!(
                    answer.status().is_success(),
                    "PUT {url}: {}",
                    answer.status()
                );
            })
        });
    }

    /// A fresh bucket of its own, and the settings to reach it.
    pub fn bucket(&self, prefix: &str) -> S3Settings {
        let bucket = format!(
            "onestop-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        self.create_bucket(&bucket);
        S3Settings {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            bucket,
            prefix: prefix.into(),
            allow_http: self.ca_pem.is_none(),
            virtual_hosted_style: false,
            ca_pem: self.ca_pem.clone(),
            access_key_id: "onestop-test".into(),
            secret_access_key: "onestop-test-secret".into(),
            session_token: None,
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed certificate for `localhost` and its key (PEM).
fn certificate() -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("names for a certificate");
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("onestop test {}", uuid::Uuid::new_v4().simple()),
    );
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    (cert.pem(), key.serialize_pem())
}
