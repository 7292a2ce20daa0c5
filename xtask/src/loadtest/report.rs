//! The write-up of a load test: a line per sample while it runs, then `timeline.csv`,
//! `summary.json`, `summary.md`, the chart, and the final table.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::timeline::{self, Marker, Sample, Tasks};
use super::{chart, k6};
use crate::console;
use crate::flags::{LoadtestArgs, Scenario};

/// What a run produced, for the report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub target: String,
    pub samples: Vec<Sample>,
    pub markers: Vec<Marker>,
    pub k6: Option<k6::Summary>,
    pub worker_runs: Vec<WorkerRun>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.k6.as_ref().is_none_or(k6::Summary::thresholds_held)
            && self.worker_runs.iter().all(|run| run.failed == 0)
    }
}

/// One worker-scenario run.
#[derive(Debug, Clone)]
pub struct WorkerRun {
    pub concurrency: usize,
    pub videos: u32,
    pub failed: i64,
    pub drained_in: Duration,
    pub mean_service: Duration,
}

impl WorkerRun {
    pub fn videos_per_minute(&self) -> f64 {
        f64::from(self.videos) * 60.0 / self.drained_in.as_secs_f64().max(0.001)
    }
}

/// One progress line per sample.
pub fn print_sample(sample: &Sample) {
    let mut line = format!(
        "{:>6.0} s  {:>8.1} req/s  p95 {:>8}  errors {:>5.1} %",
        sample.elapsed_s,
        sample.requests_per_s,
        sample
            .p95_ms
            .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms")),
        sample.error_rate * 100.0
    );
    let tasks = |name: &str, tasks: Option<Tasks>| {
        tasks.map(|t| format!("  {name} {}/{}/{}", t.desired, t.running, t.pending))
    };
    line.extend(tasks("web", sample.web));
    line.extend(tasks("worker", sample.worker));
    if let Some(busy) = sample.busy_workers {
        line.push_str(&format!("  busy workers {busy}"));
    }
    if let (Some(visible), Some(in_flight), Some(dead)) = (
        sample.queue_visible,
        sample.queue_in_flight,
        sample.dead_letter,
    ) {
        line.push_str(&format!("  queue {visible}/{in_flight}/{dead}"));
    }
    console::note(line);
}

/// A marker wherever a service's desired task count changes.
pub fn scaling_markers(samples: &[Sample]) -> Vec<Marker> {
    let mut markers = Vec::new();
    for pair in samples.windows(2) {
        for (name, before, after) in [
            ("web", pair[0].web, pair[1].web),
            ("worker", pair[0].worker, pair[1].worker),
        ] {
            if let (Some(before), Some(after)) = (before, after)
                && before.desired != after.desired
            {
                let direction = if after.desired > before.desired {
                    "scale-out"
                } else {
                    "scale-in"
                };
                markers.push(Marker {
                    elapsed_s: pair[1].elapsed_s,
                    label: format!("{name} {direction} {}→{}", before.desired, after.desired),
                });
            }
        }
    }
    markers
}

/// The first scale-out, and the first scale-in after it.
fn scaling_moments(markers: &[Marker]) -> (Option<f64>, Option<f64>) {
    let out = markers
        .iter()
        .find(|marker| marker.label.contains("scale-out"))
        .map(|marker| marker.elapsed_s);
    let back_in = out.and_then(|out| {
        markers
            .iter()
            .find(|marker| marker.label.contains("scale-in") && marker.elapsed_s > out)
            .map(|marker| marker.elapsed_s)
    });
    (out, back_in)
}

fn max_of(samples: &[Sample], value: impl Fn(&Sample) -> Option<i64>) -> Option<i64> {
    samples.iter().filter_map(value).max()
}

