//! The watcher processes of runs, found the way the system shows them: a run's watcher keeps
//! its run's lock file open in `<lock folder>/runs/` for as long as it lives.

use std::path::Path;

/// The pids of the processes (of this user) holding a file open in `<lock_dir>/runs/`.
pub fn watchers(lock_dir: &Path) -> Vec<u32> {
    let runs = lock_dir.join("runs");
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // Other users' processes cannot be read, and they are not ours to find.
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(&runs))
                })
            })
        })
        .collect()
}

/// The run lock files left in `<lock_dir>/runs/`: none once every run's watcher has finished.
pub fn run_files(lock_dir: &Path) -> Vec<String> {
    std::fs::read_dir(lock_dir.join("runs"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
