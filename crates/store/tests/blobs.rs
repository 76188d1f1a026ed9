//! One conformance suite for the stores of materials' contents, run against
//! the data folder ([`FsBlobs`]) and an S3-compatible object store
//! ([`S3Blobs`] against a local moto server, over HTTP and over HTTPS with a
//! certificate of its own).

use onestop_store::blobs::{BlobStore, FsBlobs, S3Blobs};
use onestop_store::testing::moto::Moto;
use sha2::{Digest, Sha256};
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

fn sha(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// `body` as an upload spooled for `store`.
fn spool(store: &dyn BlobStore, body: &[u8]) -> PathBuf {
    let p = store
        .spool_dir()
        .join(format!("{}.part", uuid::Uuid::new_v4().simple()));
    std::fs::File::create(&p).unwrap().write_all(body).unwrap();
    p
}

fn read_back(store: &dyn BlobStore, sha256: &str) -> Option<Vec<u8>> {
    let mut r = store.open(sha256).unwrap()?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    Some(out)
}

/// Bytes that are not all alike (a simple generator; the content matters
/// only in being read back exactly).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What every store promises.
fn conformance(store: Arc<dyn BlobStore>) {
    let store = &*store;

    // New, then the same content again: kept once, the first copy stays.
    let first = b"%PDF-1.7 first".to_vec();
    let digest = sha(&first);
    assert!(!store.exists(&digest).unwrap());
    let spooled = spool(store, &first);
    assert!(store.put(&digest, &spooled).unwrap(), "a new content");
    assert!(!spooled.exists(), "the spooled file is taken");
    assert!(store.exists(&digest).unwrap());
    let again = spool(store, b"other bytes under the same name");
    assert!(!store.put(&digest, &again).unwrap(), "already there");
    assert!(!again.exists(), "the second spooled copy is dropped");
    assert_eq!(
        read_back(store, &digest).unwrap(),
        first,
        "never overwritten"
    );

    // Absent contents.
    let absent = sha(b"never stored");
    assert!(read_back(store, &absent).is_none());
    assert!(!store.exists(&absent).unwrap());

    // A content of several megabytes, byte for byte.
    let big = noise((12 << 20) + 7, 42);
    let big_digest = sha(&big);
    assert!(store.put(&big_digest, &spool(store, &big)).unwrap());
    let got = read_back(store, &big_digest).unwrap();
    assert_eq!(got.len(), big.len());
    assert!(got == big, "the large content reads back identical");

    // Names that are not SHA-256 digests are refused before anything is
    // touched (the spooled file stays with its caller).
    let upper = digest.to_uppercase();
    for bad in ["../../etc/passwd", "", &digest[..63], upper.as_str()] {
        let p = spool(store, b"x");
        let e = store.put(bad, &p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "put {bad:?}");
        assert!(p.exists());
        std::fs::remove_file(&p).unwrap();
        assert_eq!(
            store.open(bad).err().map(|e| e.kind()),
            Some(ErrorKind::InvalidInput),
            "open {bad:?}"
        );
        assert_eq!(
            store.exists(bad).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    // The same content uploaded at once from several threads: every upload
    // succeeds, exactly one stores it.
    let body = noise(300_000, 7);
    let digest = sha(&body);
    let threads = 6;
    let barrier = Barrier::new(threads);
    let news: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let p = spool(store, &body);
                let (barrier, digest) = (&barrier, &digest);
                s.spawn(move || {
                    barrier.wait();
                    store.put(digest, &p).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(news.iter().filter(|n| **n).count(), 1, "{news:?}");
    assert_eq!(read_back(store, &digest).unwrap(), body);

    // Nothing left behind in the spool.
    assert_eq!(std::fs::read_dir(store.spool_dir()).unwrap().count(), 0);
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!(
        "onestop-blobs-test-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

#[test]
fn the_data_folder_conforms() {
    let dir = scratch();
    conformance(Arc::new(FsBlobs::new(&dir).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_s3_bucket_conforms() {
    let moto = Moto::start();
    let dir = scratch();
    let settings = moto.bucket("onestop/materials/");
    let store = S3Blobs::new(&settings, dir.join("spool")).unwrap();
    store.check().unwrap();
    conformance(Arc::new(store));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_s3_bucket_over_https_with_a_private_ca_conforms() {
    let moto = Moto::start_tls();
    let dir = scratch();
    let settings = moto.bucket("");
    assert!(settings.endpoint.starts_with("https://") && !settings.allow_http);
    let store = S3Blobs::new(&settings, dir.join("spool")).unwrap();
    store.check().unwrap();
    conformance(Arc::new(store));

    // Without the certificate the same endpoint is not trusted.
    let untrusted = onestop_store::blobs::S3Settings {
        ca_pem: None,
        ..settings
    };
    let store = S3Blobs::new(&untrusted, dir.join("spool")).unwrap();
    assert!(store.check().is_err());
    assert!(store.exists(&sha(b"x")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The objects' names: `<prefix>/ab/cd/<sha256>` (read here with the
/// object store's own client).
#[test]
fn objects_are_named_by_prefix_and_digest() {
    use object_store::{ObjectStore, ObjectStoreExt};
    let moto = Moto::start();
    let dir = scratch();
    let settings = moto.bucket("city/materials/");
    let store = S3Blobs::new(&settings, dir.join("spool")).unwrap();
    let body = b"%PDF-1.7 named".to_vec();
    let digest = sha(&body);
    assert!(store.put(&digest, &spool(&store, &body)).unwrap());
    let client = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&settings.endpoint)
        .with_region(&settings.region)
        .with_bucket_name(&settings.bucket)
        .with_access_key_id(&settings.access_key_id)
        .with_secret_access_key(&settings.secret_access_key)
        .with_allow_http(true)
        .build()
        .unwrap();
    let key = object_store::path::Path::from(format!(
        "city/materials/{}/{}/{digest}",
        &digest[..2],
        &digest[2..4]
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(async { client.get(&key).await.unwrap().bytes().await.unwrap() });
    assert_eq!(got.as_ref(), body.as_slice());
    // The server refuses a second conditional write of the name (what makes
    // concurrent uploads of one content store it once).
    let again = rt.block_on(async {
        let opts = object_store::PutOptions::from(object_store::PutMode::Create);
        client.put_opts(&key, b"other".to_vec().into(), opts).await
    });
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "{again:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_bucket_or_plain_http_not_allowed_is_reported() {
    let moto = Moto::start();
    let dir = scratch();
    let settings = moto.bucket("");
    let missing = onestop_store::blobs::S3Settings {
        bucket: "no-such-bucket".into(),
        ..settings.clone()
    };
    let store = S3Blobs::new(&missing, dir.join("spool")).unwrap();
    let e = store.check().unwrap_err().to_string();
    assert!(e.contains("no-such-bucket"), "{e}");

    // http:// only when allowed.
    let plain = onestop_store::blobs::S3Settings {
        allow_http: false,
        ..settings
    };
    let refused = S3Blobs::new(&plain, dir.join("spool")).and_then(|s| s.check());
    assert!(refused.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
