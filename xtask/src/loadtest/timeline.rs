//! What a load test watched, sample by sample: k6's request rate, p95 and errors over the last
//! interval, the services' task counts and the queue's depths; written as `timeline.csv`.

use std::fmt::Write as _;

/// One sample. `None` means "not measured by this target" (a local run has no ECS tasks; an AWS
/// run has no busy-worker count), not zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Seconds since k6 started.
    pub elapsed_s: f64,
    /// Requests completed per second over the interval ending here.
    pub requests_per_s: f64,
    /// 95th percentile of request duration over the interval (none when no request completed).
    pub p95_ms: Option<f64>,
    /// Failed requests ÷ requests over the interval (0 when none).
    pub error_rate: f64,
    pub web: Option<Tasks>,
    pub worker: Option<Tasks>,
    /// Local runs: jobs being processed right now.
    pub busy_workers: Option<i64>,
    pub queue_visible: Option<i64>,
    pub queue_in_flight: Option<i64>,
    pub dead_letter: Option<i64>,
}

/// Desired, running and pending tasks of one ECS service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tasks {
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
}

/// A moment worth marking on the chart, e.g. "web scale-out 1 → 3".
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub elapsed_s: f64,
    pub label: String,
}

pub const CSV_HEADER: &str = "elapsed_s,requests_per_s,p95_ms,error_rate,\
web_desired,web_running,web_pending,worker_desired,worker_running,worker_pending,\
busy_workers,queue_visible,queue_in_flight,dead_letter";

/// The timeline as CSV (empty cells for what was not measured).
pub fn to_csv(samples: &[Sample]) -> String {
    fn cell<T: std::fmt::Display>(value: Option<T>) -> String {
        value.map(|value| value.to_string()).unwrap_or_default()
    }
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for sample in samples {
        let tasks = |tasks: Option<Tasks>| {
            [
                cell(tasks.map(|t| t.desired)),
                cell(tasks.map(|t| t.running)),
                cell(tasks.map(|t| t.pending)),
            ]
            .join(",")
        };
        let _ = writeln!(
            csv,
            "{:.1},{:.2},{},{:.4},{},{},{},{},{},{}",
            sample.elapsed_s,
            sample.requests_per_s,
            cell(sample.p95_ms.map(|ms| format!("{ms:.2}"))),
            sample.error_rate,
            tasks(sample.web),
            tasks(sample.worker),
            cell(sample.busy_workers),
            cell(sample.queue_visible),
            cell(sample.queue_in_flight),
            cell(sample.dead_letter),
        );
    }
    csv
}
