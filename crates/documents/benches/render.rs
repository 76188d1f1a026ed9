//! How long one official document takes to typeset: a one-page form
//! (附表2 with every service's section), a consolidated opinion sheet
//! (附表4, six departments over two rounds) and a long sheet of 120 lines
//! over several pages. Besides the criterion measurements, a timed loop of
//! 200 renders of each (as of 200 applications) prints p50, p99 and the
//! maximum, against a budget of
//! 1 s per document at p99 (a person waits for it after a click).

use criterion::Criterion;
use onestop_documents::{Block, Cell, Document, Renderer, Signature, Verification, Ymd};
use std::hint::black_box;
use std::time::{Duration, Instant};

const RENDERS: usize = 200;
const P99_BUDGET: Duration = Duration::from_secs(1);

fn base(title: &str, blocks: Vec<Block>) -> Document {
    Document {
        title: title.into(),
        subtitle: Some("申请编号：LB202612010001".into()),
        issuer: "随州市水电气网暖联动报装平台".into(),
        issued: Ymd {
            year: 2026,
            month: 12,
            day: 1,
        },
        verification: Verification {
            number: "FB2-LB202612010001-1".into(),
            hash: "3F2A-9C1B-77E0-12D4".into(),
            url: "https://onestop.example/verify/FB2-LB202612010001-1".into(),
        },
        blocks,
    }
}

fn form() -> Document {
    let row = |a: &str, b: &str, c: &str, d: &str| {
        vec![
            Cell::label(a),
            Cell::value(b),
            Cell::label(c),
            Cell::value(d),
        ]
    };
    let mut blocks = vec![Block::Grid {
        rows: vec![
            row(
                "申请单位",
                "随州市示例商贸有限公司",
                "信用代码",
                "91421300MA49ABCD17",
            ),
            vec![
                Cell::label("申请安装地址"),
                Cell::value("随州市曾都区交通大道100号").span(3),
            ],
            vec![
                Cell::label("预约接入时间"),
                Cell::value("2026年12月08日 09:00").span(3),
            ],
            row("联系人", "张三", "联系电话", "13800001111"),
            vec![
                Cell::label("申请联合报装内容"),
                Cell::value("■ 用水报装　■ 用电报装　■ 用气报装　■ 用暖报装　■ 用网报装").span(3),
            ],
        ],
    }];
    for (s, facts) in [
        ("用水", vec![("业务类型", "新开户"), ("用水量", "50 吨/日")]),
        (
            "用电",
            vec![
                ("业务类型", "新装"),
                ("主供容量", "630 kVA"),
                ("备用容量", "0 kVA"),
            ],
        ),
        ("用气", vec![("用气类别", "小型工商业用气")]),
        (
            "用暖",
            vec![("供暖类别", "集体居民供暖"), ("供暖面积", "12000 平方米")],
        ),
        (
            "用网",
            vec![
                ("建筑面积", "20000 平方米"),
                ("建筑高度", "60 米"),
                ("交付日期", "2027年06月30日"),
                ("覆盖楼栋数", "4"),
            ],
        ),
    ] {
        blocks.push(Block::Heading {
            text: format!("{s}报装资料"),
        });
        blocks.push(Block::Grid {
            rows: facts
                .chunks(2)
                .map(|p| {
                    let mut r = vec![Cell::label(p[0].0), Cell::value(p[0].1)];
                    match p.get(1) {
                        Some((k, v)) => r.extend([Cell::label(*k), Cell::value(*v)]),
                        None => r[1] = Cell::value(p[0].1).span(3),
                    }
                    r
                })
                .collect(),
        });
    }
    blocks.push(Block::Signatures {
        signatures: vec![Signature {
            label: "申请单位（盖章）".into(),
            name: Some("随州市示例商贸有限公司".into()),
            seal: Some("（盖章）".into()),
            date: Some("日期：2026年12月01日".into()),
        }],
    });
    base("随州市用户水电气网暖需求信息采集单", blocks)
}

fn sheet(lines: usize) -> Document {
    let depts = [
        "随州市自然资源和规划局",
        "随州市城市管理执法局",
        "随州市交通运输局",
        "随州市公安局交通警察支队",
        "随州市政务服务和大数据管理局",
        "随州市经济和信息化局",
    ];
    base(
        "随州市用户水电气网暖联合服务事项综合审批意见单",
        vec![Block::Table {
            header: ["审批部门", "结果", "审批意见", "签批人", "签批时间"]
                .map(String::from)
                .to_vec(),
            widths: Some(vec![2.4, 0.9, 3.0, 2.0, 1.7]),
            rows: (0..lines)
                .map(|i| {
                    vec![
                        depts[i % depts.len()].into(),
                        "同意".into(),
                        format!(
                            "第{}轮：同意按方案施工，夜间施工须提前报备，施工后恢复原貌。",
                            i / depts.len() + 1
                        ),
                        "王工（随州市某建设有限公司）".into(),
                        "2026年12月02日 13:08".into(),
                    ]
                })
                .collect(),
        }],
    )
}

fn timed(name: &str, r: &Renderer, doc: &Document) {
    // Each render of another application (its number and subtitle differ),
    // as in use: Typst's memoised layout helps only where content repeats.
    let mut times: Vec<Duration> = (0..RENDERS)
        .map(|i| {
            let mut d = doc.clone();
            d.subtitle = Some(format!("申请编号：LB2026120{:05}", i));
            d.verification.number = format!("FB2-LB2026120{i:05}-1");
            let t = Instant::now();
            black_box(r.render(&d).expect("rendered"));
            t.elapsed()
        })
        .collect();
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let (p50, p99, max) = (p(0.50), p(0.99), times[times.len() - 1]);
    let verdict = if p99 < P99_BUDGET { "within" } else { "OVER" };
    println!(
        "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {RENDERS} renders ({verdict} the {} ms budget at p99)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        P99_BUDGET.as_millis()
    );
}

fn main() {
    let r = Renderer::new();
    let docs = [
        ("form (附表2, 1 page)", form()),
        ("sheet (附表4, 12 lines)", sheet(12)),
        ("sheet (120 lines, multi-page)", sheet(120)),
    ];
    // `cargo test --all-targets` runs this without `--bench`: each document
    // once, as a check that the benchmark still works.
    if !std::env::args().any(|a| a == "--bench") {
        for (name, d) in &docs {
            assert!(r.render(d).expect(name).starts_with(b"%PDF-"), "{name}");
        }
        return;
    }
    for (name, d) in &docs {
        timed(name, &r, d);
    }
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    for (name, d) in &docs {
        c.bench_function(name, |b| {
            b.iter(|| black_box(r.render(d).expect("rendered")))
        });
    }
    c.final_summary();
}
