//! Writes a sample document to a file, to look at the layout:
//! `cargo run -p onestop-documents --example sample -- /tmp/sample.pdf`.

use onestop_documents::{Block, Cell, Document, Renderer, Signature, Verification, Ymd};

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sample.pdf".into());
    let doc = Document {
        title: "随州市水电气网暖联动报装受理回执".into(),
        subtitle: Some("申请编号：LB202612010001".into()),
        issuer: "随州市水电气网暖联动报装平台".into(),
        issued: Ymd { year: 2026, month: 12, day: 1 },
        verification: Verification {
            number: "HZ-LB202612010001-1".into(),
            hash: "3F2A-9C1B-77E0-12D4".into(),
            url: "https://onestop.example/verify/HZ-LB202612010001-1".into(),
        },
        blocks: vec![
            Block::Paragraph {
                text: "随州市示例商贸有限公司：你单位于 2026年12月01日 10:00 提交的水电气网暖联合报装申请已收到，各公用事业单位同时受理，办理时限如下。".into(),
            },
            Block::Grid {
                rows: vec![
                    vec![Cell::label("申请编号"), Cell::value("LB202612010001"), Cell::label("提交时间"), Cell::value("2026年12月01日 10:00")],
                    vec![Cell::label("申请单位"), Cell::value("随州市示例商贸有限公司"), Cell::label("信用代码"), Cell::value("91421300MA49ABCD17")],
                    vec![Cell::label("申请安装地址"), Cell::value("随州市曾都区交通大道100号").span(3)],
                    vec![Cell::label("联系人"), Cell::value("张三"), Cell::label("联系电话"), Cell::value("13800001111")],
                ],
            },
            Block::Heading { text: "各单位工单".into() },
            Block::Table {
                header: ["业务", "承办单位", "当前状态", "办理时限"].map(String::from).to_vec(),
                widths: Some(vec![1.4, 2.4, 1.2, 2.4]),
                rows: vec![
                    ["用水", "随州市水务集团", "待受理", "2026年12月02日 10:00"].map(String::from).to_vec(),
                    ["用电", "国网随州供电公司", "待受理", "2026年12月02日 10:00"].map(String::from).to_vec(),
                ],
            },
            Block::List {
                items: vec!["凭申请编号和查询码可在平台“办理进度查询”页面或任一共享营业厅窗口查询办理进度。".into()],
            },
            Block::Signatures {
                signatures: vec![Signature {
                    label: "受理单位（盖章）".into(),
                    name: Some("随州市水电气网暖联动报装平台".into()),
                    seal: Some("（盖章）".into()),
                    date: Some("日期：2026年12月01日".into()),
                }],
            },
        ],
    };
    let pdf = Renderer::new().render(&doc).expect("rendered");
    std::fs::write(&out, pdf).expect("written");
    println!("{out}");
}
