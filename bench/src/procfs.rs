//! What a process costs, read from `/proc`: CPU time (utime + stime) and resident memory.

use std::fs;
use std::io;
use std::time::Duration;

/// `USER_HZ`: the unit of the times in `/proc/<pid>/stat`, fixed at 100 by the Linux ABI on the
/// architectures we run on.
const TICKS_PER_SECOND: u64 = 100;

/// CPU fields of `/proc/<pid>/stat` in ticks: (utime + stime, cutime + cstime), and the ppid.
fn stat(pid: u32) -> io::Result<(u64, u64, u32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other(format!("unexpected /proc/{pid}/stat")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    let field = |n: usize| -> io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no field {n} in /proc/{pid}/stat")))
    };
    let ppid = u32::try_from(field(4)?).map_err(io::Error::other)?;
    Ok((field(14)? + field(15)?, field(16)? + field(17)?, ppid))
}

/// CPU time of a process, all its threads included.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let (own, _, _) = stat(pid)?;
    Ok(ticks(own))
}

fn ticks(n: u64) -> Duration {
    Duration::from_micros(n * 1_000_000 / TICKS_PER_SECOND)
}

/// CPU time of a process and all its children, including children that already exited and were
/// reaped (their time moved into the parent's cutime/cstime): Postgres backends come and go.
///
/// A child reaped while the children are being listed would be counted nowhere, so the reading is
/// taken again until the parent reaped nothing during it.
pub fn tree_cpu_time(root: u32) -> io::Result<Duration> {
    let mut attempts = 0;
    loop {
        let (_, reaped_before, _) = stat(root)?;
        let mut children = 0;
        for pid in pids()? {
            if let Ok((child_own, _, ppid)) = stat(pid)
                && ppid == root
            {
                children += child_own;
            }
        }
        let (own, reaped, _) = stat(root)?;
        attempts += 1;
        if reaped == reaped_before || attempts >= 20 {
            return Ok(ticks(own + reaped + children));
        }
    }
}

fn pids() -> io::Result<Vec<u32>> {
    Ok(fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect())
}

/// Resident set size (VmRSS) in bytes.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// The process listening on TCP `port` (IPv4 or IPv6), found through the socket inode.
pub fn pid_listening_on(port: u16) -> io::Result<Option<u32>> {
    let wanted = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A = LISTEN, inode
            if let (Some(local), Some(&"0A"), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
                && local.ends_with(&wanted)
            {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return Ok(None);
    }
    for pid in pids()? {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path())
                && inodes
                    .iter()
                    .any(|inode| target.as_os_str() == inode.as_str())
            {
                return Ok(Some(pid));
            }
        }
    }
    Ok(None)
}

/// The soft limit on open files of this process.
pub fn open_files_limit() -> io::Result<u64> {
    let limits = fs::read_to_string("/proc/self/limits")?;
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .ok_or_else(|| io::Error::other("no open-files limit in /proc/self/limits"))
}

/// Descriptors this process has open now.
pub fn open_files() -> io::Result<u64> {
    Ok(fs::read_dir("/proc/self/fd")?.count() as u64)
}

/// A CPU-time reading to subtract from a later one.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    pid: u32,
    tree: bool,
    at: Duration,
}

impl CpuMark {
    pub fn process(pid: u32) -> io::Result<Self> {
        Ok(Self {
            pid,
            tree: false,
            at: cpu_time(pid)?,
        })
    }

    pub fn tree(root: u32) -> io::Result<Self> {
        Ok(Self {
            pid: root,
            tree: true,
            at: tree_cpu_time(root)?,
        })
    }

    /// CPU time used since the mark.
    pub fn elapsed(&self) -> io::Result<Duration> {
        let now = if self.tree {
            tree_cpu_time(self.pid)?
        } else {
            cpu_time(self.pid)?
        };
        Ok(now.saturating_sub(self.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size_and_a_cpu_time() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap_or(0) > 1024 * 1024);
        // Burn CPU until the kernel has charged us some: on a loaded machine 50 ms of wall time can
        // be far less CPU time, so the wait is on the figure itself (bounded).
        let before = cpu_time(pid).unwrap_or_default();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut spin = 0u64;
        let mut after = before;
        while after < before + Duration::from_millis(20) && std::time::Instant::now() < deadline {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
            after = cpu_time(pid).unwrap_or(after);
        }
        assert!(spin > 0);
        assert!(
            after >= before + Duration::from_millis(20),
            "{before:?} → {after:?}"
        );
    }

    #[test]
    fn the_tree_keeps_the_time_of_children_that_exited() {
        let pid = std::process::id();
        let before = tree_cpu_time(pid).unwrap_or_default();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap_or_else(|err| panic!("sh: {err}"));
        assert!(status.success());
        let after = tree_cpu_time(pid).unwrap_or_default();
        // The child burned well over 100 ms; once reaped, its time is ours.
        assert!(
            after - before >= Duration::from_millis(100),
            "{before:?} → {after:?}"
        );
        assert!(cpu_time(pid).unwrap_or_default() < after);
    }

    #[test]
    fn a_listening_socket_is_traced_back_to_its_process() {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("bind: {err}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("addr: {err}"))
            .port();
        assert_eq!(
            pid_listening_on(port).unwrap_or(None),
            Some(std::process::id())
        );
    }
}
