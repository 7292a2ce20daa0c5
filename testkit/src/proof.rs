//! A client's side of the proof-of-work step-up: solve an ALTCHA challenge (as a 429's
//! `challenge` or `GET /api/auth/challenge` gives it) into the `Altcha` header's value.

use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

/// A solved challenge: the header value, and how long the search took (on one thread).
#[derive(Debug, Clone)]
pub struct Solution {
    pub header: String,
    pub took: Duration,
}

/// Solves `challenge` (`{algorithm, challenge, maxnumber, salt, signature}`) by trying every
/// number up to `maxnumber`, as the ALTCHA widget does; `None` if it has no solution there.
pub fn solve(challenge: &serde_json::Value) -> Option<Solution> {
    let started = Instant::now();
    let salt = challenge["salt"].as_str()?;
    let target = hex_decode(challenge["challenge"].as_str()?)?;
    let maxnumber = challenge["maxnumber"].as_u64()?;
    let prefix = sha2::Sha256::new_with_prefix(salt.as_bytes());
    let mut digits = itoa_buffer();
    let number = (0..=maxnumber).find(|n| {
        let text = format_number(*n, &mut digits);
        prefix.clone().chain_update(text).finalize().as_slice() == target.as_slice()
    })?;
    let payload = serde_json::json!({
        "algorithm": challenge["algorithm"], "challenge": challenge["challenge"],
        "number": number, "salt": salt, "signature": challenge["signature"],
    });
    Some(Solution {
        header: base64::engine::general_purpose::STANDARD.encode(payload.to_string()),
        took: started.elapsed(),
    })
}

fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

/// `n` in decimal, written at the end of `buffer`.
fn format_number(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[start..];
        }
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_decimal() {
        let mut buffer = itoa_buffer();
        assert_eq!(format_number(0, &mut buffer), b"0");
        assert_eq!(format_number(1_234_567, &mut buffer), b"1234567");
        assert_eq!(
            format_number(u64::MAX, &mut buffer),
            u64::MAX.to_string().as_bytes()
        );
    }
}
