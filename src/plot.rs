//! `plot`: a training run's `log.csv` as an SVG picture, one panel per quantity against the
//! step: the losses, the discriminator's outputs D(HR) and D(SR), and the validation PSNR
//! and LPIPS. Per-step columns are averaged over buckets of steps (at most `BUCKETS` points
//! a line), so that a long run's noise does not hide its trend; validations are drawn as
//! they are. Panels with nothing to show (a discriminator in an SRResNet run) are left out.

use crate::error::Result;
use crate::fail;
use std::fmt::Write;

const BUCKETS: usize = 400;
const WIDTH: f64 = 900.0;
const PANEL: f64 = 200.0;
/// Margins of a panel's plotting area: left (tick labels), right (legend), top (title),
/// bottom (step labels).
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 30.0;

/// log.csv as columns by name; empty cells are None.
pub struct Log {
    names: Vec<String>,
    rows: Vec<Vec<Option<f64>>>,
}

impl Log {
    pub fn parse(text: &str) -> Result<Log> {
        let mut lines = text.lines();
        let names: Vec<String> = match lines.next() {
            Some(h) if h.starts_with("step,") => h.split(',').map(String::from).collect(),
            _ => return fail!("not a training log: its first line should start with 'step,'"),
        };
        let rows = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').map(|v| v.trim().parse().ok()).collect())
            .collect();
        Ok(Log { names, rows })
    }

    /// The step of the last row that has one (0 for none).
    pub fn last_step(&self) -> f64 {
        self.rows
            .iter()
            .rev()
            .find_map(|r| r.first().copied()?)
            .unwrap_or(0.0)
    }

    /// (step, value) of every row that has both.
    pub fn series(&self, name: &str) -> Vec<(f64, f64)> {
        let Some(i) = self.names.iter().position(|n| n == name) else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter_map(|r| Some((r.first().copied()??, r.get(i).copied()??)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    }
}

/// Means over consecutive buckets of points, at most BUCKETS of them.
fn smooth(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let size = points.len().div_ceil(BUCKETS).max(1);
    points
        .chunks(size)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|p| p.0).sum::<f64>() / n,
                c.iter().map(|p| p.1).sum::<f64>() / n,
            )
        })
        .collect()
}

struct Line {
    label: &'static str,
    colour: &'static str,
    points: Vec<(f64, f64)>,
}

/// The picture of `log` as SVG; `title` goes on top.
pub fn svg(log: &Log, title: &str) -> Result<String> {
    let line = |label, colour, column: &str, smoothed: bool| {
        let points = log.series(column);
        Line {
            label,
            colour,
            points: if smoothed { smooth(&points) } else { points },
        }
    };
    let adversarial = log.series("loss_d").iter().any(|p| p.1 != 0.0);
    let mut panels = vec![(
        "losses of the generator",
        vec![
            line("content", "#1f77b4", "content", true),
            line("total", "#000000", "loss_g", true),
        ],
    )];
    if adversarial {
        panels.push((
            "adversarial losses",
            vec![
                line("-log D(SR)", "#d62728", "adversarial", true),
                line("discriminator", "#2ca02c", "loss_d", true),
            ],
        ));
        panels.push((
            "discriminator outputs",
            vec![
                line("D(HR)", "#2ca02c", "d_real", true),
                line("D(SR)", "#d62728", "d_fake", true),
            ],
        ));
    }
    panels.push((
        "validation PSNR (dB, higher is better)",
        vec![line("PSNR", "#000000", "val_psnr", false)],
    ));
    panels.push((
        "validation LPIPS (lower is better)",
        vec![line("LPIPS", "#9467bd", "val_lpips", false)],
    ));
    panels.retain(|(_, lines)| lines.iter().any(|l| !l.points.is_empty()));
    if panels.is_empty() {
        return fail!("the log has no rows to plot");
    }
    let steps = log.last_step().max(1.0);
    let height = 30.0 + PANEL * panels.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"20\" font-size=\"15\">{}</text>\n",
        escape(title)
    );
    for (k, (name, lines)) in panels.iter().enumerate() {
        panel(&mut s, 30.0 + k as f64 * PANEL, name, lines, steps);
    }
    s += "</svg>\n";
    Ok(s)
}

/// One panel at height `y0`: frame, title, ticks, lines and their legend.
fn panel(s: &mut String, y0: f64, title: &str, lines: &[Line], steps: f64) {
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    let (top, bottom) = (y0 + TOP, y0 + PANEL - BOTTOM);
    let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    // A flat line still gets a band to sit in.
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let px = |step: f64| x0 + (x1 - x0) * step / steps;
    let py = |v: f64| bottom - (bottom - top) * (v - lo) / (hi - lo);
    let _ = writeln!(
        s,
        "<text x=\"{x0}\" y=\"{}\" font-weight=\"bold\">{}</text>\n\
         <rect x=\"{x0}\" y=\"{top}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
        top - 8.0,
        escape(title),
        x1 - x0,
        bottom - top
    );
    for i in 0..=4 {
        let v = lo + (hi - lo) * i as f64 / 4.0;
        let step = steps * i as f64 / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x0 - 6.0,
            py(v) + 4.0,
            number(v, hi - lo),
            px(step),
            bottom + 16.0,
            step.round()
        );
    }
    for (i, l) in lines.iter().enumerate() {
        if l.points.is_empty() {
            continue;
        }
        let path: Vec<String> = l
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" points=\"{}\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
            l.colour,
            path.join(" "),
            x1 + 10.0,
            top + 14.0 + 16.0 * i as f64,
            l.colour,
            escape(l.label)
        );
        // Sparse lines (validations) get their points marked.
        if l.points.len() <= 60 {
            for &(x, y) in &l.points {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"/>",
                    px(x),
                    py(y),
                    l.colour
                );
            }
        }
    }
}

/// A tick label with as many decimals as the axis' range needs.
fn number(v: f64, range: f64) -> String {
    let decimals = (2.0 - range.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
