//! The load test's chart: request rate and latency, task counts and queue depths over time, as
//! three stacked panels sharing the time axis, written as `chart.svg`.
//!
//! SVG only: browsers and code hosts render it (a `summary.md` shows it inline), it stays sharp
//! at any zoom, and its text is text. A PNG used to be written beside it, which took a bitmap
//! backend of our own (plotters draws bitmap text badly) and a PNG encoder for a copy of the
//! same picture. A PNG, when one is wanted, is `rsvg-convert chart.svg -o chart.png` away.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use plotters::chart::DualCoordChartContext;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::timeline::{Marker, Sample, Tasks};

/// The image size in pixels.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 900;

/// The font plotters measures text with when it lays the chart out (titles that fit, label areas,
/// marker labels that do not overlap), from the Debian package `fonts-dejavu-core`, read at run
/// time with ab_glyph (pure Rust) rather than through fontconfig and freetype. The SVG names the
/// generic `sans-serif` family, and viewers draw it with their own.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Titles are measured in the same package's bold face when it is there (the regular otherwise).
const BOLD_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
/// The family the font is registered under; SVG viewers use their own sans-serif.
const FAMILY: &str = "sans-serif";
/// The column right of each panel that holds its legend, so that no legend hides data.
const LEGEND_WIDTH: u32 = 190;

/// Line colours: matplotlib's default cycle, which reads well on white.
mod colour {
    use plotters::style::RGBColor;

    pub const BLUE: RGBColor = RGBColor(31, 119, 180);
    pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
    pub const GREEN: RGBColor = RGBColor(44, 160, 44);
    pub const RED: RGBColor = RGBColor(214, 39, 40);
    pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
    pub const LIGHT_BLUE: RGBColor = RGBColor(120, 170, 220);
    pub const LIGHT_GREEN: RGBColor = RGBColor(130, 210, 120);
    /// Markers, notes and legend details.
    pub const GREY: RGBColor = RGBColor(90, 90, 90);
}

type Coord = Cartesian2d<RangedCoordf64, RangedCoordf64>;
type Chart<'a, DB> = DualCoordChartContext<'a, DB, Coord, Coord>;

/// Draws the timeline to `svg` (overwritten). A timeline of fewer than two samples still makes an
/// image, saying so.
pub fn render(
    title: &str,
    samples: &[Sample],
    markers: &[Marker],
    svg: &Path,
) -> anyhow::Result<()> {
    register_fonts()?;
    let root = SVGBackend::new(svg, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, title, samples, markers)?;
    root.present()
        .with_context(|| format!("cannot write {}", svg.display()))
}

/// Registers [`FONT`] (and the bold face if present) with plotters, once per process.
fn register_fonts() -> anyhow::Result<()> {
    static FONTS: OnceLock<Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = std::fs::read(FONT).map_err(|error| {
                format!(
                    "cannot read the chart font {FONT}: {error} \
                     (it comes with the Debian package fonts-dejavu-core)"
                )
            })?;
            if !register(FontStyle::Normal, regular) {
                return Err(format!("{FONT} is not a TrueType font that can be read"));
            }
            // Without it, titles are measured in the regular face.
            if let Ok(bold) = std::fs::read(BOLD_FONT) {
                register(FontStyle::Bold, bold);
            }
            Ok(())
        })
        .clone()
        .map_err(|message| anyhow!("{message}"))
}

/// Registers a face with plotters, which keeps fonts for the life of the process, hence the leak
/// (of one file per face, once).
fn register(style: FontStyle, bytes: Vec<u8>) -> bool {
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, style, bytes).is_ok()
}

/// One line on a panel: a value per sample, `None` where it was not measured.
struct Line {
    name: String,
    /// A second, smaller legend line.
    detail: Option<String>,
    color: RGBColor,
    dashed: bool,
    /// Plotted against the panel's right-hand axis.
    secondary: bool,
    /// A count that holds its value until the next sample (drawn as steps).
    step: bool,
    points: Vec<(f64, Option<f64>)>,
}

