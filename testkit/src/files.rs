//! Generated files and memory readings for tests that move large objects.

use std::io::{Read, Write};
use std::path::Path;

use tempfile::NamedTempFile;

/// A temporary file of `size` pseudo-random bytes (incompressible, different per seed).
pub fn random_file(size: u64, seed: u64) -> anyhow::Result<NamedTempFile> {
    let mut file = NamedTempFile::new()?;
    let mut state = seed | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            // xorshift64: fast and good enough to defeat compression and spot misplaced bytes.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let take = usize::try_from(left.min(chunk.len() as u64))?;
        file.write_all(&chunk[..take])?;
        left -= take as u64;
    }
    file.flush()?;
    Ok(file)
}

/// Whether two files hold the same bytes (compared in chunks, never whole in memory).
pub fn same_contents(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut left, mut right) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let read = read_full(&mut a, &mut left)?;
        if read_full(&mut b, &mut right[..read])? != read || left[..read] != right[..read] {
            return Ok(false);
        }
        if read == 0 {
            return Ok(true);
        }
    }
}

fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// This process's peak resident set size so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> anyhow::Result<u64> {
    peak_rss_bytes_of_status("/proc/self/status")
}

/// Peak resident memory (`VmHWM`) of another process, in bytes.
pub fn peak_rss_bytes_of(pid: u32) -> anyhow::Result<u64> {
    peak_rss_bytes_of_status(&format!("/proc/{pid}/status"))
}

fn peak_rss_bytes_of_status(path: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(path)?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/self/status"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}
