//! k6 as xtask drives it: the live metrics it streams to CSV, read interval by interval while it
//! runs, and the end-of-test summary JSON it writes.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Follows the CSV that `k6 run --out csv=FILE` appends to, one interval at a time.
#[derive(Debug)]
pub struct CsvTail {
    path: PathBuf,
    offset: u64,
    /// A line read without its newline yet (k6 was mid-write).
    partial: String,
    columns: Option<Columns>,
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    metric: usize,
    value: usize,
}

/// What k6 measured between two reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interval {
    pub requests: u64,
    pub failed: u64,
    /// Request durations in ms.
    pub durations: Vec<f64>,
}

impl Interval {
    pub fn p95_ms(&self) -> Option<f64> {
        percentile(&self.durations, 0.95)
    }

    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failed as f64 / self.requests as f64
        }
    }
}

/// The `q` quantile (0–1) by nearest rank; `None` for no values.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl CsvTail {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            offset: 0,
            partial: String::new(),
            columns: None,
        }
    }

    /// Everything k6 appended since the last call (nothing if the file does not exist yet).
    pub fn read_new(&mut self) -> anyhow::Result<Interval> {
        let mut interval = Interval::default();
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Ok(interval);
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut reader = BufReader::new(file);
        let mut line = std::mem::take(&mut self.partial);
        loop {
            let read = reader.read_line(&mut line)?;
            if read == 0 {
                break;
            }
            self.offset += read as u64;
            if !line.ends_with('\n') {
                break; // k6 is still writing this line; finish it next time
            }
            self.take(line.trim_end(), &mut interval);
            line.clear();
        }
        self.partial = line;
        Ok(interval)
    }

    fn take(&mut self, line: &str, interval: &mut Interval) {
        let fields: Vec<&str> = line.split(',').collect();
        let Some(columns) = self.columns else {
            let position = |name: &str| fields.iter().position(|field| *field == name);
            if let (Some(metric), Some(value)) = (position("metric_name"), position("metric_value"))
            {
                self.columns = Some(Columns { metric, value });
            }
            return;
        };
        let (Some(metric), Some(value)) = (
            fields.get(columns.metric),
            fields
                .get(columns.value)
                .and_then(|v| v.parse::<f64>().ok()),
        ) else {
            return;
        };
        match *metric {
            "http_reqs" => interval.requests += value as u64,
            "http_req_failed" => interval.failed += u64::from(value > 0.0),
            "http_req_duration" => interval.durations.push(value),
            _ => {}
        }
    }
}

/// The end-of-test numbers of a k6 run, from the summary JSON the scripts write to `SUMMARY`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub requests: u64,
    pub rate: f64,
    pub errors: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Per endpoint: requests, errors and percentiles.
    pub endpoints: Vec<EndpointStats>,
    /// Every threshold and whether it held.
    pub thresholds: Vec<(String, bool)>,
    /// voting.js: how long accepted votes took to show in another instance's rankings.
    pub staleness: Option<Staleness>,
}

/// One endpoint's figures (requests tagged `endpoint:<name>`).
#[derive(Debug, Clone, Default)]
pub struct EndpointStats {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// voting.js's `ranking_staleness` trend and its probe time-outs.
#[derive(Debug, Clone, Default)]
pub struct Staleness {
    pub probes: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub timeouts: u64,
}

impl Summary {
    pub fn thresholds_held(&self) -> bool {
        self.thresholds.iter().all(|(_, ok)| *ok)
    }
}

/// Reads k6's summary JSON.
pub fn summary(path: &Path) -> anyhow::Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        anyhow::anyhow!("cannot read the k6 summary {}: {error}", path.display())
    })?;
    let data: serde_json::Value = serde_json::from_str(&text)?;
    let metrics = &data["metrics"];
    let value =
        |metric: &serde_json::Value, key: &str| metric["values"][key].as_f64().unwrap_or(0.0);
    let mut endpoints = Vec::new();
    let mut thresholds = Vec::new();
    if let Some(all) = metrics.as_object() {
        for (name, metric) in all {
            if let Some(declared) = metric["thresholds"].as_object() {
                for (expression, outcome) in declared {
                    // The scripts declare `rate>=0` only to keep per-endpoint figures.
                    if expression.ends_with(">=0") {
                        continue;
                    }
                    thresholds.push((
                        format!("{name}: {expression}"),
                        outcome["ok"].as_bool().unwrap_or(false),
                    ));
                }
            }
            let Some(endpoint) = name
                .strip_prefix("http_req_duration{endpoint:")
                .and_then(|rest| rest.strip_suffix('}'))
            else {
                continue;
            };
            if metric["values"]["max"].as_f64().unwrap_or(0.0) > 0.0 {
                // The always-true `rate>=0` threshold keeps this sub-metric in the summary.
                let failed = &metrics[format!("http_req_failed{{endpoint:{endpoint}}}").as_str()];
                let (errors, fine) = (value(failed, "passes"), value(failed, "fails"));
                endpoints.push(EndpointStats {
                    name: endpoint.to_owned(),
                    requests: (errors + fine) as u64,
                    errors: errors as u64,
                    p50_ms: value(metric, "med"),
                    p95_ms: value(metric, "p(95)"),
                    p99_ms: value(metric, "p(99)"),
                });
            }
        }
    }
    let staleness = metrics.get("ranking_staleness").map(|trend| Staleness {
        probes: value(trend, "count") as u64,
        p50_ms: value(trend, "med"),
        p99_ms: value(trend, "p(99)"),
        max_ms: value(trend, "max"),
        timeouts: value(&metrics["ranking_probe_timeouts"], "count") as u64,
    });
    let duration = &metrics["http_req_duration"];
    Ok(Summary {
        requests: value(&metrics["http_reqs"], "count") as u64,
        rate: value(&metrics["http_reqs"], "rate"),
        errors: value(&metrics["http_req_failed"], "rate"),
        p50_ms: value(duration, "med"),
        p90_ms: value(duration, "p(90)"),
        p95_ms: value(duration, "p(95)"),
        p99_ms: value(duration, "p(99)"),
        max_ms: value(duration, "max"),
        endpoints,
        thresholds,
        staleness,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_reads_only_complete_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k6.csv");
        let mut tail = CsvTail::new(&path);
        assert_eq!(tail.read_new().unwrap(), Interval::default());
        std::fs::write(
            &path,
            "metric_name,timestamp,metric_value,check\n\
             http_reqs,1,1,\nhttp_req_duration,1,12.5,\nhttp_req_failed,1,0,\n\
             http_reqs,1,1,\nhttp_req_duration,1,30,\nhttp_req_failed,1,1,\nhttp_req_dur",
        )
        .unwrap();
        let first = tail.read_new().unwrap();
        assert_eq!((first.requests, first.failed), (2, 1));
        assert_eq!(first.durations, [12.5, 30.0]);
        assert_eq!(first.error_rate(), 0.5);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, b"ation,2,7,\n").unwrap();
        let second = tail.read_new().unwrap();
        assert_eq!(second.durations, [7.0]);
        assert_eq!(second.requests, 0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.95), Some(95.0));
        assert_eq!(percentile(&[4.0], 0.95), Some(4.0));
        assert_eq!(percentile(&[], 0.95), None);
    }
}