impl Line {
    fn new(
        name: impl Into<String>,
        color: RGBColor,
        samples: &[Sample],
        value: impl Fn(&Sample) -> Option<f64>,
    ) -> Self {
        Self {
            name: name.into(),
            detail: None,
            color,
            dashed: false,
            secondary: false,
            step: false,
            points: samples
                .iter()
                .map(|sample| {
                    let value = value(sample).filter(|value| value.is_finite());
                    (sample.elapsed_s, value)
                })
                .collect(),
        }
    }

    fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    fn secondary(mut self) -> Self {
        self.secondary = true;
        self
    }

    fn step(mut self) -> Self {
        self.step = true;
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn has_data(&self) -> bool {
        self.points.iter().any(|(_, value)| value.is_some())
    }

    fn max(&self) -> f64 {
        self.points
            .iter()
            .filter_map(|(_, value)| *value)
            .fold(0.0, f64::max)
    }
}

/// The runs of consecutive measured points: a gap in the data is a gap in the line.
fn segments(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for &(x, value) in points {
        match value {
            Some(y) if x.is_finite() => run.push((x, y)),
            _ if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            _ => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// A run as steps: each value holds until the next sample, where the line jumps.
fn steps(run: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(run.len() * 2);
    for (index, &(x, y)) in run.iter().enumerate() {
        if let Some(&(_, previous)) = index.checked_sub(1).and_then(|i| run.get(i))
            && previous != y
        {
            points.push((x, previous));
        }
        points.push((x, y));
    }
    points
}

struct Panel {
    title: &'static str,
    y_desc: &'static str,
    /// The right-hand axis's description, if any line uses it.
    secondary_desc: Option<&'static str>,
    /// Counts: integer ticks.
    integer: bool,
    lines: Vec<Line>,
    /// Shown when no line has data.
    unmeasured: &'static str,
}

fn tasks_lines(
    lines: &mut Vec<Line>,
    service: &str,
    colors: (RGBColor, RGBColor),
    samples: &[Sample],
    tasks: impl Fn(&Sample) -> Option<Tasks>,
) {
    lines.push(
        Line::new(format!("{service} desired"), colors.0, samples, |s| {
            tasks(s).map(|t| t.desired as f64)
        })
        .dashed()
        .step(),
    );
    lines.push(
        Line::new(format!("{service} running"), colors.0, samples, |s| {
            tasks(s).map(|t| t.running as f64)
        })
        .step(),
    );
    if samples
        .iter()
        .any(|s| tasks(s).is_some_and(|t| t.pending > 0))
    {
        lines.push(
            Line::new(format!("{service} pending"), colors.1, samples, |s| {
                tasks(s).map(|t| t.pending as f64)
            })
            .step(),
        );
    }
}

fn panels(samples: &[Sample]) -> [Panel; 3] {
    let mut traffic = vec![Line::new("requests/s", colour::BLUE, samples, |s| {
        Some(s.requests_per_s)
    })];
    let peak_error = samples
        .iter()
        .map(|s| s.error_rate)
        .filter(|rate| rate.is_finite())
        .fold(0.0, f64::max);
    if peak_error > 0.0 {
        traffic.push(
            Line::new("failed requests/s", colour::RED, samples, |s| {
                Some(s.requests_per_s * s.error_rate)
            })
            .detail(format!("peak {:.1} % of requests", peak_error * 100.0)),
        );
    }
    traffic.push(
        Line::new("p95 latency", colour::ORANGE, samples, |s| s.p95_ms)
            .detail("ms, right-hand axis")
            .secondary(),
    );

    let ecs = samples
        .iter()
        .any(|s| s.web.is_some() || s.worker.is_some());
    let local = samples.iter().any(|s| s.busy_workers.is_some());
    let mut tasks = Vec::new();
    tasks_lines(
        &mut tasks,
        "web",
        (colour::BLUE, colour::LIGHT_BLUE),
        samples,
        |s| s.web,
    );
    tasks_lines(
        &mut tasks,
        "worker",
        (colour::GREEN, colour::LIGHT_GREEN),
        samples,
        |s| s.worker,
    );
    tasks.push(
        Line::new("busy workers", colour::PURPLE, samples, |s| {
            s.busy_workers.map(|n| n as f64)
        })
        .step(),
    );

    let count = |n: Option<i64>| n.map(|n| n as f64);
    let queue = vec![
        Line::new("visible", colour::BLUE, samples, |s| count(s.queue_visible)),
        Line::new("in flight", colour::ORANGE, samples, |s| {
            count(s.queue_in_flight)
        }),
        Line::new("dead letter", colour::RED, samples, |s| {
            count(s.dead_letter)
        }),
    ];

    [
        Panel {
            title: "Traffic: request rate and p95 latency",
            y_desc: "requests/s",
            secondary_desc: Some("p95 latency (ms)"),
            integer: false,
            lines: traffic,
            unmeasured: "no requests measured",
        },
        Panel {
            title: match (ecs, local) {
                (true, _) => "ECS tasks: desired (dashed) and running",
                (false, true) => "Busy workers",
                (false, false) => "Tasks",
            },
            y_desc: if ecs { "tasks" } else { "workers" },
            secondary_desc: None,
            integer: true,
            lines: tasks,
            unmeasured: "not measured for this target",
        },
        Panel {
            title: "Queue depth",
            y_desc: "messages",
            secondary_desc: None,
            integer: true,
            lines: queue,
            unmeasured: "not measured for this target",
        },
    ]
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[Sample],
    markers: &[Marker],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    // Smaller type for a title too long for the width (a long target URL, say); cut if need be.
    let fits = |text: &str, size: u32| -> anyhow::Result<bool> {
        let style = TextStyle::from((FAMILY, size, FontStyle::Bold).into_font());
        Ok(root.estimate_text_size(text, &style)?.0 + 20 <= root.dim_in_pixel().0)
    };
    let mut size = 22;
    while size > 12 && !fits(title, size)? {
        size -= 2;
    }
    let mut shown = title.to_owned();
    if !fits(&shown, size)? {
        while !shown.is_empty() && !fits(&format!("{shown}…"), size)? {
            shown.pop();
        }
        shown.push('…');
    }
    let body = root.titled(&shown, (FAMILY, size, FontStyle::Bold))?;

    let finite = |x: &f64| x.is_finite();
    let times = samples
        .iter()
        .map(|s| s.elapsed_s)
        .chain(markers.iter().map(|m| m.elapsed_s));
    let start = times.clone().filter(finite).fold(0.0, f64::min);
    let end = times.filter(finite).fold(start, f64::max);
    // At least ten seconds, so that ticks stay whole seconds.
    let x_range = (start, end.max(start + 10.0));

    let note = match samples.len() {
        0 => Some("no samples".to_owned()),
        1 => Some("only 1 sample: nothing to chart over time".to_owned()),
        _ => None,
    };
    for (index, (area, panel)) in body
        .split_evenly((3, 1))
        .iter()
        .zip(panels(samples))
        .enumerate()
    {
        draw_panel(area, &panel, x_range, markers, index == 0, note.as_deref())?;
    }
    Ok(())
}

/// The top of a y axis: a little headroom over the largest value; whole numbers for counts.
fn axis_top(max: f64, integer: bool) -> f64 {
    if integer {
        (max * 1.15).ceil().max(max + 1.0).max(2.0)
    } else if max > 0.0 {
        max * 1.15
    } else {
        1.0
    }
}

fn tick_label(top: f64, integer: bool) -> impl Fn(&f64) -> String {
    move |value: &f64| {
        if integer || top >= 20.0 {
            format!("{value:.0}")
        } else if top >= 2.0 {
            format!("{value:.1}")
        } else {
            format!("{value:.2}")
        }
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    (x_min, x_max): (f64, f64),
    markers: &[Marker],
    top: bool,
    note: Option<&str>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let lines: Vec<&Line> = panel.lines.iter().filter(|line| line.has_data()).collect();
    let max = |secondary: bool| {
        lines
            .iter()
            .filter(|line| line.secondary == secondary)
            .map(|line| line.max())
            .fold(0.0, f64::max)
    };
    let y_top = axis_top(max(false), panel.integer);
    let y2_top = axis_top(max(true), false);

    let (plot_area, legend_area) =
        area.split_horizontally(area.dim_in_pixel().0.saturating_sub(LEGEND_WIDTH));
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(panel.title, (FAMILY, 16, FontStyle::Bold))
        .margin_left(12)
        .margin_bottom(6)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(x_min..x_max, 0.0..y_top)?
        .set_secondary_coord(x_min..x_max, 0.0..y2_top);

    let y_ticks = if panel.integer {
        (y_top as usize + 1).min(11)
    } else {
        8
    };
    let y_label = tick_label(y_top, panel.integer);
    let x_label = |seconds: &f64| format!("{seconds:.0}");
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc(panel.y_desc)
        .x_labels(12)
        .y_labels(y_ticks)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    if let Some(desc) = panel.secondary_desc {
        let y2_label = tick_label(y2_top, false);
        chart
            .configure_secondary_axes()
            .y_desc(desc)
            .y_labels(8)
            .y_label_formatter(&y2_label)
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()?;
    }

    let markers: Vec<&Marker> = markers.iter().filter(|m| m.elapsed_s.is_finite()).collect();
    for marker in &markers {
        let x = marker.elapsed_s;
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, y_top)],
            6,
            4,
            colour::GREY.stroke_width(1),
        ))?;
    }
    if top {
        draw_marker_labels(&mut chart, &markers, y_top)?;
    }

    for line in &lines {
        draw_line(&mut chart, line)?;
    }

    let mut legend: Vec<LegendEntry> = lines
        .iter()
        .map(|line| LegendEntry {
            name: &line.name,
            detail: line.detail.as_deref(),
            style: line.color.stroke_width(2),
            dashed: line.dashed,
        })
        .collect();
    if top && !markers.is_empty() {
        legend.push(LegendEntry {
            name: "event",
            detail: Some("labelled at the top"),
            style: colour::GREY.stroke_width(1),
            dashed: true,
        });
    }
    // Level with the plot's top edge.
    let legend_top = chart.plotting_area().get_pixel_range().1.start - area.get_base_pixel().1;
    draw_legend(&legend_area, &legend, legend_top)?;

    if let Some(note) = note.or(lines.is_empty().then_some(panel.unmeasured)) {
        let style = (FAMILY, 18)
            .into_font()
            .color(&colour::GREY)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let center = ((x_min + x_max) / 2.0, y_top / 2.0);
        chart.draw_series(std::iter::once(Text::new(note.to_owned(), center, style)))?;
    }
    Ok(())
}

struct LegendEntry<'a> {
    name: &'a str,
    detail: Option<&'a str>,
    style: ShapeStyle,
    dashed: bool,
}

