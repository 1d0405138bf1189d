//! The open-descriptor limit (`ulimit -n`). Many systems start programs with
//! a soft limit of 1024, below what a server with a thousand connections
//! queued needs; past it, `accept` fails with EMFILE and connections wait in
//! the backlog. The hard limit is usually far higher, and a process may raise
//! its own soft limit up to it, as nginx does (`worker_rlimit_nofile`).

use std::io;
use std::io::Write;

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

/// What a server calls at start-up: [`ensure_open_files`], best effort (a
/// sandbox may forbid it, and the server still works within the limit it
/// has), with one stderr line of `binary`'s when the limit stays below
/// `needed`. Returns the limit in force, if known.
pub fn raise_open_files(binary: &str, needed: u64) -> Option<u64> {
    let raised = ensure_open_files(needed);
    let mut err = io::stderr().lock();
    match raised {
        Ok(allowed) if allowed < needed => {
            let _ = writeln!(
                err,
                "{binary}: au plus {allowed} descripteurs ouverts (ulimit -n) pour \
                 {needed} utiles : au-delà, les nouvelles connexions attendront"
            );
        }
        Ok(_) => {}
        Err(ref e) => {
            let _ = writeln!(
                err,
                "{binary}: limite de descripteurs ouverts (ulimit -n) non relevée : {}",
                crate::cli::io_fr::io_error(e)
            );
        }
    }
    raised.ok()
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
