//! `report.svg`: finality latency per height across the honest validators — median and worst — with
//! the heights that needed more than one round marked, drawn from a [`Report`]'s
//! [`per_height`](Report::per_height) with plotters' SVG backend.
//!
//! Each height is one circle on the median line, so a reader (or a test) counts heights by circles;
//! a height decided after round 0 also gets a triangle on the worst line.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::report::Report;

/// The plot's size in pixels: wide enough for a few hundred heights.
const SIZE: (u32, u32) = (960, 540);
/// Headroom above the worst latency, so the top points are not on the frame.
const HEADROOM: f64 = 1.1;

/// The plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the finality latency plot: {0}")]
pub struct PlotError(String);

/// Where the plot of a report written to `report` goes: the same stem, `.svg`.
///
/// ```
/// use std::path::Path;
/// use quorumnet::devnet::plot::svg_path;
///
/// assert_eq!(svg_path(Path::new("out/report.json")), Path::new("out/report.svg"));
/// ```
pub fn svg_path(report: &Path) -> PathBuf {
    report.with_extension("svg")
}

/// The SVG document plotting `report`'s finality latency per height.
///
/// # Errors
/// [`PlotError`] if plotters cannot lay the chart out.
pub fn svg(report: &Report) -> Result<String, PlotError> {
    let mut out = String::new();
    draw(report, &mut out).map_err(|error| PlotError(error.to_string()))?;
    Ok(out)
}

fn draw(report: &Report, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let heights = &report.per_height;
    let last = heights.last().map_or(1.0, |h| h.height as f64);
    let worst = heights.iter().map(|h| h.max_ms).fold(1.0, f64::max) * HEADROOM;
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let time = if report.virtual_time { "virtual" } else { "wall-clock" };
    let caption = format!(
        "Finality latency per height: {} validators on {} ({} byzantine), seed {}",
        report.validators,
        report.transport.name(),
        report.byzantine_validators,
        report.seed
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..last + 0.5, 0.0..worst)?;
    chart.configure_mesh().x_desc("height").y_desc(format!("finality latency, ms ({time})")).draw()?;
    let p50: Vec<(f64, f64)> = heights.iter().map(|h| (h.height as f64, h.p50_ms)).collect();
    let max: Vec<(f64, f64)> = heights.iter().map(|h| (h.height as f64, h.max_ms)).collect();
    chart
        .draw_series(LineSeries::new(max.clone(), RED))?
        .label("max over honest validators")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(p50.clone(), BLUE))?
        .label("p50 over honest validators (one circle per height)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
    chart.draw_series(p50.iter().map(|&point| Circle::new(point, 3, BLUE.filled())))?;
    let extra_rounds = heights.iter().zip(&max).filter(|(h, _)| h.round > 0).map(|(_, &point)| point);
    chart
        .draw_series(extra_rounds.map(|point| TriangleMarker::new(point, 6, RED.filled())))?
        .label("decided after round 0")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, RED.filled()));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
