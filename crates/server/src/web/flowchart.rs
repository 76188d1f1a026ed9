//! The process flowchart (附1) as SVG, drawn from the configured process
//! definition itself — so the picture cannot disagree with what the system
//! does. Stages stand in a column in the configured order; an action to the
//! next stage is a straight arrow, one that skips ahead or goes back runs in
//! a numbered lane on the right (the numbers are explained under the
//! chart); actions that keep the stage are written in its box; an action
//! open in many stages (cancelling) is written once, at the bottom.

use crate::texts::{self, flowchart as t};
use crate::web::trim_number;
use onestop_domain::application::Stage;
use onestop_domain::config::CityConfig;
use std::fmt::Write;

const BOX_W: i32 = 190;
/// A box's height without the lines of actions written in it.
const BOX_BASE_H: i32 = 52;
const LINE_H: i32 = 17;
const LEFT: i32 = 12;
const TOP: i32 = 16;
/// Room between a box's right edge and the first lane, and between lanes.
const LANE_GAP: i32 = 22;
const FONT: i32 = 14;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A label beside an arrow, in lines narrow enough to stay clear of the
/// lanes: the action, then its condition (`联合踏勘` / `（外线 ≥ 500 米）`).
fn lines(label: &str) -> Vec<&str> {
    match label.find('（') {
        Some(i) if i > 0 => vec![&label[..i], &label[i..]],
        _ => vec![label],
    }
}

/// A circled number for the lanes (①…⑳), or the number in brackets.
fn badge(n: usize) -> String {
    char::from_u32(0x2460 + n as u32 - 1)
        .filter(|_| (1..=20).contains(&n))
        .map_or_else(|| format!("({n})"), String::from)
}

