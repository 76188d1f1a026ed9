//! Materials kept in an S3-compatible object store (a local moto server),
//! on SQLite and PostgreSQL: an upload through the API is stored in the
//! bucket and downloads back byte for byte, and the same content uploaded
//! again (to the same or another application) is stored once.

mod common;

use axum::http::StatusCode;
use common::*;
use onestop_store::blobs::{BlobStore, S3Blobs};
use onestop_store::testing::Backend;
use onestop_store::testing::moto::Moto;
use serde_json::json;
use std::sync::Arc;

on_both_databases!(materials_live_in_the_bucket_once);

async fn upload(app: &TestApp, s: &Session, application: &str, name: &str, bytes: &[u8]) -> Answer {
    app.post_multipart_as(
        s,
        &format!("/api/v1/applications/{application}/materials"),
        &[
            Part::Text("kind", "site_plan"),
            Part::File("file", name, bytes),
        ],
    )
    .await
}

/// A PDF-looking file of `len` bytes that are not all alike.
fn plan(len: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n% site plan\n".to_vec();
    let mut x: u32 = 0x9e37_79b9;
    while pdf.len() < len - 7 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pdf.push((x >> 8) as u8);
    }
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

async fn materials_live_in_the_bucket_once(backend: Backend) {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let settings = moto.bucket("onestop/materials");
    let mut app = TestApp::new(backend).await;
    let spool = app.db.dir.join("blobs").join("spool");
    let s3 = Arc::new(S3Blobs::new(&settings, &spool).unwrap());
    let probe = s3.clone();
    tokio::task::spawn_blocking(move || probe.check())
        .await
        .unwrap()
        .unwrap();
    app.state = app.state.clone().with_blobs(s3.clone());
    app.router = onestop_server::router(app.state.clone());

    let created = app
        .submit_created(&a_la_carte(
            ["随州市示例商贸有限公司", "91421300MA49ABCD17"],
            ["421303", "交通大道100号"],
            ["张三", "13800001111"],
            "api",
            json!({
                "water": {"business_type": "new_account", "demand_tons_per_day": 50},
                "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}
            }),
        ))
        .await;
    let id = id_of(&created);
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;

    // Several megabytes: the download crosses many of the store's chunks.
    let body = plan(6 << 20);
    let res = upload(&app, &water, &id, "总平面图.pdf", &body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let sha = res.json()["sha256"].as_str().unwrap().to_owned();
    let probe = (s3.clone(), sha.clone());
    assert!(
        tokio::task::spawn_blocking(move || probe.0.exists(&probe.1))
            .await
            .unwrap()
            .unwrap(),
        "the content is in the bucket"
    );
    let got = app
        .get_as(
            &power,
            &format!("/api/v1/applications/{id}/materials/{sha}"),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.len(), body.len());
    assert!(got.body.as_ref() == body.as_slice(), "byte for byte");
    assert_eq!(got.header("content-type"), Some("application/pdf"));

    // Again to the same application: the material already there; to
    // another application: a second material over the same one content.
    let again = upload(&app, &power, &id, "副本.pdf", &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["sha256"], sha.as_str());
    let other = app
        .submit_created(&a_la_carte(
            ["随州市另一家有限公司", "91421300MA4900000M"],
            ["421303", "解放路1号"],
            ["李四", "13900002222"],
            "api",
            json!({"water": {"business_type": "new_account", "demand_tons_per_day": 5}}),
        ))
        .await;
    let elsewhere = upload(&app, &water, &id_of(&other), "plan.pdf", &body).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CREATED,
        "{}",
        elsewhere.text()
    );
    assert_eq!(elsewhere.json()["sha256"], sha.as_str());
    let (blobs, bytes) = app.read(|c| onestop_store::materials::blob_totals(c)).await;
    assert_eq!((blobs, bytes), (1, body.len() as i64));
    let got = app
        .get_as(
            &water,
            &format!("/api/v1/applications/{}/materials/{sha}", id_of(&other)),
        )
        .await;
    assert!(got.body.as_ref() == body.as_slice());

    // Nothing was kept in the data folder's store, nothing left spooled.
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
    assert!(!app.db.dir.join("blobs").join(&sha[..2]).exists());
}
