use super::*;
use std::process::Command;

fn sample(number: &str, applicant: &str) -> Document {
    Document {
        title: "随州市用户水电气网暖需求信息采集单".into(),
        subtitle: Some("附表2 · 申请编号 LB202612010001".into()),
        issuer: "随州市水电气网暖联动报装平台".into(),
        issued: Ymd {
            year: 2026,
            month: 12,
            day: 1,
        },
        verification: Verification {
            number: number.into(),
            hash: "3F2A-9C1B-77E0-12D4".into(),
            url: format!("https://onestop.example/verify/{number}"),
        },
        blocks: vec![
            Block::Heading {
                text: "一、申请信息".into(),
            },
            Block::Grid {
                rows: vec![
                    vec![
                        Cell::label("申请单位"),
                        Cell::value(applicant),
                        Cell::label("信用代码"),
                        Cell::value("91421300MA49ABCD17"),
                    ],
                    vec![
                        Cell::label("申请安装地址"),
                        Cell::value("随州市曾都区交通大道100号").span(3),
                    ],
                ],
            },
            Block::Table {
                header: vec!["部门".into(), "意见".into(), "签批时间".into()],
                widths: Some(vec![2.0, 4.0, 2.0]),
                rows: vec![vec![
                    "自然资源和规划局".into(),
                    "同意".into(),
                    "2026年12月2日".into(),
                ]],
            },
            Block::List {
                items: vec!["施工安全、质量保证。".into(), "严格按设计方案施工。".into()],
            },
            Block::Paragraph {
                text: "承诺内容如上。".into(),
            },
            Block::Signatures {
                signatures: vec![Signature {
                    label: "承诺单位（签字、盖公章）".into(),
                    name: Some("张三".into()),
                    seal: Some("（盖章）".into()),
                    date: Some("2026年12月1日".into()),
                }],
            },
        ],
    }
}

/// The PDF's text as `pdftotext -layout` reads it (Debian's poppler-utils).
fn text_of(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("onestop-doc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{n}-{}.pdf", pdf.len()));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Without the spaces and line breaks layout adds (Typst sets a space
/// between Chinese and Latin or digits).
fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn a_document_reads_back_with_its_fields_and_the_same_data_gives_the_same_bytes() {
    let r = Renderer::new();
    let doc = sample("F2-LB202612010001-1", "随州市示例商贸有限公司");
    let pdf = r.render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(r.render(&doc).unwrap(), pdf, "rendering is deterministic");
    let text = squeezed(&text_of(&pdf));
    for needle in [
        "随州市用户水电气网暖需求信息采集单",
        "随州市示例商贸有限公司",
        "91421300MA49ABCD17",
        "随州市曾都区交通大道100号",
        "自然资源和规划局",
        "严格按设计方案施工",
        "承诺单位（签字、盖公章）",
        "F2-LB202612010001-1",
        "3F2A-9C1B-77E0-12D4",
        "第1页",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn markup_in_the_data_is_set_as_text() {
    let r = Renderer::new();
    let hostile = "#panic(\"x\") *粗体* $x^2$ [链接](a) \\ #import \"/etc/passwd\"";
    let pdf = r.render(&sample("F2-X-1", hostile)).unwrap();
    let text = squeezed(&text_of(&pdf));
    assert!(text.contains("#panic(\"x\")"), "{text}");
    assert!(text.contains("*粗体*"), "{text}");
    assert!(text.contains("$x^2$"), "{text}");
    assert!(text.contains("#import\"/etc/"), "{text}");
}

#[test]
fn a_long_document_breaks_across_pages_with_the_line_on_each() {
    let r = Renderer::new();
    let mut doc = sample("F4-LB202612010001-2", "随州市示例商贸有限公司");
    doc.blocks.push(Block::Table {
        header: vec!["序号".into(), "内容".into()],
        widths: None,
        rows: (1..=120)
            .map(|i| vec![i.to_string(), format!("第{i}条意见：同意按方案施工")])
            .collect(),
    });
    let text = squeezed(&text_of(&r.render(&doc).unwrap()));
    // The footer on every page, the header from the second on.
    assert!(
        text.contains("第1页共4页") || text.contains("第1页共5页"),
        "{text}"
    );
    let pages = text.matches("文书编号：F4-LB202612010001-2").count();
    assert!(pages >= 3, "the number on every page: {pages}\n{text}");
    assert!(text.contains(&format!("第{pages}页共{pages}页")), "{text}");
    assert!(text.contains("第120条意见"), "{text}");
}

#[test]
fn characters_outside_the_fonts_are_named() {
    let r = Renderer::new();
    assert_eq!(r.font_count(), 2);
    assert!(r.uncovered("随州市曾都区交通大道100号（东）①").is_empty());
    // 𠀀 (CJK extension B) is not in GB 2312.
    assert_eq!(r.uncovered("张𠀀𠀀三"), vec!['𠀀']);
}
