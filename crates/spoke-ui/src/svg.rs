//! A version's dependency graph drawn as SVG by the server: one row per
//! depth (the version on top, each dependency below everything that pins
//! it), one box per version, one arrow per pin. Colours come from the
//! stylesheet, so the graph follows the light and dark themes.

use std::collections::HashMap;
use std::fmt::Write as _;

use spoke_registry::DependencyGraph;

use crate::html::Esc;

const BOX_HEIGHT: u32 = 28;
const ROW_GAP: u32 = 44;
const COLUMN_GAP: u32 = 24;
const MARGIN: u32 = 8;
/// Width of one character of the 12px monospace labels, rounded up.
const CHAR_WIDTH: u32 = 8;

/// The graph as an inline `<svg>` image with a title naming every pin.
pub(crate) fn render(graph: &DependencyGraph) -> String {
    let labels: Vec<String> = graph
        .nodes
        .iter()
        .map(|node| format!("{}@{}", node.module, node.version))
        .collect();
    let index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| (label.as_str(), i))
        .collect();
    let edges: Vec<(usize, usize)> = graph
        .edges
        .iter()
        .filter_map(|edge| {
            let from = index.get(edge.from.to_string().as_str())?;
            let to = index.get(edge.to.to_string().as_str())?;
            Some((*from, *to))
        })
        .collect();
    // Longest distance from the root: nodes come root first, then in
    // topological order, so relaxing the edges n times settles it.
    let mut depth = vec![0usize; labels.len()];
    for _ in 0..labels.len() {
        for &(from, to) in &edges {
            depth[to] = depth[to].max(depth[from] + 1);
        }
    }
    let rows = depth.iter().max().map_or(0, |d| d + 1);
    let widths: Vec<u32> = labels
        .iter()
        .map(|label| u32::try_from(label.chars().count()).unwrap_or(200) * CHAR_WIDTH + 16)
        .collect();
    let mut positions = vec![(0u32, 0u32); labels.len()];
    let mut total_width = 0u32;
    for row in 0..rows {
        let mut x = MARGIN;
        let y = MARGIN + u32::try_from(row).unwrap_or(0) * (BOX_HEIGHT + ROW_GAP);
        for (i, _) in depth.iter().enumerate().filter(|(_, d)| **d == row) {
            positions[i] = (x, y);
            x += widths[i] + COLUMN_GAP;
        }
        total_width = total_width.max(x);
    }
    let height = MARGIN * 2 + u32::try_from(rows).unwrap_or(1) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP;
    let title = match edges.len() {
        0 => format!(
            "{} has no dependencies",
            labels.first().map_or("", String::as_str)
        ),
        _ => {
            let pins: Vec<String> = edges
                .iter()
                .map(|&(from, to)| format!("{} depends on {}", labels[from], labels[to]))
                .collect();
            pins.join("; ")
        }
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"graph\" role=\"img\" aria-labelledby=\"graph-title\" \
         xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_width}\" height=\"{height}\" \
         viewBox=\"0 0 {total_width} {height}\"><title id=\"graph-title\">{}</title>\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
         <path class=\"arrowhead\" d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>",
        Esc(&title)
    );
    for &(from, to) in &edges {
        let (fx, fy) = positions[from];
        let (tx, ty) = positions[to];
        let _ = write!(
            out,
            "<line class=\"edge\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" marker-end=\"url(#arrow)\"/>",
            fx + widths[from] / 2,
            fy + BOX_HEIGHT,
            tx + widths[to] / 2,
            ty
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = positions[i];
        let class = if i == 0 { "node root" } else { "node" };
        let _ = write!(
            out,
            "<g class=\"{class}\"><rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{BOX_HEIGHT}\" rx=\"4\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            widths[i],
            x + widths[i] / 2,
            y + BOX_HEIGHT / 2 + 4,
            Esc(label)
        );
    }
    out.push_str("</svg>");
    out
}
