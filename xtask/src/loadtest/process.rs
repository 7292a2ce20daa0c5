//! What a process on this machine uses, read from `/proc`: its resident memory now and at its
//! peak. The benchmarks sample the API and worker processes they start with it.

/// A memory figure of a process, as `/proc/<pid>/status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// `VmRSS`: resident set now.
    Resident,
    /// `VmHWM`: the peak resident set so far.
    PeakResident,
}

impl Memory {
    fn field(self) -> &'static str {
        match self {
            Self::Resident => "VmRSS",
            Self::PeakResident => "VmHWM",
        }
    }
}

/// `memory` of process `pid`, in MiB; 0 when the process is gone or the figure unreadable.
pub fn memory_mib(pid: Option<u32>, memory: Memory) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| status_kib(&status, memory.field()))
        .map_or(0, |kib| kib / 1024)
}

/// A `Name:   1234 kB` line of a `/proc/<pid>/status` text, in KiB.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find(|line| {
            line.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_by_their_exact_name() {
        let status = "Name:\txtask\nVmHWM:\t  204800 kB\nVmRSS:\t   102400 kB\nVmRSSX:\t1 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(204_800));
        assert_eq!(status_kib(status, "VmRSS"), Some(102_400));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn this_process_has_memory_and_a_missing_one_has_none() {
        let me = Some(std::process::id());
        let now = memory_mib(me, Memory::Resident);
        assert!(now > 0, "{now} MiB");
        assert!(memory_mib(me, Memory::PeakResident) >= now);
        assert_eq!(memory_mib(None, Memory::Resident), 0);
    }
}
