//! The process flowchart (附1) as SVG, drawn from the configured process
//! definition itself — so the picture cannot disagree with what the system
//! does. Stages stand in a column in the configured order; an action to the
//! next stage is a straight arrow, one that skips ahead or goes back runs in
//! a lane on the right; actions that keep the stage are written in its box;
//! an action open in many stages (cancelling) is drawn once, on the left.

use crate::texts::{self, flowchart as t};
use crate::web::{list, trim_number};
use onestop_domain::application::Stage;
use onestop_domain::config::CityConfig;
use std::fmt::Write;

const BOX_W: i32 = 240;
const BOX_H: i32 = 70;
const GAP: i32 = 56;
const LEFT: i32 = 170;
const TOP: i32 = 30;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The flowchart of `config.process`, as a standalone `<svg>` element.
pub fn svg(config: &CityConfig) -> String {
    let p = &config.process;
    let limits = &config.limits;
    let index = |code: &str| p.stages.iter().position(|s| s.code == code);
    let y_of = |i: usize| TOP + i as i32 * (BOX_H + GAP);
    let mut edges: Vec<(usize, usize, String)> = Vec::new();
    let mut in_box: Vec<Vec<String>> = vec![Vec::new(); p.stages.len()];
    let mut global: Vec<String> = Vec::new();
    for a in &p.actions {
        if a.from.len() >= 3 {
            let to = a.targets().next().unwrap_or("");
            let to_label = Stage::parse(to).map_or(to, |s| s.label_zh());
            global.push(texts::fill(
                t::FROM_ANY,
                &[
                    ("action", &a.label),
                    ("n", &a.from.len()),
                    ("to", &to_label),
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
    let height = y_of(p.stages.len()) + 40 + global.len() as i32 * 22;
    let lanes = edges.iter().filter(|(i, j, _)| *j != i + 1).count() as i32;
    let width = LEFT + BOX_W + 60 + lanes * 34 + 260;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="flow-title" class="flowchart" font-family="sans-serif" font-size="13">
<title id="flow-title">{title}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e79"/></marker></defs>
"##,
        title = t::TITLE,
    );
    for (i, s) in p.stages.iter().enumerate() {
        let y = y_of(i);
        let name = Stage::parse(&s.code).map_or(s.code.as_str(), |st| st.label_zh());
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
            r##"<g class="stage" data-stage="{code}"><rect x="{LEFT}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{fill}" stroke="#1f4e79"/>
<text x="{cx}" y="{ty}" text-anchor="middle" font-weight="bold" font-size="15">{name}</text>
<text x="{cx}" y="{ly}" text-anchor="middle" fill="#555">{limit}</text>"##,
            code = esc(&s.code),
            cx = LEFT + BOX_W / 2,
            ty = y + 24,
            ly = y + 44,
            name = esc(name),
            limit = esc(&limit),
        );
        if !in_box[i].is_empty() {
            let _ = writeln!(
                out,
                r##"<text x="{cx}" y="{y2}" text-anchor="middle" fill="#8a5a00" font-size="12">{t}</text>"##,
                cx = LEFT + BOX_W / 2,
                y2 = y + 62,
                t = esc(&texts::fill(t::IN_STAGE, &[("actions", &list(&in_box[i]))]))
            );
        }
        out.push_str("</g>\n");
    }
    let mut lane = 0;
    for (i, j, label) in &edges {
        let (yi, yj) = (y_of(*i), y_of(*j));
        if *j == i + 1 {
            let x = LEFT + BOX_W / 2;
            let _ = writeln!(
                out,
                r##"<g class="action"><line x1="{x}" y1="{a}" x2="{x}" y2="{b}" stroke="#1f4e79" stroke-width="1.6" marker-end="url(#arrow)"/><text x="{tx}" y="{ty}" fill="#1f4e79">{l}</text></g>"##,
                a = yi + BOX_H,
                b = yj,
                tx = x + 8,
                ty = yi + BOX_H + GAP / 2 + 4,
                l = esc(label)
            );
        } else {
            lane += 1;
            let lx = LEFT + BOX_W + 30 + lane * 34;
            // Each lane leaves and enters at its own height, so that lines
            // from one box stay apart.
            let step = (lane % 4) * 12;
            let (sy, ey) = (yi + 14 + step, yj + BOX_H - 14 - step);
            let dash = if j < i {
                r#" stroke-dasharray="5 4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r##"<g class="action"><path d="M{x0},{sy} H{lx} V{ey} H{x0}" fill="none" stroke="#1f4e79" stroke-width="1.4"{dash} marker-end="url(#arrow)"/><text x="{tx}" y="{ty}" fill="#1f4e79" font-size="12">{l}</text></g>"##,
                x0 = LEFT + BOX_W,
                tx = lx + 6,
                ty = (sy + ey) / 2,
                l = esc(label)
            );
        }
    }
    for (k, g) in global.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text class="global" x="20" y="{y}" fill="#a33">{t}</text>"##,
            y = y_of(p.stages.len()) + 10 + k as i32 * 22,
            t = esc(g)
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
