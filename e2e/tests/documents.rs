//! Materials and documents in a real (headless) Chromium, on both
//! databases: an enterprise on a phone attaches a site plan to the
//! application form itself (一次上传); the form comes back for a wrong phone
//! number with the file still attached, and is filed; the power utility's
//! operator, at desk width, finds the plan on the application and downloads
//! it byte for byte (多方共享), and opens the acceptance receipt as a PDF.

use onestop_e2e::{
    DbBackend as Backend, Staff, account, browser, sign_in_as, sign_out_from, start_server_at,
};

onestop_e2e::on_both_databases!(
    an_enterprise_files_a_site_plan_with_the_form_the_utility_downloads_it,
);

const TUESDAY: &str = "2026-12-01T10:00:00+08:00";
const USCC: &str = "91421300MA49ABCD17";

/// A small PDF on disk for the file input.
fn site_plan() -> (std::path::PathBuf, usize) {
    let mut pdf = b"%PDF-1.4\n% site plan\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'p', 30_000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    let dir = std::env::temp_dir().join(format!("onestop-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("总平面图.pdf");
    std::fs::write(&path, &pdf).unwrap();
    (path, pdf.len())
}

async fn an_enterprise_files_a_site_plan_with_the_form_the_utility_downloads_it(backend: Backend) {
    let server = start_server_at(backend, TUESDAY).await;
    let applicant = format!("applicant:{USCC}");
    let enterprise: Staff = ("ent.d", "示例商贸", &applicant, "Shop-2026-ok");
    let power: Staff = ("power.op", "供电经办", "operator:sz-power", "Power-2026-op");
    account(&server, enterprise).await;
    account(&server, power).await;
    let (path, size) = site_plan();
    let b = browser(true).await;

    // The enterprise, on a phone, fills the form for water and power and
    // attaches the site plan; the phone number is mistyped.
    b.set_window_size(390, 844).await;
    sign_in_as(&b, &server, enterprise).await;
    b.goto(&server.url("/apply?services=water&services=power"))
        .await;
    b.fill("#f-applicant-name", "随州市示例商贸有限公司").await;
    b.fill("#f-applicant-uscc", USCC).await;
    b.select("#f-address-district_code", "421303").await;
    b.fill("#f-address-detail", "交通大道100号").await;
    b.fill("#f-contact-name", "张三").await;
    b.fill("#f-contact-phone", "1380000").await;
    b.tick("input[name='services.water.business_type'][value='new_account']")
        .await;
    b.fill("#f-services-water-demand_tons_per_day", "50").await;
    b.tick("input[name='services.power.business_type'][value='new']")
        .await;
    b.fill("#f-services-power-main_capacity_kva", "630").await;
    b.fill("#f-services-power-backup_capacity_kva", "0").await;
    b.select("#f-material-0-kind", "site_plan").await;
    b.find("#f-material-0-file")
        .await
        .send_keys(path.to_str().unwrap())
        .await
        .expect("a file chosen");
    b.click_to_next_page("#submit-application").await;
    let kept = b.text("#f-materials").await;
    b.check(
        b.exists("#error-summary").await && kept.contains("总平面图.pdf"),
        format_args!("refused for the phone, the file still attached: {kept}"),
    )
    .await;
    b.fill("#f-contact-phone", "13800001111").await;
    b.click_to_next_page("#submit-application").await;
    let receipt = b.wait_for_path("/receipt/").await;
    let id = receipt
        .trim_start_matches("/receipt/")
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned();
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    let papers = b.text("#papers").await;
    b.check(
        papers.contains("总平面图.pdf") && papers.contains("示例商贸"),
        format_args!("the material and who added it: {papers}"),
    )
    .await;
    sign_out_from(&b).await;

    // The power utility, at desk width, downloads it.
    b.set_window_size(1280, 900).await;
    sign_in_as(&b, &server, power).await;
    b.goto(&server.url(&format!("/applications/{id}"))).await;
    let href = b.attr("#materials a", "href").await.unwrap_or_default();
    b.check(
        href.starts_with(&format!("/applications/{id}/materials/")),
        format_args!("a download link: {href}"),
    )
    .await;
    let got = b
        .execute(
            "const url = arguments[0]; return (async () => { \
             const r = await fetch(url); const b = await r.arrayBuffer(); \
             const d = await crypto.subtle.digest('SHA-256', b); \
             return [r.status, b.byteLength, Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('')]; })();",
            vec![serde_json::Value::String(href.clone())],
        )
        .await;
    let sha = href.rsplit('/').next().unwrap_or_default();
    b.check(
        got == serde_json::json!([200, size, sha]),
        format_args!("the download is the file: {got}"),
    )
    .await;
    // The receipt as a PDF, from the same section.
    let receipt = b
        .execute(
            "const url = arguments[0]; return (async () => { \
             const r = await fetch(url); const b = new Uint8Array(await r.arrayBuffer()); \
             return [r.status, r.headers.get('content-type'), String.fromCharCode(...b.slice(0, 5))]; })();",
            vec![serde_json::Value::String(format!(
                "/applications/{id}/documents/receipt.pdf"
            ))],
        )
        .await;
    b.check(
        receipt == serde_json::json!([200, "application/pdf", "%PDF-"]),
        format_args!("the receipt: {receipt}"),
    )
    .await;
    b.close().await;
    server.stop().await;
    let _ = std::fs::remove_file(path);
}
