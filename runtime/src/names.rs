//! Names for what dockside creates (networks, build sessions) that no other test picks.

/// `<prefix>-<pid>-<nanoseconds>`: a name no other process, nor this one a moment later, picks.
pub(crate) fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}
