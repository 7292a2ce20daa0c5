//! Everything xtask prints for a person to read: steps, notes under them, tables and blocks,
//! errors, sizes, and lines redrawn in place while something long runs (`tidy.rs` keeps every
//! `println!` and `eprintln!` of xtask in this file). Redrawing happens on a terminal only; in a
//! log (CI, a pipe) the same information comes as plain lines.
//!
//! Why not `indicatif` and `comfy-table`: indicatif hides its bars off a terminal, and a CI log still
//! needs the quarter lines of a 100 MB upload, so the plain-line half would stay here anyway;
//! comfy-table brings crossterm for what `table` does in twenty lines.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Prints a step header, so a long run reads as a list of what it did.
pub fn step(message: impl std::fmt::Display) {
    println!("\n==> {message}");
}

/// Prints a detail line under the current step.
pub fn note(message: impl std::fmt::Display) {
    println!("    {message}");
}

/// Prints `text` as it is, on lines of its own: a table, or Markdown to paste into `docs/`.
pub fn block(text: impl std::fmt::Display) {
    println!("{text}");
}

/// Prints a failure to standard error, after a blank line: `xtask: <message>`.
pub fn error(message: impl std::fmt::Display) {
    eprintln!("\nxtask: {message}");
}

/// Whether standard output is a terminal (a person watching), not a log or a pipe.
pub fn is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Bytes in (decimal) megabytes, as every size xtask prints is given.
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// A plain-text table with a header line, indented like a note; columns are as wide as their
/// widest cell.
pub fn table<const N: usize, S: AsRef<str>>(header: &[&str; N], rows: &[[S; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.as_ref().chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut text = String::from("    ");
        for (cell, width) in cells.iter().zip(widths) {
            text.push_str(&format!("{cell:<width$}  "));
        }
        text.trim_end().to_owned()
    };
    let mut text = line(*header);
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.each_ref().map(AsRef::as_ref)));
    }
    text
}

/// How a Markdown table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A Markdown table (for pasting into `docs/`): a header, the alignment row, one line per row.
pub fn markdown_table<const N: usize, S: AsRef<str>>(
    header: &[(&str, Align); N],
    rows: &[[S; N]],
) -> String {
    let line = |cells: [&str; N]| format!("| {} |", cells.join(" | "));
    let mut text = line(header.map(|(title, _)| title));
    text.push('\n');
    text.push_str(&line(header.map(|(_, align)| match align {
        Align::Left => "---",
        Align::Right => "---:",
    })));
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.each_ref().map(AsRef::as_ref)));
    }
    text
}

/// One line at the bottom of a terminal, redrawn in place (`… stack: CREATE_IN_PROGRESS, 40 s`).
/// Off a terminal it draws nothing: a log keeps only the lines that matter.
#[derive(Debug)]
pub struct StatusLine {
    terminal: bool,
    drawn: bool,
}

impl StatusLine {
    pub fn new() -> Self {
        Self {
            terminal: is_terminal(),
            drawn: false,
        }
    }

    /// Replaces the line with `text` (indented like a note).
    pub fn show(&mut self, text: &str) {
        if self.terminal {
            print!("\r\x1b[2K    {text}");
            let _ = std::io::stdout().flush();
            self.drawn = true;
        }
    }

    /// Erases the line, so that what is printed next starts on a clean line.
    pub fn clear(&mut self) {
        if self.drawn {
            print!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}

/// Progress of a long byte count (compressing a layer, uploading a blob): one line redrawn in
/// place on a terminal; otherwise a plain line at each quarter of a large total, so CI logs
/// stay short.
#[derive(Debug, Clone)]
pub struct Progress {
    state: Arc<Mutex<ProgressState>>,
}

#[derive(Debug)]
struct ProgressState {
    label: String,
    total: u64,
    done: u64,
    line: StatusLine,
    drawn: Option<Instant>,
    quarters: u64,
}

/// Below this, no intermediate progress lines (it is over quickly).
const PROGRESS_THRESHOLD: u64 = 16 << 20;

impl Progress {
    pub fn new(label: String, total: u64) -> Self {
        Self {
            state: Arc::new(Mutex::new(ProgressState {
                label,
                total,
                done: 0,
                line: StatusLine::new(),
                drawn: None,
                quarters: 0,
            })),
        }
    }

    pub fn add(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.done += bytes;
        if state.total < PROGRESS_THRESHOLD {
            return;
        }
        let percent = state.done.min(state.total) * 100 / state.total.max(1);
        let text = format!(
            "{}: {:.1} / {:.1} MB ({percent}%)",
            state.label,
            mb(state.done),
            mb(state.total)
        );
        if state.line.terminal {
            if state
                .drawn
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
            {
                return;
            }
            state.drawn = Some(Instant::now());
            state.line.show(&text);
        } else if percent / 25 > state.quarters && percent < 100 {
            state.quarters = percent / 25;
            note(text);
        }
    }

    /// Replaces the progress line with `message`.
    pub fn finish(&self, message: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.line.clear();
        note(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns_on_the_widest_cell() {
        let rows = [["api", "1"], ["worker", "12"]];
        assert_eq!(
            table(&["service", "tasks"], &rows),
            "    service  tasks\n    api      1\n    worker   12"
        );
    }

    #[test]
    fn markdown_tables_say_how_each_column_is_aligned() {
        let rows = [["web".to_owned(), "9".to_owned()]];
        assert_eq!(
            markdown_table(&[("mix", Align::Left), ("runs", Align::Right)], &rows),
            "| mix | runs |\n| --- | ---: |\n| web | 9 |"
        );
    }
}
