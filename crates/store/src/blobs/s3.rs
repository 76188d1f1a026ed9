//! Materials' contents in an S3-compatible object store (AWS S3, MinIO,
//! Ceph RGW, Alibaba Cloud OSS, …), under `<prefix>ab/cd/<sha256>`.
//!
//! The [`BlobStore`] interface is synchronous and called from blocking
//! threads; the object store's client is asynchronous. [`S3Blobs`] owns a
//! small runtime of its own and every request runs there: a caller's
//! thread only waits for the answer on a channel, so no call ever blocks a
//! worker of the caller's runtime inside that runtime or starts one runtime
//! within another.
//!
//! A content is written once: a HEAD first (already there: not new), then a
//! conditional PUT (`If-None-Match: *`), which the store refuses when
//! another upload of the same content won the race; that refusal also
//! counts as "not new". The PUT is a single request whose body is read from
//! the spooled file (at most `[materials] max_file_mb`, 20 MiB by default);
//! the object store's multipart upload cannot be made conditional, and a
//! whole body can be retried as it is.

use super::{BlobStore, is_digest};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::{Path as Key, PathPart};
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};
use std::fmt;
use std::fs;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How to reach the bucket. The keys come from the environment
/// (`ONESTOP_S3_ACCESS_KEY_ID`, `ONESTOP_S3_SECRET_ACCESS_KEY`), never from
/// a file; `Debug` does not show the secret.
#[derive(Clone)]
pub struct S3Settings {
    /// `https://host[:port]` (or `http://` with `allow_http`).
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Folder inside the bucket (`a/b`), or empty.
    pub prefix: String,
    pub allow_http: bool,
    /// The bucket is part of the endpoint's host name (`https://bucket.host`),
    /// as some providers require; otherwise the path names it.
    pub virtual_hosted_style: bool,
    /// PEM certificates to trust besides the public roots.
    pub ca_pem: Option<Vec<u8>>,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A temporary credential's session token, if any.
    pub session_token: Option<String>,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "…"))
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The runtime the requests run on; shut down without waiting when the
/// last user (the store or a reader still open) lets go.
struct Bridge {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Bridge {
    fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("onestop-s3")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Runs `fut` on this runtime and waits for it on the calling thread.
    fn run<F>(&self, fut: F) -> io::Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the bridge")
            .spawn(async move {
                let _ = tx.send(fut.await);
            });
        rx.recv()
            .map_err(|_| io::Error::other("the object store's client stopped"))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Never waits, so dropping is safe on any thread, async or not.
            rt.shutdown_background();
        }
    }
}

/// Contents as objects in one bucket.
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    bridge: Arc<Bridge>,
    prefix: Option<Key>,
    spool: PathBuf,
    /// For messages: `bucket/prefix at endpoint`.
    place: String,
}

impl fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Blobs")
            .field("place", &self.place)
            .field("spool", &self.spool)
            .finish()
    }
}

fn other(e: object_store::Error) -> io::Error {
    io::Error::other(e)
}