/// The flowchart of `config.process`, as a standalone `<svg>` element.
///
/// Legible on a phone: the stages stand in one narrow column; an action to
/// the next stage is written beside its arrow (one line per action); an
/// action that skips ahead or goes back runs in its own lane on the right,
/// marked with a number whose meaning is listed under the chart, so that no
/// label crosses a line or another label.
pub fn svg(config: &CityConfig) -> String {
    let p = &config.process;
    let limits = &config.limits;
    let index = |code: &str| p.stages.iter().position(|s| s.code == code);
    let stage_name = |code: &str| Stage::parse(code).map_or(code, |s| s.label_zh()).to_owned();
    // (from, to, label) of every arrow; the labels kept in a stage's box.
    let mut edges: Vec<(usize, usize, String)> = Vec::new();
    let mut in_box: Vec<Vec<String>> = vec![Vec::new(); p.stages.len()];
    let mut global: Vec<String> = Vec::new();
    for a in &p.actions {
        if a.from.len() >= 3 {
            let to = a.targets().next().unwrap_or("");
            global.push(texts::fill(
                t::FROM_ANY,
                &[
                    ("action", &a.label),
                    ("n", &a.from.len()),
                    ("to", &stage_name(to)),
                ],
            ));
            continue;
        }
        for f in &a.from {
            let Some(i) = index(f) else { continue };
            let mut targets: Vec<(&str, String)> = Vec::new();
            if let Some(r) = &a.route_by_external_works {
                let m = trim_number(limits.external_works_threshold_m);
                let label = |text: &str| texts::fill(text, &[("action", &a.label), ("m", &m)]);
                targets.push((r.none.as_str(), label(t::NO_WORKS)));
                targets.push((r.below_threshold.as_str(), label(t::BELOW_THRESHOLD)));
                targets.push((
                    r.at_or_above_threshold.as_str(),
                    label(t::AT_OR_ABOVE_THRESHOLD),
                ));
                if let Some(to) = &a.to {
                    targets.push((to.as_str(), label(t::TO_DESIGN)));
                }
            } else if let Some(to) = &a.to {
                targets.push((to.as_str(), a.label.clone()));
            }
            if targets.is_empty() {
                in_box[i].push(a.label.clone());
            }
            for (t, label) in targets {
                match index(t) {
                    Some(j) if j != i => edges.push((i, j, label)),
                    Some(_) => in_box[i].push(label),
                    None => {}
                }
            }
        }
    }
    let box_h = BOX_BASE_H + LINE_H * in_box.iter().map(Vec::len).max().unwrap_or(0) as i32;
    // The room under a box: one line per action to the next stage.
    let straight = |i: usize| {
        edges
            .iter()
            .filter(|(a, b, _)| *a == i && *b == i + 1)
            .map(|(_, _, l)| lines(l).len())
            .sum::<usize>()
    };
    let most = (0..p.stages.len()).map(straight).max().unwrap_or(1).max(1) as i32;
    let gap = 22 + LINE_H * most;
    let y_of = |i: usize| TOP + i as i32 * (box_h + gap);
    let lanes = edges.iter().filter(|(i, j, _)| *j != i + 1).count() as i32;
    let width = LEFT + BOX_W + LANE_GAP * (lanes + 1) + 12;
    let bottom = y_of(p.stages.len()) - gap + 24;
    let legend_rows = lanes + global.len() as i32;
    let height = bottom + legend_rows * 22 + 12;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="flow-title" class="flowchart" font-family="sans-serif" font-size="{FONT}">
<title id="flow-title">{title}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e79"/></marker></defs>
"##,
        title = t::TITLE,
    );
    let cx = LEFT + BOX_W / 2;
    for (i, s) in p.stages.iter().enumerate() {
        let y = y_of(i);
        let limit = s
            .limit
            .as_deref()
            .and_then(|l| limits.days(l))
            .map(|d| texts::fill(t::LIMIT, &[("days", &trim_number(d))]))
            .unwrap_or_else(|| {
                if s.terminal {
                    t::TERMINAL.into()
                } else {
                    String::new()
                }
            });
        let fill = if s.terminal { "#e8f3e8" } else { "#eef4fb" };
        let _ = writeln!(
            out,
            r##"<g class="stage" data-stage="{code}"><rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{box_h}" rx="10" fill="{fill}" stroke="#1f4e79"/>
<text x="{cx}" y="{ty}" text-anchor="middle" font-weight="bold" font-size="16">{name}</text>
<text x="{cx}" y="{ly}" text-anchor="middle" fill="#3d4754">{limit}</text>"##,
            code = esc(&s.code),
            ty = y + 22,
            ly = y + 42,
            name = esc(&stage_name(&s.code)),
            limit = esc(&limit),
        );
        for (k, label) in in_box[i].iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<text x="{cx}" y="{y2}" text-anchor="middle" fill="#7a4a00" font-size="13">{t}</text>"##,
                y2 = y + 42 + LINE_H * (k as i32 + 1),
                t = esc(&texts::fill(t::IN_STAGE, &[("actions", label)]))
            );
        }
        out.push_str("</g>\n");
    }
    // Arrows to the next stage, their labels one per line beside them.
    for i in 0..p.stages.len() {
        let labels: Vec<&str> = edges
            .iter()
            .filter(|(a, b, _)| *a == i && *b == i + 1)
            .flat_map(|(_, _, l)| lines(l))
            .collect();
        if labels.is_empty() {
            continue;
        }
        let (a, b) = (y_of(i) + box_h, y_of(i + 1));
        let _ = write!(
            out,
            r##"<g class="action"><line x1="{cx}" y1="{a}" x2="{cx}" y2="{b}" stroke="#1f4e79" stroke-width="1.6" marker-end="url(#arrow)"/>"##,
        );
        for (k, l) in labels.iter().enumerate() {
            let _ = write!(
                out,
                r##"<text x="{tx}" y="{ty}" fill="#1f4e79">{l}</text>"##,
                tx = cx + 8,
                ty = a + 16 + LINE_H * k as i32,
                l = esc(l)
            );
        }
        out.push_str("</g>\n");
    }
    // Lanes on the right, each with its number; the numbers' meanings below.
    let mut legend: Vec<String> = Vec::new();
    for (i, j, label) in edges.iter().filter(|(i, j, _)| *j != i + 1) {
        let lane = legend.len() as i32 + 1;
        let n = badge(lane as usize);
        let (yi, yj) = (y_of(*i), y_of(*j));
        let lx = LEFT + BOX_W + LANE_GAP * lane;
        // Each lane leaves and enters at its own height, so that lines
        // from one box stay apart.
        let step = ((lane - 1) % 3) * 10;
        let (sy, ey) = (yi + 12 + step, yj + box_h - 12 - step);
        let dash = if j < i {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let my = (sy + ey) / 2 + ((lane - 1) % 2) * 24 - 12;
        let _ = writeln!(
            out,
            r##"<g class="action"><path d="M{x0},{sy} H{lx} V{ey} H{x0}" fill="none" stroke="#1f4e79" stroke-width="1.4"{dash} marker-end="url(#arrow)"/><circle cx="{lx}" cy="{my}" r="10" fill="#fff" stroke="#1f4e79"/><text x="{lx}" y="{ty}" text-anchor="middle" fill="#1f4e79" font-size="13">{num}</text></g>"##,
            x0 = LEFT + BOX_W,
            ty = my + 5,
            num = lane,
        );
        legend.push(texts::fill(
            t::LANE,
            &[
                ("n", &n),
                ("action", label),
                ("from", &stage_name(&p.stages[*i].code)),
                ("to", &stage_name(&p.stages[*j].code)),
            ],
        ));
    }
    for (k, line) in legend.iter().chain(global.iter()).enumerate() {
        let class = if k < legend.len() { "lane" } else { "global" };
        let fill = if k < legend.len() {
            "#1f4e79"
        } else {
            "#a32a21"
        };
        let _ = writeln!(
            out,
            r##"<text class="{class}" x="{LEFT}" y="{y}" fill="{fill}" font-size="13">{t}</text>"##,
            y = bottom + 8 + k as i32 * 22,
            t = esc(line)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_and_action_of_the_definition_is_drawn() {
        let c = CityConfig::default_city();
        let s = svg(&c);
        for st in &c.process.stages {
            assert!(
                s.contains(&format!("data-stage=\"{}\"", st.code)),
                "{}",
                st.code
            );
        }
        for a in &c.process.actions {
            assert!(s.contains(&a.label), "{} missing", a.label);
        }
        assert!(s.contains("外线 ≥ 500 米"));
        assert!(s.contains("时限 0.5 个工作日"));
        // Narrow enough for a phone held upright (a little scrolling at most).
        let width: i32 = s
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("a width");
        assert!(width <= 480, "{width}");
        // Every lane's number is explained under the chart.
        assert!(s.contains("① "), "{s}");
        // Every word shown is Chinese: no code in any label.
        for t in s.split("<text ").skip(1) {
            let shown = t
                .split('>')
                .nth(1)
                .and_then(|x| x.split('<').next())
                .unwrap_or("");
            let shown = shown
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            assert!(
                !shown.chars().any(|c| c.is_ascii_alphabetic()),
                "a code shown: {shown}"
            );
        }
    }

    #[test]
    fn no_two_labels_share_a_line() {
        let s = svg(&CityConfig::default_city());
        let mut at: Vec<(String, String)> = Vec::new();
        for t in s.split("<text ").skip(1) {
            let t = format!(" {t}");
            let attr = |name: &str| {
                t.split(&format!(" {name}=\""))
                    .nth(1)
                    .and_then(|v| v.split('"').next())
                    .unwrap_or("")
                    .to_owned()
            };
            let x = attr("x");
            let y = attr("y");
            // Labels in the same box or legend share x but never y.
            assert!(
                !at.contains(&(x.clone(), y.clone())),
                "two labels at {x},{y}: {s}"
            );
            at.push((x, y));
        }
    }

    #[test]
    fn a_changed_definition_changes_the_picture() {
        let mut c = CityConfig::default_city();
        c.limits.external_works_threshold_m = 150.0;
        c.process.actions.iter_mut().for_each(|a| {
            if a.code == "accept" {
                a.label = "受理<审核>".into();
            }
        });
        let s = svg(&c);
        assert!(s.contains("外线 ≥ 150 米"));
        assert!(s.contains("受理&lt;审核&gt;"), "labels are escaped");
        assert!(!s.contains("受理<审核>"));
    }
}
