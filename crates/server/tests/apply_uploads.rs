//! Materials added on the application form itself (multipart `/apply`):
//! kept as they arrive for whoever fills the form in, shown again when the
//! form comes back, removable, attached to the application when it is
//! filed and then seen by its utilities; the form's files bounded in
//! count, size and type before anything is kept. On both databases.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;

on_both_databases!(
    files_on_the_form_become_the_applications_materials,
    anonymous_forms_keep_their_files_by_their_token,
    the_form_bounds_its_files,
);

/// A water and power form, as the page sends it (the CSRF token first).
fn form<'a>(csrf: &'a str, token: &'a str, phone: &'a str) -> Vec<Part<'a>> {
    vec![
        Part::Text("csrf_token", csrf),
        Part::Text("submission_token", token),
        Part::Text("mode", "a_la_carte"),
        Part::Text("services", "water"),
        Part::Text("services", "power"),
        Part::Text("applicant.name", "随州市示例商贸有限公司"),
        Part::Text("applicant.uscc", USCC),
        Part::Text("address.district_code", "421303"),
        Part::Text("address.detail", "交通大道100号"),
        Part::Text("contact.name", "张三"),
        Part::Text("contact.phone", phone),
        Part::Text("services.water.business_type", "new_account"),
        Part::Text("services.water.demand_tons_per_day", "50"),
        Part::Text("services.power.business_type", "new"),
        Part::Text("services.power.main_capacity_kva", "630"),
        Part::Text("services.power.backup_capacity_kva", "0"),
        Part::Text("action", "submit"),
    ]
}

