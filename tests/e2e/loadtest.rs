//! `cargo xtask loadtest` end to end: short web and worker runs against the local stack it brings
//! up, each leaving a results folder with a timeline, a summary and a chart.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use end_to_end::xtask;
use serde_json::Value;

/// Runs `xtask loadtest <args> --out <dir>`; returns the one results folder it made.
pub async fn loadtest(args: &[&str], out: &Path) -> anyhow::Result<PathBuf> {
    let output = xtask()?
        .arg("loadtest")
        .args(args)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run xtask loadtest")?;
    anyhow::ensure!(
        output.status.success(),
        "xtask loadtest {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let folders: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    anyhow::ensure!(
        folders.len() == 1,
        "expected one results folder: {folders:?}"
    );
    Ok(folders[0].clone())
}

/// The timeline's rows as header → value maps.
pub fn timeline(folder: &Path) -> anyhow::Result<Vec<std::collections::HashMap<String, String>>> {
    let text = std::fs::read_to_string(folder.join("timeline.csv"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty timeline")?.split(',').collect();
    Ok(lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(name, value)| ((*name).to_owned(), value.to_owned()))
                .collect()
        })
        .collect())
}

/// The summary, after checking that the folder holds every file and a valid chart.
pub fn checked_results(folder: &Path) -> anyhow::Result<Value> {
    let rows = timeline(folder)?;
    anyhow::ensure!(rows.len() >= 2, "fewer than two samples: {rows:?}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json"))?)?;
    let markdown = std::fs::read_to_string(folder.join("summary.md"))?;
    anyhow::ensure!(markdown.contains("| result |"), "{markdown}");
    let svg = std::fs::read_to_string(folder.join("chart.svg"))?;
    anyhow::ensure!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "not an SVG"
    );
    anyhow::ensure!(
        !folder.join("chart.png").exists(),
        "the chart is written as SVG only"
    );
    Ok(summary)
}

#[tokio::test]
async fn a_short_web_run_against_the_local_stack_leaves_a_timeline_summary_and_chart()
-> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    let folder = loadtest(
        &[
            "--scenario",
            "web",
            "--local",
            "--vus",
            "5",
            "--duration",
            "20s",
            "--interval",
            "5",
            "--cargo-profile",
            "dev",
        ],
        out.path(),
    )
    .await?;
    let summary = checked_results(&folder)?;
    assert_eq!(summary["scenario"], "web");
    assert!(
        summary["k6"]["requests"].as_u64().unwrap_or(0) > 20,
        "{summary}"
    );
    assert_eq!(summary["passed"], true, "{summary}");
    let rows = timeline(&folder)?;
    let busiest: f64 = rows
        .iter()
        .filter_map(|row| row["requests_per_s"].parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(busiest > 1.0, "no sample saw requests: {rows:?}");
    assert!(
        rows.iter().all(|row| !row["queue_visible"].is_empty()),
        "the local queue is sampled"
    );
    Ok(())
}

#[tokio::test]
async fn a_small_worker_run_measures_videos_per_minute() -> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    let folder = loadtest(
        &[
            "--scenario",
            "worker",
            "--local",
            "--videos",
            "2",
            "--size",
            "50",
            "--concurrency",
            "1",
            "--interval",
            "2",
            "--cargo-profile",
            "dev",
        ],
        out.path(),
    )
    .await?;
    let summary = checked_results(&folder)?;
    let run = &summary["worker_runs"][0];
    assert_eq!(run["videos"], 2, "{summary}");
    assert_eq!(run["failed"], 0, "{summary}");
    assert!(run["videos_per_minute"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(run["mean_service_s"].as_f64().unwrap_or(0.0) > 0.0);
    let rows = timeline(&folder)?;
    assert!(
        rows.iter().any(|row| row["busy_workers"] == "1"),
        "the worker was seen busy: {rows:?}"
    );
    Ok(())
}
