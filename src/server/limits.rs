//! The open-file limit and the connection cap under it. Each connection holds a file descriptor,
//! and so do the database, the export files and the import spool: when idle connections take every
//! descriptor, `accept` fails and nobody gets in. So the soft limit is raised to the hard limit at
//! start, and connections are capped [`RESERVED_FDS`] below it.

/// Descriptors kept for everything that is not a client connection.
pub const RESERVED_FDS: u64 = 128;
/// The default cap when the open-file limit is very large (idle connections still cost memory).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The cap never goes below this, whatever the limit says.
const MIN_CONNECTIONS: usize = 16;

/// Raises the soft open-file limit to the hard limit and returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => soft,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The most connections served at once: what the operator asked for (or the default), never more
/// than the open-file limit leaves room for.
pub fn connection_cap(requested: Option<usize>) -> usize {
    cap_for(raise_nofile_limit(), requested)
}

fn cap_for(nofile: u64, requested: Option<usize>) -> usize {
    let room = usize::try_from(nofile.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    let room = room.max(MIN_CONNECTIONS);
    requested.unwrap_or(DEFAULT_MAX_CONNECTIONS).clamp(1, room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        assert_eq!(cap_for(1024, None), 1024 - RESERVED_FDS as usize);
        assert_eq!(cap_for(1024, Some(50)), 50);
        assert_eq!(cap_for(1024, Some(5000)), 896);
        assert_eq!(cap_for(1 << 20, None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(cap_for(100, None), MIN_CONNECTIONS);
        assert_eq!(cap_for(1024, Some(0)), 1);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        let soft = raise_nofile_limit();
        let (now_soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(soft, now_soft);
        // Some systems cap below the hard limit (macOS: kern.maxfilesperproc).
        assert!(cfg!(not(target_os = "linux")) || now_soft == hard);
    }
}
