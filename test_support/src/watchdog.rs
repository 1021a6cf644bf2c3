//! The cleanup watchdog, and a sweep that gives directories whose watchdog died a new one.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use fs2::FileExt;

use crate::lock_file;

/// Waits for the owner to go (same pid and start time, not a zombie), then: SIGINT to every
/// registered group, which every server takes as a clean shutdown (Postgres frees its SysV segment);
/// a group is skipped when its leader's pid now names a process with another start time (reused).
/// Up to 10 s for the groups to go (zombies count as gone: some containers' pid 1 never reaps),
/// SIGKILL for the rest, delete the directory (with FECHATTER_TEST_KEEP=1: mark it `done`).
const SCRIPT: &str = r#"
owner=$1 start=$2 dir=$3 keep=$4
owner_alive() {
    { read -r l < "/proc/$owner/stat"; } 2>/dev/null || return 1
    set -- ${l##*)}
    [ "$1" != Z ] && [ "${20}" = "$start" ]
}
group_alive() {
    g=$1
    for f in /proc/[0-9]*/stat; do
        { read -r l < "$f"; } 2>/dev/null || continue
        set -- ${l##*)}
        [ "$3" = "$g" ] && [ "$1" != Z ] && return 0
    done
    return 1
}
signal_all() {
    sig=$1
    for f in "$dir"/pgids/*; do
        [ -e "$f" ] || continue
        g=${f##*/}
        if { read -r l < "/proc/$g/stat"; } 2>/dev/null; then
            set -- ${l##*)}
            read -r want < "$f"
            [ "${20}" = "$want" ] || continue
        fi
        kill "-$sig" "-$g" 2>/dev/null
    done
}
any_alive() {
    for f in "$dir"/pgids/*; do
        [ -e "$f" ] && group_alive "${f##*/}" && return 0
    done
    return 1
}
while owner_alive; do sleep 0.5; done
signal_all INT
i=0
while [ $i -lt 100 ] && any_alive; do sleep 0.1; i=$((i + 1)); done
signal_all KILL
if [ "$keep" = 1 ]; then : > "$dir/done"; else rm -rf "$dir"; fi
"#;

/// Its name in `ps`, and how [`sweep`] recognises a live watchdog.
const NAME: &str = "fechatter-test-watchdog";

/// Starts a watchdog for `dir` that waits for process `owner` started at `start` (clock ticks since
/// boot); returns the watchdog's pid. With `keep` it leaves the directory for a post-mortem.
pub(crate) fn spawn(owner: i32, start: &str, dir: &Path, keep: bool) -> u32 {
    #[allow(
        clippy::zombie_processes,
        reason = "the watchdog outlives its owner, which outlives this process: never ours to reap"
    )]
    let watchdog = Command::new("sh")
        .args(["-c", SCRIPT, NAME])
        .arg(owner.to_string())
        .arg(start)
        .arg(dir)
        .arg(if keep { "1" } else { "0" })
        .current_dir("/")
        // Its own group, and no handle on the test's stdout or stderr (nextest would call that a
        // leak and wait for it).
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the cleanup watchdog (sh): {e}"));
    watchdog.id()
}

/// A directory whose watchdog is gone (OOM killer, a stray `kill`) would keep its servers forever.
/// Each such directory under `root` gets a new watchdog whose owner (pid 0) never exists, so it
/// cleans up at once. Directories being set up hold their `scope.lock` and are skipped.
pub(crate) fn sweep(root: &Path, keep: bool) {
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        let dir = entry.path();
        if !dir.join("pgids").is_dir() || dir.join("done").exists() {
            continue;
        }
        let lock = lock_file::open(&dir.join("scope.lock"));
        if lock.try_lock_exclusive().is_err() {
            continue;
        }
        let marker = dir.join("watchdog.pid");
        let Some(pid) = fs::read_to_string(&marker)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        else {
            continue;
        };
        if watches(pid, &dir) {
            continue;
        }
        let replacement = spawn(0, "0", &dir, keep);
        let _ = fs::write(&marker, replacement.to_string());
    }
}

/// Whether `pid` is (still) the watchdog of `dir`, not a process that reuses its pid.
fn watches(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    cmdline.contains(NAME) && cmdline.contains(&*dir.to_string_lossy())
}