impl S3Blobs {
    /// A client for the bucket; uploads are spooled in (and `spool`
    /// created). No request is made yet: see [`Self::check`].
    pub fn new(settings: &S3Settings, spool: impl Into<PathBuf>) -> io::Result<Self> {
        let spool = spool.into();
        fs::create_dir_all(&spool)?;
        let prefix = settings.prefix.trim_matches('/');
        let prefix =
            if prefix.is_empty() {
                None
            } else {
                Some(Key::parse(prefix).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("prefix: {e}"))
                })?)
            };
        let mut client = ClientOptions::new()
            .with_allow_http(settings.allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(120));
        if let Some(pem) = &settings.ca_pem {
            for cert in object_store::Certificate::from_pem_bundle(pem).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("CA certificates: {e}"))
            })? {
                client = client.with_root_certificate(cert);
            }
        }
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(settings.endpoint.trim_end_matches('/'))
            .with_region(&settings.region)
            .with_bucket_name(&settings.bucket)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(settings.virtual_hosted_style)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_client_options(client)
            .with_retry(RetryConfig {
                max_retries: 5,
                retry_timeout: Duration::from_secs(60),
                ..RetryConfig::default()
            });
        if let Some(token) = &settings.session_token {
            builder = builder.with_token(token);
        }
        let store = builder.build().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("object store: {e}"))
        })?;
        Ok(Self {
            store: Arc::new(store),
            bridge: Arc::new(Bridge::new()?),
            place: match &prefix {
                Some(p) => format!("{}/{p} at {}", settings.bucket, settings.endpoint),
                None => format!("{} at {}", settings.bucket, settings.endpoint),
            },
            prefix,
            spool,
        })
    }

    /// Lists the prefix once: a bucket that does not exist, keys that are
    /// refused or an endpoint that does not answer are reported now (at
    /// start-up) rather than at the first upload.
    pub fn check(&self) -> io::Result<()> {
        let store = self.store.clone();
        let prefix = self.prefix.clone();
        self.bridge
            .run(async move { store.list_with_delimiter(prefix.as_ref()).await })?
            .map(|_| ())
            .map_err(|e| io::Error::other(format!("bucket {}: {e}", self.place)))
    }

    /// `<prefix>/ab/cd/<sha256>`.
    fn key_of(&self, sha256: &str) -> io::Result<Key> {
        if !is_digest(sha256) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"));
        }
        let tail = [&sha256[0..2], &sha256[2..4], sha256];
        Ok(match &self.prefix {
            Some(p) => p.parts().chain(tail.map(PathPart::from)).collect(),
            None => tail.into_iter().collect(),
        })
    }

    fn head(&self, key: Key) -> io::Result<bool> {
        let store = self.store.clone();
        match self.bridge.run(async move { store.head(&key).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(other(e)),
        }
    }
}

/// The whole file as a payload, read in pieces of at most 8 MiB.
fn payload_of(path: &Path) -> io::Result<PutPayload> {
    let mut file = fs::File::open(path)?;
    let mut pieces = Vec::new();
    loop {
        let mut piece = Vec::with_capacity(1 << 20);
        let n = (&mut file).take(8 << 20).read_to_end(&mut piece)?;
        if n == 0 {
            return Ok(pieces.into_iter().collect());
        }
        pieces.push(Bytes::from(piece));
    }
}

impl BlobStore for S3Blobs {
    fn spool_dir(&self) -> &Path {
        &self.spool
    }

    fn put(&self, sha256: &str, spooled: &Path) -> io::Result<bool> {
        let key = self.key_of(sha256)?;
        let new = if self.head(key.clone())? {
            false
        } else {
            let payload = payload_of(spooled)?;
            let store = self.store.clone();
            let put = self.bridge.run(async move {
                let opts = PutOptions::from(PutMode::Create);
                store.put_opts(&key, payload, opts).await
            })?;
            match put {
                Ok(_) => true,
                // Stored meanwhile by a concurrent upload of the same content.
                Err(object_store::Error::AlreadyExists { .. }) => false,
                Err(e) => return Err(other(e)),
            }
        };
        fs::remove_file(spooled)?;
        Ok(new)
    }

    fn open(&self, sha256: &str) -> io::Result<Option<Box<dyn Read + Send>>> {
        let key = self.key_of(sha256)?;
        let store = self.store.clone();
        match self.bridge.run(async move { store.get(&key).await })? {
            Ok(got) => Ok(Some(Box::new(ObjectReader {
                bridge: self.bridge.clone(),
                body: Some(got.into_stream()),
                chunk: Bytes::new(),
            }))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(other(e)),
        }
    }

    fn exists(&self, sha256: &str) -> io::Result<bool> {
        self.head(self.key_of(sha256)?)
    }
}

/// An object's body as it arrives: each chunk is fetched on the store's
/// runtime when the previous one has been read.
struct ObjectReader {
    bridge: Arc<Bridge>,
    body: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut body) = self.body.take() else {
                return Ok(0);
            };
            let (body, next) = self.bridge.run(async move {
                let next = body.next().await;
                (body, next)
            })?;
            match next {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.body = Some(body);
                }
                Some(Err(e)) => return Err(other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
