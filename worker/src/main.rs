//! `rising-stars-worker`: the worker binary. `process` renders one local file; `--self-check`
//! verifies the pipeline inside the deployed image.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use tokio::sync::watch;
use worker::config::WorkerSettings;
use worker::pipeline::{PipelineSettings, ffmpeg_cli_equivalent, render_showcase};

#[derive(Debug, Parser)]
#[command(
    name = "rising-stars-worker",
    version,
    about = "Rising Stars worker: turns uploads into showcase clips."
)]
struct Cli {
    /// Render a synthetic clip through the whole pipeline, verify the result and exit
    /// (0 when it passes). Uses WORKER_LOGO_PATH when set.
    #[arg(long)]
    self_check: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the showcase clip of a local video file.
    ///
    /// Example: rising-stars-worker process upload.mp4 showcase.mp4 --poster poster.jpg
    Process(ProcessArgs),
}

#[derive(Debug, Args)]
struct ProcessArgs {
    /// The source video (MP4/MOV).
    input: PathBuf,
    /// Where to write the showcase clip (MP4).
    output: PathBuf,
    /// Where to write the poster JPEG [default: OUTPUT with the extension .jpg].
    #[arg(long)]
    poster: Option<PathBuf>,
    /// libx264 preset.
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// libx264 constant rate factor (0-51).
    #[arg(long, default_value_t = 23, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: u8,
    /// A PNG logo to use instead of the built-in ANB logo.
    #[arg(long)]
    logo: Option<PathBuf>,
    /// Decoder and encoder threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print the equivalent ffmpeg command line (same graph and settings) instead of rendering;
    /// it needs the logo as a file, given with --logo or worker/assets/anb-logo.png.
    #[arg(long)]
    print_ffmpeg_command: bool,
}

fn main() -> ExitCode {
    platform::telemetry::init();
    let cli = Cli::parse();
    let result = if cli.self_check {
        self_check()
    } else {
        match cli.command {
            Some(Command::Process(args)) => process(args),
            None => return consume(),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The default: consume processing jobs until SIGTERM or Ctrl-C, then exit 0 once the running
/// jobs are finished or released. A configuration error exits 2 with one line naming the variable.
fn consume() -> ExitCode {
    let settings = match WorkerSettings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("rising-stars-worker: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rising-stars-worker: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let consumer = match worker::consumer::connect(settings).await {
            Ok(consumer) => Arc::new(consumer),
            Err(error) => {
                eprintln!("rising-stars-worker: {error:#}");
                return ExitCode::from(2);
            }
        };
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(async move {
            platform::backends::shutdown_signal().await;
            tracing::info!("stopping: no new jobs; finishing or releasing the running ones");
            let _ = stop.send(true);
        });
        tracing::info!("worker started: waiting for jobs");
        consumer.run(shutdown).await;
        tracing::info!("worker stopped");
        ExitCode::SUCCESS
    })
}

fn self_check() -> anyhow::Result<()> {
    let settings = PipelineSettings {
        logo_path: platform::config::var("WORKER_LOGO_PATH").map(PathBuf::from),
        ..PipelineSettings::default()
    };
    println!("{}", worker::self_check::run(&settings)?);
    Ok(())
}

fn process(args: ProcessArgs) -> anyhow::Result<()> {
    let settings = PipelineSettings {
        preset: args.preset,
        crf: args.crf,
        logo_path: args.logo,
        threads: args.threads,
    };
    if args.print_ffmpeg_command {
        let logo = settings.logo_path.clone().unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/anb-logo.png"))
        });
        let command = ffmpeg_cli_equivalent(&args.input, &args.output, &logo, &settings)?;
        println!("{}", shell_words(&command));
        return Ok(());
    }
    let poster = args
        .poster
        .unwrap_or_else(|| args.output.with_extension("jpg"));
    let started = Instant::now();
    let report = render_showcase(
        &args.input,
        &args.output,
        &poster,
        &settings,
        &AtomicBool::new(false),
    )?;
    println!(
        "{}: {:.2} s, {}x{}, {} frames ({} of footage, source {:.2} s{}), {:.1} MB, poster {} at {:.2} s, wall {:.2} s",
        args.output.display(),
        report.duration.as_secs_f64(),
        report.width,
        report.height,
        report.frames,
        report.footage_frames,
        report.source_used.as_secs_f64(),
        if report.source_cut { ", cut" } else { "" },
        report.output_bytes as f64 / 1e6,
        poster.display(),
        report.poster_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Joins arguments for a POSIX shell, quoting those that need it.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
