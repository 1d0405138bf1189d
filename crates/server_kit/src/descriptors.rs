//! The open-descriptor limit (`ulimit -n`). Many systems start programs with
//! a soft limit of 1024, below what a server with a thousand connections
//! queued needs; past it, `accept` fails with EMFILE and connections wait in
//! the backlog. The hard limit is usually far higher, and a process may raise
//! its own soft limit up to it, as nginx does (`worker_rlimit_nofile`).

use std::io;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft limit on open descriptors to `needed` if it is lower,
/// within the hard limit. Returns the soft limit now in force, which is
/// below `needed` when the hard limit is.
pub fn ensure_open_files(needed: u64) -> io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= needed {
        return Ok(soft);
    }
    let raised = needed.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, raised, hard)?;
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_within_the_hard_one() {
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        // Already enough: nothing changes.
        assert_eq!(ensure_open_files(soft.min(64)).unwrap(), soft);
        // Above the hard limit: as far as it goes.
        if hard < u64::MAX {
            assert_eq!(ensure_open_files(hard.saturating_add(1)).unwrap(), hard);
            assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap(), (hard, hard));
        }
    }
}
