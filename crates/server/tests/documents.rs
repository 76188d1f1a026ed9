//! Official PDFs and materials, on SQLite and PostgreSQL: each document
//! renders and reads back (pdftotext) with its fields, carries a number and
//! check code the public verification confirms, and is served only to
//! those who may see its record; a material uploaded once is seen by every
//! party of its application, stored once however often it is uploaded,
//! refused when too large or not a PDF/PNG/JPEG, and a 404 to outsiders;
//! an electronic licence entered once is reused by a later application.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use onestop_store::testing::Backend;
use onestop_store::testing::Sql as _;
use serde_json::{Value, json};

on_both_databases!(
    each_document_reads_back_with_its_fields,
    case_documents_carry_the_commitment_and_every_opinion,
    materials_are_shared_by_the_parties_and_stored_once,
    uploads_are_bounded_and_checked_by_content,
    licences_are_entered_once_and_reused,
    the_pages_link_the_documents_and_take_uploads,
);

const USCC: &str = "91421300MA49ABCD17";

/// The PDF's text (Debian's poppler-utils).
fn text_of(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let dir = std::env::temp_dir().join(format!("onestop-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{n}-{}.pdf", pdf.len()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    let _ = std::fs::remove_file(&path);
    String::from_utf8(out.stdout).unwrap()
}

/// Text without the line breaks and spaces layout adds.
fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_reads(text: &str, needles: &[&str]) {
    let flat = squeezed(text);
    for n in needles {
        assert!(flat.contains(&squeezed(n)), "{n:?} missing from:\n{text}");
    }
}

async fn water_and_power(app: &TestApp) -> Value {
    app.submit_created(&a_la_carte(
        ["随州市示例商贸有限公司", USCC],
        ["421303", "交通大道100号"],
        ["张三", "13800001111"],
        "api",
        json!({
            "water": {"business_type": "new_account", "demand_tons_per_day": 50},
            "power": {"business_type": "new", "main_capacity_kva": 630, "backup_capacity_kva": 0}
        }),
    ))
    .await
}

/// Every order finished, as after connection.
async fn complete(app: &TestApp, application: &str) {
    let id = application.to_owned();
    app.write(move |c| {
        c.execute(
            "UPDATE work_orders SET stage = 'closed', status = 'done', next_level_at = NULL
             WHERE application_id = $1",
            onestop_store::params![&id],
        )?;
        c.execute(
            "UPDATE applications SET status = 'completed' WHERE id = $1",
            onestop_store::params![&id],
        )
    })
    .await;
}

async fn each_document_reads_back_with_its_fields(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = water_and_power(&app).await;
    let id = id_of(&created);
    let number = created["number"].as_str().unwrap().to_owned();
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;

    let form = app
        .get_as(
            &water,
            &format!("/api/v1/applications/{id}/documents/form.pdf"),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    assert_eq!(form.header("content-type"), Some("application/pdf"));
    assert_eq!(form.header("cache-control"), Some("private, no-store"));
    let form_number = form.header("x-document-number").unwrap().to_owned();
    assert_eq!(form_number, format!("FB2-{number}-1"));
    let text = text_of(&form.body);
    assert_reads(
        &text,
        &[
            "随州市用户水电气网暖需求信息采集单",
            "随州市示例商贸有限公司",
            USCC,
            "随州市曾都区交通大道100号",
            "用水报装资料",
            "新开户",
            "50吨/日",
            "用电报装资料",
            "630kVA",
            "■用水报装",
            "□用气报装",
            "张三",
            &form_number,
            "申请单位（盖章）",
        ],
    );
    // Staff see the phone masked, as on the pages.
    assert!(!squeezed(&text).contains("13800001111"), "{text}");
    assert!(squeezed(&text).contains("138****1111"), "{text}");

    // The same content printed again keeps its number and bytes.
    let again = app
        .get_as(
            &water,
            &format!("/api/v1/applications/{id}/documents/form.pdf"),
        )
        .await;
    assert_eq!(
        again.header("x-document-number"),
        Some(form_number.as_str())
    );
    assert_eq!(again.body, form.body);

    // The public verification names it, with the check code on the paper.
    let v = app
        .as_nobody()
        .get(&format!("/api/v1/documents/{form_number}/verification"))
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    let v = v.json();
    assert_eq!(v["kind"], "form");
    assert_eq!(v["application_number"], number.as_str());
    assert_eq!(v["superseded"], false);
    let code = v["check_code"].as_str().unwrap();
    assert_eq!(code.len(), 19);
    assert!(
        squeezed(&text).contains(code),
        "{code} on the paper:\n{text}"
    );
    assert!(!v.to_string().contains("张三"), "nothing personal: {v}");

    let receipt = app
        .get(&format!("/api/v1/applications/{id}/documents/receipt.pdf"))
        .await;
    assert_eq!(receipt.status, StatusCode::OK);
    let receipt_number = receipt.header("x-document-number").unwrap().to_owned();
    let text = text_of(&receipt.body);
    let query_code = created["query_code"].as_str().unwrap();
    assert_reads(
        &text,
        &[
            "水电气网暖联动报装受理回执",
            &number,
            query_code,
            "随州市水务集团",
            "国网随州供电公司",
            "待受理",
            "13800001111",
            &receipt_number,
        ],
    );

    // The completion notice waits for every order to finish.
    let early = app
        .get(&format!(
            "/api/v1/applications/{id}/documents/completion.pdf"
        ))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.json()["error"]["code"], "not_completed");
    complete(&app, &id).await;
    let done = app
        .get(&format!(
            "/api/v1/applications/{id}/documents/completion.pdf"
        ))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_reads(
        &text_of(&done.body),
        &[
            "办结通知书",
            &number,
            "已全部办结",
            "随州市水务集团",
            "已办结",
            "用户零投资",
        ],
    );
    // The receipt's content changed (the orders' states): a new revision,
    // and the first reads as superseded.
    let later = app
        .get(&format!("/api/v1/applications/{id}/documents/receipt.pdf"))
        .await;
    assert_eq!(
        later.header("x-document-number"),
        Some(format!("HZ-{number}-2").as_str())
    );
    let old = app
        .as_nobody()
        .get(&format!("/api/v1/documents/{receipt_number}/verification"))
        .await
        .json();
    assert_eq!(old["superseded"], true);
    assert_eq!(old["current_number"], format!("HZ-{number}-2"));

    // Nobody else sees them: another enterprise's utility, an outsider.
    let gas = app.signed_in("gas.op", &["operator:sz-gas"]).await;
    for file in ["form", "receipt", "completion", "nonsense"] {
        let res = app
            .get_as(
                &gas,
                &format!("/api/v1/applications/{id}/documents/{file}.pdf"),
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{file}");
    }
    let anonymous = app
        .as_nobody()
        .get(&format!("/api/v1/applications/{id}/documents/form.pdf"))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .as_nobody()
        .get("/api/v1/documents/HZ-LB209901010001-1/verification")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // Every download is audited, with the document's number.
    let reads = app.audit_records("document_read").await;
    assert_eq!(reads.len(), 5, "{reads:?}");
}

async fn case_documents_carry_the_commitment_and_every_opinion(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = app.submit(&five_services()).await;
    let id = id_of(&created);
    let heat_key = app.key("workorders:write:sz-heat").await;
    let (heat, v) = order_of(&created, "sz-heat");
    let o = app
        .as_key(&heat_key)
        .act_ok(&heat, json!({"action": "accept", "version": v}))
        .await;
    app.as_key(&heat_key)
        .act_ok(
            &heat,
            json!({"action": "record_survey", "version": o["version"], "external_works_m": 800, "route": "沿交通大道"}),
        )
        .await;
    let from = appointment()[..10].to_owned();
    let today = app.state.now().date().to_string();
    let case = app
        .as_key(&heat_key)
        .raise_case(
            &id,
            json!({"works": [heat], "place": "交通大道（擂鼓墩大道至烈山大道段）", "from": from, "to": from,
                   "commitment": {"signed_by": "王工", "unit": "随州市某建设有限公司", "signed_at": today,
                                  "confirmation": onestop_domain::approval::CONFIRMATION}}),
        )
        .await;
    assert_eq!(case.status, StatusCode::CREATED, "{}", case.text());
    let case = case.json();
    let case_id = id_of(&case);
    // One department decides with an opinion.
    let jj = item(&case, "sz-jj");
    if jj["status"] == "pending" {
        let approver = app.key("approvals:write:sz-jj").await;
        let res = app
            .as_key(&approver)
            .decide_item(&jj, "approve", "同意，夜间施工", jj["version"].clone())
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
    let heat_op = app.signed_in("heat.op", &["operator:sz-heat"]).await;
    let commitment = app
        .get_as(
            &heat_op,
            &format!("/api/v1/approval-cases/{case_id}/documents/commitment.pdf"),
        )
        .await;
    assert_eq!(commitment.status, StatusCode::OK, "{}", commitment.text());
    assert_reads(
        &text_of(&commitment.body),
        &[
            "告知承诺书",
            "王工",
            "随州市某建设有限公司",
            "交通大道（擂鼓墩大道至烈山大道段）",
            "严格落实施工安全和工程质量责任",
            "施工完成后按时恢复原貌",
            "承诺单位（签字、盖公章）",
        ],
    );
    let sheet = app
        .get_as(
            &heat_op,
            &format!("/api/v1/approval-cases/{case_id}/documents/sheet.pdf"),
        )
        .await;
    assert_eq!(sheet.status, StatusCode::OK);
    let number = sheet.header("x-document-number").unwrap().to_owned();
    assert!(number.starts_with("FB4-"), "{number}");
    assert_reads(
        &text_of(&sheet.body),
        &[
            "综合审批意见单",
            "各部门审批意见",
            "同意，夜间施工",
            "按告知承诺制即时办结",
            "签批时间",
            "交通大道（擂鼓墩大道至烈山大道段）",
        ],
    );
    // The wrong file for a case, and a utility not in it.
    let wrong = app
        .get_as(
            &heat_op,
            &format!("/api/v1/approval-cases/{case_id}/documents/form.pdf"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let stranger = app.signed_in("x.op", &["operator:sz-gas"]).await;
    let other = app.submit(&water_only("91421300MA4900000M")).await;
    drop(other);
    let res = app
        .get_as(
            &stranger,
            &format!("/api/v1/approval-cases/{case_id}/documents/sheet.pdf"),
        )
        .await;
    // The gas utility has an order in this application (five services):
    // it is a party and may read the sheet.
    assert_eq!(res.status, StatusCode::OK);
    let outsider = app
        .signed_in("sup.x", &["applicant:91421300MA4900000M"])
        .await;
    let res = app
        .get_as(
            &outsider,
            &format!("/api/v1/approval-cases/{case_id}/documents/sheet.pdf"),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

/// Text parts and then one file in `file`.
fn parts<'a>(file: Option<(&'a str, &'a [u8])>, texts: &[(&'a str, &'a str)]) -> Vec<Part<'a>> {
    let mut parts: Vec<Part> = texts.iter().map(|(k, v)| Part::Text(k, v)).collect();
    if let Some((name, bytes)) = file {
        parts.push(Part::File("file", name, bytes));
    }
    parts
}

/// A multipart body with text parts and then one file in `file`.
fn multipart(file: Option<(&str, &[u8])>, texts: &[(&str, &str)]) -> (String, Vec<u8>) {
    multipart_body(&parts(file, texts))
}

async fn upload(
    app: &TestApp,
    s: &Session,
    application: &str,
    file: Option<(&str, &[u8])>,
    texts: &[(&str, &str)],
) -> Answer {
    app.post_multipart_as(
        s,
        &format!("/api/v1/applications/{application}/materials"),
        &parts(file, texts),
    )
    .await
}

/// The page's upload form sent with a session cookie (the CSRF token, if
/// any, is one of the multipart's parts).
async fn page_upload(
    app: &TestApp,
    cookie: &str,
    application: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    app.request(
        Method::POST,
        &format!("/applications/{application}/materials"),
        &[("content-type", content_type), ("cookie", cookie)],
        body,
    )
    .await
}

fn site_plan() -> Vec<u8> {
    let mut pdf = "%PDF-1.4\n% site plan of 交通大道100号\n"
        .as_bytes()
        .to_vec();
    pdf.extend(std::iter::repeat_n(b'x', 40_000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

async fn materials_are_shared_by_the_parties_and_stored_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = water_and_power(&app).await;
    let id = id_of(&created);
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let power = app.signed_in("power.op", &["operator:sz-power"]).await;
    let plan = site_plan();
    let res = upload(
        &app,
        &water,
        &id,
        Some(("../总平面图.pdf", &plan)),
        &[("kind", "site_plan")],
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let m = res.json();
    let sha = m["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert_eq!(m["file_name"], "总平面图.pdf");
    assert_eq!(m["media_type"], "application/pdf");
    assert_eq!(m["size"], plan.len());
    assert!(
        m["uploaded_by"]
            .as_str()
            .unwrap()
            .ends_with("water.op（随州市水务集团）"),
        "{m}"
    );
    // The power utility of the same application sees and downloads it.
    let list = app
        .get_as(&power, &format!("/api/v1/applications/{id}/materials"))
        .await
        .json();
    assert_eq!(list["items"][0]["sha256"], sha.as_str());
    let got = app
        .get_as(
            &power,
            &format!("/api/v1/applications/{id}/materials/{sha}"),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.as_ref(), plan.as_slice());
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    assert!(
        got.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    // The enterprise (through its key) sees it too.
    assert_eq!(
        app.get(&format!("/api/v1/applications/{id}/materials/{sha}"))
            .await
            .status,
        StatusCode::OK
    );
    // The gas utility of another application: nothing, as if absent.
    let other = app
        .submit_created(&a_la_carte(
            ["随州市另一家有限公司", "91421300MA4900000M"],
            ["421303", "解放路1号"],
            ["李四", "13900002222"],
            "api",
            json!({"gas": {"category": "small_commercial", "equipment": [{"name": "灶具", "quantity": 2, "pressure": "2kPa"}]}}),
        ))
        .await;
    let gas = app.signed_in("gas.op", &["operator:sz-gas"]).await;
    for res in [
        app.get_as(&gas, &format!("/api/v1/applications/{id}/materials"))
            .await,
        app.get_as(&gas, &format!("/api/v1/applications/{id}/materials/{sha}"))
            .await,
        upload(&app, &gas, &id, Some(("x.pdf", &plan)), &[]).await,
    ] {
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    }
    // The same content again: the material already there (200), and the
    // same content for another application: a second material, one blob.
    let again = upload(&app, &power, &id, Some(("副本.pdf", &plan)), &[]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["sha256"], sha.as_str());
    let elsewhere = upload(&app, &gas, &id_of(&other), Some(("plan.pdf", &plan)), &[]).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CREATED,
        "{}",
        elsewhere.text()
    );
    let (blobs, bytes) = app.read(|c| onestop_store::materials::blob_totals(c)).await;
    assert_eq!((blobs, bytes), (1, plan.len() as i64));
    let count: i64 = app
        .read(|c| c.query("SELECT COUNT(*) FROM materials", &[])?[0].int(0))
        .await;
    assert_eq!(count, 2);
    assert!(app.state.blobs.exists(&sha).unwrap());
    // A supervisor reads, and adds nothing.
    let sup = app.signed_in("lead.sup", &["supervisor"]).await;
    assert_eq!(
        app.get_as(&sup, &format!("/api/v1/applications/{id}/materials"))
            .await
            .status,
        StatusCode::OK
    );
    let res = upload(&app, &sup, &id, Some(("s.pdf", b"%PDF-1.4 other")), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    // Each download audited.
    assert_eq!(app.audit_records("material_downloaded").await.len(), 2);
    assert_eq!(app.audit_records("material_added").await.len(), 2);
}

async fn uploads_are_bounded_and_checked_by_content(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.materials.max_file_mb = 1;
        c.materials.max_application_files = 2;
    })
    .await;
    let created = water_and_power(&app).await;
    let id = id_of(&created);
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    // An executable named .pdf, an HTML page, nothing at all.
    for (name, body) in [
        ("plan.pdf", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()),
        ("plan.pdf", b"<html>%PDF-1.4</html>".to_vec()),
    ] {
        let res = upload(&app, &water, &id, Some((name, &body)), &[]).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            res.text()
        );
        assert_eq!(
            res.field_codes(),
            vec![("file".into(), "invalid_format".into())]
        );
    }
    let res = upload(&app, &water, &id, Some(("empty.pdf", b"")), &[]).await;
    assert_eq!(res.field_codes(), vec![("file".into(), "required".into())]);
    let res = upload(&app, &water, &id, None, &[("kind", "site_plan")]).await;
    assert_eq!(res.field_codes(), vec![("file".into(), "required".into())]);
    // Over the limit: refused as it arrives.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize((1 << 20) + 1, b'x');
    let res = upload(&app, &water, &id, Some(("big.pdf", &big)), &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field_codes(), vec![("file".into(), "too_long".into())]);
    // A kind not known, an order not of this application.
    let res = upload(
        &app,
        &water,
        &id,
        Some(("a.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")),
        &[("kind", "selfie")],
    )
    .await;
    assert_eq!(
        res.field_codes(),
        vec![("kind".into(), "unknown_value".into())]
    );
    let res = upload(
        &app,
        &water,
        &id,
        Some(("a.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")),
        &[("work_order_id", "nope")],
    )
    .await;
    assert_eq!(
        res.field_codes(),
        vec![("work_order_id".into(), "unknown_value".into())]
    );
    // Not multipart at all.
    let res = app
        .as_session(&water)
        .post(
            &format!("/api/v1/applications/{id}/materials"),
            json!({"file": "x"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    // Two files fit; a third does not.
    for body in [b"%PDF-1.4 one".as_slice(), b"\xFF\xD8\xFF\xE0 two"] {
        let res = upload(&app, &water, &id, Some(("f", body)), &[]).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    }
    let res = upload(&app, &water, &id, Some(("f", b"%PDF-1.4 three")), &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["error"]["code"], "too_many_materials");
    // Nothing refused was kept: only the two contents, no spooled leftovers.
    let (blobs, _) = app.read(|c| onestop_store::materials::blob_totals(c)).await;
    assert_eq!(blobs, 2);
    let spool = std::fs::read_dir(app.state.blobs.spool_dir())
        .unwrap()
        .count();
    assert_eq!(spool, 0, "spooled files are removed");
}

async fn licences_are_entered_once_and_reused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = water_and_power(&app).await;
    let licence = json!({"kind": "business_licence", "issuer": "随州市市场监督管理局",
        "number": "91421300MA49ABCD17", "holder": "随州市示例商贸有限公司", "level": "A"});
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/licences", id_of(&first)),
            &licence,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let m = res.json();
    assert_eq!(m["licence"]["level"], "A");
    assert!(m.get("sha256").is_none());
    let licence_id = m["licence"]["id"].as_str().unwrap().to_owned();
    // A later application of the same enterprise finds it and refers to it.
    let second = water_and_power(&app).await;
    let on_file = app
        .get(&format!("/api/v1/applications/{}/licences", id_of(&second)))
        .await
        .json();
    assert_eq!(on_file["items"][0]["id"], licence_id.as_str());
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/licences", id_of(&second)),
            &json!({"licence_id": licence_id}),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    // Entered again with the same issuer and number: the same licence.
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/licences", id_of(&second)),
            &licence,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Another enterprise cannot use it; bad fields are named.
    let other = app.submit_created(&water_only("91421300MA4900000M")).await;
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/licences", id_of(&other)),
            &json!({"licence_id": licence_id}),
            None,
        )
        .await;
    assert_eq!(
        res.field_codes(),
        vec![("licence_id".into(), "unknown_value".into())]
    );
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/licences", id_of(&other)),
            &json!({"kind": "selfie", "issuer": "", "number": 5, "level": "E"}),
            None,
        )
        .await;
    assert_eq!(
        res.field_codes(),
        vec![
            ("number".into(), "invalid_format".into()),
            ("kind".into(), "unknown_value".into()),
            ("issuer".into(), "required".into()),
            ("number".into(), "required".into()),
            ("holder".into(), "required".into()),
            ("level".into(), "unknown_value".into()),
        ]
    );
}

async fn the_pages_link_the_documents_and_take_uploads(backend: Backend) {
    let app = TestApp::new(backend).await;
    let created = water_and_power(&app).await;
    let id = id_of(&created);
    let water = app.signed_in("water.op", &["operator:sz-water"]).await;
    let page = app.ok_page_as(&water, &format!("/applications/{id}")).await;
    assert_has(
        &page,
        &[
            "文书与材料",
            &format!("/applications/{id}/documents/form.pdf"),
            &format!("/applications/{id}/documents/receipt.pdf"),
            "id=\"upload-form\"",
            "enctype=\"multipart/form-data\"",
            "尚无材料",
        ],
    );
    assert!(!page.contains("completion.pdf"), "not before completion");
    // The page's form: multipart with the CSRF token as a part.
    let plan = site_plan();
    let (content_type, body) = multipart(
        Some(("总平面图.pdf", &plan)),
        &[("csrf_token", &water.csrf), ("kind", "site_plan")],
    );
    let cookie = water.cookie_header();
    let res = page_upload(&app, &cookie, &id, &content_type, body).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let back = res.header("location").unwrap().to_owned();
    assert_eq!(
        back,
        format!("/applications/{id}?done=material_added#papers")
    );
    let page = app.ok_page_as(&water, &back).await;
    assert_has(
        &page,
        &[
            "材料已上传",
            "总平面图.pdf",
            "总平面图",
            "water.op（随州市水务集团）",
        ],
    );
    // Without the token: refused, nothing kept.
    let (content_type, body) = multipart(Some(("x.pdf", b"%PDF-1.4 forged")), &[]);
    let res = page_upload(&app, &cookie, &id, &content_type, body).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A wrong type comes back to the page with the reason.
    let (content_type, body) = multipart(
        Some(("x.pdf", b"MZ\x90\x00")),
        &[("csrf_token", &water.csrf)],
    );
    let res = page_upload(&app, &cookie, &id, &content_type, body).await;
    let back = res.header("location").unwrap().to_owned();
    let page = app.ok_page_as(&water, &back).await;
    assert_has(
        &page,
        &["id=\"material-error\"", "只能上传 PDF、PNG 或 JPEG 文件"],
    );
    // The PDF link works for the page's user; the verify page checks it.
    let pdf = app
        .get_as(&water, &format!("/applications/{id}/documents/receipt.pdf"))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    let number = pdf.header("content-disposition").map(str::to_owned);
    assert!(number.is_some());
    let reads = app.audit_records("document_read").await;
    let n = reads.last().unwrap().target_id.clone();
    let verify = app.as_nobody().get(&format!("/verify/{n}")).await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text());
    assert_has(&verify.text(), &["编号有效", "受理回执", &n]);
    // From the work order's page: back to it; a forged order id (a line
    // break in it) goes nowhere but back to the application, refused.
    let (order, _) = order_of(&created, "sz-water");
    let order_page = app
        .ok_page_as(&water, &format!("/work-orders/{order}"))
        .await;
    assert_has(
        &order_page,
        &[
            "文书与材料",
            &format!("name=\"work_order_id\" value=\"{order}\""),
        ],
    );
    for (given, to) in [
        (
            order.as_str(),
            format!("/work-orders/{order}?done=material_added#papers"),
        ),
        ("x\r\nSet-Cookie: a=b", String::new()),
    ] {
        let body: &[u8] = if to.is_empty() {
            b"%PDF-1.4 forged order"
        } else {
            b"%PDF-1.4 order plan"
        };
        let (content_type, body) = multipart(
            Some(("order.pdf", body)),
            &[("csrf_token", &water.csrf), ("work_order_id", given)],
        );
        let res = page_upload(&app, &cookie, &id, &content_type, body).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let location = res.header("location").unwrap();
        if to.is_empty() {
            assert!(
                location.starts_with(&format!("/applications/{id}?material_error=")),
                "{location}"
            );
        } else {
            assert_eq!(location, to);
        }
    }
    let verify = app.as_nobody().get("/verify?number=HZ-NOPE-1").await;
    assert_eq!(verify.status, StatusCode::NOT_FOUND);
    assert_has(&verify.text(), &["未找到编号为"]);
}