/// A legend as a column of entries: a stretch of the line, its name, and any detail below.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry<'_>],
    top: i32,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let name_style = TextStyle::from((FAMILY, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let detail_style = TextStyle::from((FAMILY, 11).into_font())
        .color(&colour::GREY)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut y = top + 8;
    for entry in entries {
        let ends = vec![(8, y), (36, y)];
        if entry.dashed {
            area.draw(&DashedPathElement::new(ends, 6, 3, entry.style))?;
        } else {
            area.draw(&PathElement::new(ends, entry.style))?;
        }
        area.draw_text(entry.name, &name_style, (44, y))?;
        y += 17;
        if let Some(detail) = entry.detail {
            area.draw_text(detail, &detail_style, (44, y - 2))?;
            y += 15;
        }
    }
    Ok(())
}

/// Labels the markers at the top of the plot, each beside its line, in as many rows as it takes
/// for labels not to overlap.
fn draw_marker_labels<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    markers: &[&Marker],
    y_top: f64,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FAMILY, 12).into_font()).color(&BLACK);
    let (x_pixels, _) = chart.plotting_area().get_pixel_range();
    let mut sorted = markers.to_vec();
    sorted.sort_by(|a, b| a.elapsed_s.total_cmp(&b.elapsed_s));
    // The right-most pixel taken in each row so far.
    let mut rows: Vec<i32> = Vec::new();
    for marker in sorted {
        let (width, height) = chart
            .plotting_area()
            .estimate_text_size(&marker.label, &style)?;
        let (width, height) = (width as i32, height as i32);
        let (line_x, _) = chart.backend_coord(&(marker.elapsed_s, y_top));
        // Right of the line, or left of it when that would run off the plot.
        let dx = if line_x + 4 + width <= x_pixels.end {
            4
        } else {
            -4 - width
        };
        let (left, right) = (line_x + dx - 2, line_x + dx + width + 2);
        let row = match rows.iter().position(|&end| end < left) {
            Some(row) => row,
            None => {
                rows.push(i32::MIN);
                rows.len() - 1
            }
        };
        rows[row] = right;
        let dy = 4 + row as i32 * (height + 6);
        chart.draw_series(std::iter::once(
            EmptyElement::at((marker.elapsed_s, y_top))
                + Rectangle::new(
                    [(dx - 2, dy - 2), (dx + width + 2, dy + height + 3)],
                    WHITE.mix(0.85).filled(),
                )
                + Text::new(marker.label.clone(), (dx, dy), style.clone()),
        ))?;
    }
    Ok(())
}

