//! Logging set-up, the same for every binary: structured JSON lines by default.
//!
//! Variables: `LOG_FORMAT` (`json`, default, or `text` for humans), `RUST_LOG` (filter, default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let text =
        crate::config::var("LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_writer(std::io::stderr);
    // A second call (tests) keeps the first subscriber, which is what we want.
    if text {
        // Colours for a person at a terminal only: piped into a file or another program (a log
        // collector, `cargo xtask dev | tee`), escape codes are noise.
        let _ = builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init();
    } else {
        let _ = builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init();
    }
}