/// Writes every file of the results folder; returns the final table.
pub fn write(args: &LoadtestArgs, out: &Path, outcome: &Outcome) -> anyhow::Result<String> {
    let scenario = match args.scenario {
        Scenario::Web => "web",
        Scenario::Uploads => "uploads",
        Scenario::Worker => "worker",
    };
    std::fs::write(out.join("timeline.csv"), timeline::to_csv(&outcome.samples))?;
    let samples = &outcome.samples;
    let (scale_out, scale_in) = scaling_moments(&outcome.markers);
    let max_web = max_of(samples, |s| s.web.map(|t| t.running));
    let max_worker = max_of(samples, |s| s.worker.map(|t| t.running));
    let max_busy = max_of(samples, |s| s.busy_workers);
    let peak_queue = max_of(samples, |s| s.queue_visible);
    let peak_dead = max_of(samples, |s| s.dead_letter);

    let mut rows: Vec<(String, String)> = vec![
        ("scenario".into(), scenario.into()),
        ("target".into(), outcome.target.clone()),
        ("samples".into(), samples.len().to_string()),
    ];
    let k6 = outcome.k6.as_ref().map(|k6| {
        json!({
            "requests": k6.requests,
            "requests_per_s": k6.rate,
            "error_rate": k6.errors,
            "latency_ms": {"p50": k6.p50_ms, "p90": k6.p90_ms, "p95": k6.p95_ms, "p99": k6.p99_ms, "max": k6.max_ms},
            "endpoints": k6.endpoints.iter().map(|e| json!({"endpoint": e.name, "requests": e.requests, "errors": e.errors, "p50_ms": e.p50_ms, "p95_ms": e.p95_ms, "p99_ms": e.p99_ms})).collect::<Vec<_>>(),
            "thresholds": k6.thresholds.iter().map(|(name, ok)| json!({"threshold": name, "ok": ok})).collect::<Vec<_>>(),
        })
    });
    if let Some(k6) = &outcome.k6 {
        rows.push(("requests".into(), k6.requests.to_string()));
        rows.push(("throughput".into(), format!("{:.1} req/s", k6.rate)));
        rows.push((
            "latency p50 / p90 / p95 / p99".into(),
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1} ms",
                k6.p50_ms, k6.p90_ms, k6.p95_ms, k6.p99_ms
            ),
        ));
        rows.push(("error rate".into(), format!("{:.2} %", k6.errors * 100.0)));
        for endpoint in &k6.endpoints {
            rows.push((
                format!("p95 {}", endpoint.name),
                format!("{:.1} ms", endpoint.p95_ms),
            ));
        }
    }
    let optional = |value: Option<i64>| value.map_or_else(|| "—".to_owned(), |v| v.to_string());
    let seconds =
        |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |s| format!("{s:.0} s"));
    rows.push(("max web tasks running".into(), optional(max_web)));
    rows.push(("max worker tasks running".into(), optional(max_worker)));
    rows.push(("max busy local workers".into(), optional(max_busy)));
    rows.push(("peak queue (visible)".into(), optional(peak_queue)));
    rows.push(("peak dead-letter".into(), optional(peak_dead)));
    rows.push(("first scale-out at".into(), seconds(scale_out)));
    rows.push(("back in at".into(), seconds(scale_in)));
    for run in &outcome.worker_runs {
        rows.push((
            format!("worker concurrency {}", run.concurrency),
            format!(
                "{} videos in {:.1} s: {:.2} videos/min, mean service {:.1} s, {} failed",
                run.videos,
                run.drained_in.as_secs_f64(),
                run.videos_per_minute(),
                run.mean_service.as_secs_f64(),
                run.failed
            ),
        ));
    }
    let passed = outcome.passed();
    rows.push(("result".into(), if passed { "PASS" } else { "FAIL" }.into()));

    let summary = json!({
        "scenario": scenario,
        "target": outcome.target,
        "vus": args.vus,
        "duration": args.duration,
        "interval_s": args.interval,
        "samples": samples.len(),
        "k6": k6,
        "max_tasks": {"web": max_web, "worker": max_worker, "busy_local_workers": max_busy},
        "peak_queue": peak_queue,
        "peak_dead_letter": peak_dead,
        "scale_out_at_s": scale_out,
        "scale_in_at_s": scale_in,
        "markers": outcome.markers.iter().map(|m| json!({"at_s": m.elapsed_s, "label": m.label})).collect::<Vec<_>>(),
        "worker_runs": outcome.worker_runs.iter().map(|run| json!({
            "concurrency": run.concurrency,
            "videos": run.videos,
            "failed": run.failed,
            "drained_in_s": run.drained_in.as_secs_f64(),
            "videos_per_minute": run.videos_per_minute(),
            "mean_service_s": run.mean_service.as_secs_f64(),
        })).collect::<Vec<_>>(),
        "passed": passed,
    });
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;

    let table = crate::console::table(
        &["measure", "value"],
        &rows
            .iter()
            .map(|(name, value)| [name.as_str(), value.as_str()])
            .collect::<Vec<_>>(),
    );
    let mut markdown = format!(
        "# Load test: {scenario}\n\nTarget: {}. Command: `cargo xtask loadtest {}`.\n\n| measure | value |\n| --- | --- |\n",
        outcome.target,
        std::env::args().skip(2).collect::<Vec<_>>().join(" ")
    );
    for (name, value) in &rows {
        markdown.push_str(&format!("| {name} | {value} |\n"));
    }
    markdown.push_str("\n![timeline](chart.svg)\n\nFiles: `timeline.csv` (one row per sample), `summary.json`, `chart.svg`, `k6.log`.\n");
    std::fs::write(out.join("summary.md"), markdown)?;

    chart::render(
        &format!("Rising Stars load test: {scenario} ({})", outcome.target),
        samples,
        &outcome.markers,
        &out.join("chart.svg"),
    )?;
    console::step(format!("Summary ({})", out.display()));
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_web(elapsed_s: f64, desired: i64) -> Sample {
        Sample {
            elapsed_s,
            web: Some(Tasks {
                desired,
                running: desired,
                pending: 0,
            }),
            ..Sample::default()
        }
    }

    #[test]
    fn desired_count_changes_become_markers_and_moments() {
        let samples = [
            with_web(0.0, 1),
            with_web(10.0, 1),
            with_web(20.0, 3),
            with_web(30.0, 3),
            with_web(40.0, 1),
        ];
        let markers = scaling_markers(&samples);
        let labels: Vec<&str> = markers.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["web scale-out 1→3", "web scale-in 3→1"]);
        assert_eq!(scaling_moments(&markers), (Some(20.0), Some(40.0)));
        assert_eq!(scaling_moments(&[]), (None, None));
    }
}