/// Draws a line's runs of measured points; a lone point as a dot.
fn draw_line<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, line: &Line) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let style = line.color.stroke_width(2);
    for run in segments(&line.points) {
        let run = if line.step { steps(&run) } else { run };
        match (run.as_slice(), line.dashed, line.secondary) {
            (&[point], _, false) => {
                chart.draw_series([Circle::new(point, 3, line.color.filled())])?;
            }
            (&[point], _, true) => {
                chart.draw_secondary_series([Circle::new(point, 3, line.color.filled())])?;
            }
            (_, false, false) => {
                chart.draw_series(LineSeries::new(run, style))?;
            }
            (_, false, true) => {
                chart.draw_secondary_series(LineSeries::new(run, style))?;
            }
            (_, true, false) => {
                chart.draw_series(DashedLineSeries::new(run, 8, 5, style))?;
            }
            (_, true, true) => {
                chart.draw_secondary_series(DashedLineSeries::new(run, 8, 5, style))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(desired: i64, running: i64, pending: i64) -> Tasks {
        Tasks {
            desired,
            running,
            pending,
        }
    }

    /// A minute of a scale-out at 5-second samples: load rises, p95 climbs, the web service goes
    /// from 1 to 3 tasks and the queue drains; one p95 gap and a few errors.
    fn aws_timeline() -> (Vec<Sample>, Vec<Marker>) {
        let samples = (0..60)
            .map(|i| {
                let t = i as f64 * 5.0;
                let web_desired = if i < 20 { 1 } else { 3 };
                let web_running = if i < 26 { 1 } else { 3 };
                let worker_desired = if i < 30 { 1 } else { 2 };
                Sample {
                    elapsed_s: t,
                    requests_per_s: (i as f64 * 2.0).min(80.0) + (i % 3) as f64,
                    p95_ms: (i != 12)
                        .then_some(120.0 + 400.0 * (-(i as f64 - 25.0).powi(2) / 60.0).exp()),
                    error_rate: if (18..24).contains(&i) { 0.02 } else { 0.0 },
                    web: Some(tasks(web_desired, web_running, web_desired - web_running)),
                    worker: Some(tasks(worker_desired, worker_desired.min(1 + i / 34), 0)),
                    busy_workers: None,
                    queue_visible: Some((40 - i).max(0)),
                    queue_in_flight: Some(if i < 40 { 2 } else { 0 }),
                    dead_letter: Some(if i > 30 { 1 } else { 0 }),
                }
            })
            .collect();
        let markers = vec![
            Marker {
                elapsed_s: 100.0,
                label: "web scale-out 1 → 3".to_owned(),
            },
            Marker {
                elapsed_s: 150.0,
                label: "worker scale-out 1 → 2".to_owned(),
            },
            Marker {
                elapsed_s: 160.0,
                label: "close by".to_owned(),
            },
            Marker {
                elapsed_s: 295.0,
                label: "web scale-in 3 → 1".to_owned(),
            },
        ];
        (samples, markers)
    }

    fn local_timeline() -> Vec<Sample> {
        (0..30)
            .map(|i| Sample {
                elapsed_s: i as f64 * 2.0,
                requests_per_s: 10.0,
                p95_ms: if i < 3 { None } else { Some(35.0) },
                busy_workers: Some((i % 5).min(4)),
                queue_visible: Some(30 - i),
                queue_in_flight: Some(if i % 7 == 0 { 0 } else { 3 }),
                dead_letter: None,
                ..Sample::default()
            })
            .collect()
    }

    fn render_to(dir: &Path, title: &str, samples: &[Sample], markers: &[Marker]) -> String {
        let svg = dir.join("chart.svg");
        render(title, samples, markers, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains(&format!(r#"width="{WIDTH}" height="{HEIGHT}""#)),
            "{text:.300}"
        );
        text
    }

    #[test]
    fn renders_an_aws_timeline_with_markers() {
        let dir = tempfile::tempdir().unwrap();
        let (samples, markers) = aws_timeline();
        let svg = render_to(dir.path(), "Load test: web", &samples, &markers);
        assert!(svg.contains("<svg"), "{svg:.200}");
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Load test: web",
            "Traffic: request rate and p95 latency",
            "ECS tasks: desired (dashed) and running",
            "Queue depth",
            "web scale-out 1 → 3",
            "failed requests/s",
            "peak 2.0 % of requests",
            "worker running",
            "dead letter",
        ] {
            assert!(svg.contains(text), "the SVG lacks {text:?}");
        }
        assert!(!svg.contains("busy workers"));
        assert!(
            !svg.contains("worker pending"),
            "no worker task was ever pending"
        );
    }

    #[test]
    fn renders_a_local_timeline() {
        let dir = tempfile::tempdir().unwrap();
        let svg = render_to(
            dir.path(),
            &"Load test: a long title ".repeat(8),
            &local_timeline(),
            &[],
        );
        assert!(svg.contains("Busy workers"));
        assert!(svg.contains("busy workers"));
        assert!(!svg.contains("web desired"));
        assert!(
            !svg.contains("dead letter"),
            "never measured, so not in the legend"
        );
        assert!(!svg.contains("failed requests"), "no errors");
    }

    #[test]
    fn renders_empty_timelines() {
        let dir = tempfile::tempdir().unwrap();
        let svg = render_to(dir.path(), "Load test: nothing", &[], &[]);
        assert!(svg.contains("no samples"));
        let one = [Sample {
            elapsed_s: 3.0,
            requests_per_s: 5.0,
            ..Sample::default()
        }];
        let svg = render_to(dir.path(), "Load test: one", &one, &[]);
        assert!(svg.contains("only 1 sample"));
    }

    #[test]
    fn says_what_a_target_did_not_measure() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                elapsed_s: i as f64,
                requests_per_s: 3.0,
                p95_ms: Some(20.0),
                ..Sample::default()
            })
            .collect();
        let svg = render_to(dir.path(), "Load test: a URL", &samples, &[]);
        assert_eq!(svg.matches("not measured for this target").count(), 2);
    }

    #[test]
    fn gaps_split_lines_instead_of_dropping_to_zero() {
        let points = [
            (0.0, Some(1.0)),
            (1.0, None),
            (2.0, Some(2.0)),
            (3.0, Some(3.0)),
            (4.0, None),
            (5.0, None),
        ];
        assert_eq!(
            segments(&points),
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]
        );
        assert!(segments(&[(0.0, None)]).is_empty());
    }
}