fn site_plan() -> Vec<u8> {
    let mut pdf = "%PDF-1.4\n% 总平面图 交通大道100号\n".as_bytes().to_vec();
    pdf.extend(std::iter::repeat_n(b'x', 60_000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

async fn post_apply(app: &TestApp, cookie: &str, parts: &[Part<'_>]) -> Answer {
    let (content_type, body) = multipart_body(parts);
    app.request(
        Method::POST,
        "/apply",
        &[("content-type", &content_type), ("cookie", cookie)],
        body,
    )
    .await
}

/// Files left in the spool folder (none once a request is answered).
fn spooled(app: &TestApp) -> usize {
    std::fs::read_dir(app.state.blobs.spool_dir())
        .map(|d| d.count())
        .unwrap_or(0)
}

/// How many files are kept for forms not yet filed, by anyone.
async fn kept(app: &TestApp) -> i64 {
    app.read(|c| {
        let r = c.query_opt(
            "SELECT COUNT(*) FROM staged_materials",
            onestop_store::params![],
        )?;
        r.unwrap().int(0)
    })
    .await
}

fn receipt_id(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let to = a.header("location").unwrap();
    to.strip_prefix("/receipt/").expect(to).to_owned()
}

/// The ids of the kept files the form lists (their removal boxes).
fn kept_ids(html: &str) -> Vec<String> {
    html.split("name=\"material_remove\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn files_on_the_form_become_the_applications_materials(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.account("ent", &[&format!("applicant:{USCC}")]).await;
    let ent = app.login("ent", PASSWORD).await;
    let cookie = ent.cookie_header();
    let page = app.ok_page_as(&ent, "/apply").await;
    assert_has(
        &page,
        &[
            "enctype=\"multipart/form-data\"",
            "申请材料（可选）",
            "name=\"material.0.file\"",
            "<option value=\"site_plan\" selected>",
        ],
    );
    assert!(!page.contains("已附材料"));

    // A refused form: the site plan is kept and listed, the wrong file is
    // named beside its row, the rest of the input comes back.
    let plan = site_plan();
    let mut parts = form(&ent.csrf, "tok-ent-1", "1234");
    parts.extend([
        Part::Text("material.0.kind", "site_plan"),
        Part::File("material.0.file", "总平面图.pdf", &plan),
        Part::Text("material.1.kind", "other"),
        Part::File(
            "material.1.file",
            "setup.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00",
        ),
        Part::File("material.2.file", "", b""),
    ]);
    let res = post_apply(&app, &cookie, &parts).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let html = res.text();
    assert_has(
        &html,
        &[
            "已附材料",
            "总平面图：总平面图.pdf（59 KB）",
            "href=\"#f-material-1-file\"",
            "id=\"f-material-1-file-err\">setup.pdf：只能上传 PDF、PNG 或 JPEG 文件",
            "id=\"f-contact-phone-err\"",
            "value=\"随州市示例商贸有限公司\"",
        ],
    );
    assert!(
        !html.contains("f-material-2-file-err"),
        "an empty row is no error: {}",
        &html[html.find("f-materials").unwrap_or(0)..]
    );
    assert_eq!(kept(&app).await, 1);
    assert_eq!(spooled(&app), 0);
    // Reopened later (another device): still there.
    assert_has(&app.ok_page_as(&ent, "/apply").await, &["总平面图.pdf"]);

    // Corrected and filed without choosing the file again.
    let parts = form(&ent.csrf, "tok-ent-1", "13800001111");
    let id = receipt_id(&post_apply(&app, &cookie, &parts).await);
    assert_eq!(kept(&app).await, 0);
    assert!(!app.ok_page_as(&ent, "/apply").await.contains("已附材料"));

    // The power utility sees it and downloads the same bytes.
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;
    let list = app
        .as_session(&power)
        .get(&format!("/api/v1/applications/{id}/materials"))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list = list.json();
    let items = list["items"]
        .as_array()
        .unwrap_or_else(|| list.as_array().unwrap());
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["kind"], "site_plan");
    assert_eq!(items[0]["file_name"], "总平面图.pdf");
    assert_eq!(items[0]["size"], plan.len());
    let download = items[0]["download"].as_str().unwrap().to_owned();
    let got = app.as_session(&power).get(&download).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, plan);
    let added = app.audit_records("material_added").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].target_id, id);
}

async fn anonymous_forms_keep_their_files_by_their_token(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (cookie, csrf) = TestApp::anon_csrf();
    let plan = site_plan();
    let mut parts = form(&csrf, "tok-anon-a", "1234");
    parts.push(Part::File("material.0.file", "plan.pdf", &plan));
    let res = post_apply(&app, &cookie, &parts).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ids = kept_ids(&res.text());
    assert_eq!(ids.len(), 1, "{}", res.text());

    // Another form (its own token) sees nothing of it.
    let other = post_apply(&app, &cookie, &form(&csrf, "tok-anon-b", "1234")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!other.text().contains("plan.pdf"));
    assert!(kept_ids(&other.text()).is_empty());

    // Removed on the form, then filed: the application has no materials.
    let mut parts = form(&csrf, "tok-anon-a", "13800001111");
    parts.push(Part::Text("material_remove", &ids[0]));
    let id = receipt_id(&post_apply(&app, &cookie, &parts).await);
    let list = app
        .get(&format!("/api/v1/applications/{id}/materials"))
        .await
        .json();
    assert_eq!(list["items"].as_array().map_or(0, Vec::len), 0, "{list}");

    // Filed with a file at once: the enterprise on the form added it.
    let mut parts = form(&csrf, "tok-anon-c", "13800001111");
    parts.push(Part::File("material.0.file", "plan.pdf", &plan));
    let id = receipt_id(&post_apply(&app, &cookie, &parts).await);
    let list = app
        .get(&format!("/api/v1/applications/{id}/materials"))
        .await
        .json();
    assert_eq!(list["items"][0]["uploaded_by"], "随州市示例商贸有限公司");
    assert_eq!(kept(&app).await, 0);
}

async fn the_form_bounds_its_files(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.materials.max_file_mb = 1).await;
    let (cookie, csrf) = TestApp::anon_csrf();

    // Past the per-file limit: refused beside its row, nothing kept.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(1_200_000, b'x');
    let mut parts = form(&csrf, "tok-b1", "13800001111");
    parts.push(Part::File("material.0.file", "big.pdf", &big));
    let res = post_apply(&app, &cookie, &parts).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_has(
        &res.text(),
        &["id=\"f-material-0-file-err\">big.pdf：文件不能超过 1 MB"],
    );
    assert_eq!((kept(&app).await, spooled(&app)), (0, 0));

    // A file before the CSRF token: refused before it is read.
    let plan = site_plan();
    let mut parts = vec![Part::File("material.0.file", "plan.pdf", &plan)];
    parts.extend(form(&csrf, "tok-b2", "13800001111"));
    let res = post_apply(&app, &cookie, &parts).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // With a wrong token, the same.
    let mut parts = form("forged", "tok-b2", "13800001111");
    parts.push(Part::File("material.0.file", "plan.pdf", &plan));
    assert_eq!(
        post_apply(&app, &cookie, &parts).await.status,
        StatusCode::FORBIDDEN
    );

    // A file outside the form's rows: not kept, and the form is not filed
    // while part of it was not recognised.
    for field in [
        "material.3.file",
        "file",
        "material.0.kind",
        "applicant.name",
    ] {
        let mut parts = form(&csrf, "tok-b3", "13800001111");
        parts.push(Part::File(field, "plan.pdf", &plan));
        let res = post_apply(&app, &cookie, &parts).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
    }
    // The same row twice: the first counts.
    let mut parts = form(&csrf, "tok-b4", "1234");
    parts.push(Part::File("material.0.file", "a.pdf", &plan));
    parts.push(Part::File("material.0.file", "b.pdf", b"%PDF-1.4 other"));
    let res = post_apply(&app, &cookie, &parts).await;
    assert!(res.text().contains("a.pdf") && !res.text().contains("b.pdf"));
    assert_eq!(kept(&app).await, 1);

    // A body past what the form can send (its rows at the file limit):
    // cut off, 413, nothing kept.
    let huge = vec![b'y'; 5 << 20];
    let mut parts = form(&csrf, "tok-b5", "13800001111");
    parts.push(Part::File("unknown", "x.bin", &huge));
    let res = post_apply(&app, &cookie, &parts).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
    assert_has(&res.text(), &["所选文件合计过大"]);
    assert_eq!((kept(&app).await, spooled(&app)), (1, 0));

    // A form sent urlencoded (no files) still files as before.
    let id = receipt_id(
        &app.post_form(
            "/apply",
            &[
                ("submission_token", "tok-b6"),
                ("mode", "a_la_carte"),
                ("services", "water"),
                ("applicant.name", "随州市示例商贸有限公司"),
                ("applicant.uscc", USCC),
                ("address.district_code", "421303"),
                ("address.detail", "交通大道100号"),
                ("contact.name", "张三"),
                ("contact.phone", "13800001111"),
                ("services.water.business_type", "new_account"),
                ("services.water.demand_tons_per_day", "50"),
                ("action", "submit"),
            ],
        )
        .await,
    );
    assert!(!id.is_empty());
}
