//! Test helpers every crate may use, `protocols` included: this crate
//! depends on nothing in the workspace, so it breaks no dependency cycle
//! (`e2e` re-exports it, and `e2e`'s own tests may use `protocols`).
//!
//! - [`skip`]: a test that cannot run here (a program or a privilege is
//!   missing) says so on stderr; under `E2E_STRICT=1` (set by `.ci/run`,
//!   which installs every peer program) it fails instead.
//! - [`TestRng`]: a small seeded generator for many varied inputs.
//! - [`have_program`]: whether a peer program is on PATH.
//! - [`tmux::Tmux`]: a terminal program (irssi, an interactive shell)
//!   driven in tmux.
//! - [`unread_stderr::UnreadStderr`]: a server whose stderr nobody reads.
//! - For the load generators: [`percentile`], a process's CPU time
//!   ([`process_cpu_seconds`]) and the kernel's drops at a UDP port
//!   ([`udp_socket_drops`]).

pub mod tmux;
pub mod unread_stderr;

/// The `p` percentile (0.0 to 1.0) of `sorted` (ascending), zero if empty:
/// the value below which that share of the samples lies.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(last))
        .copied()
        .unwrap_or_default()
}

/// A process's CPU time so far (user + system, all its threads), in
/// seconds, from `/proc/PID/stat` (clock ticks: 100 a second on Linux).
pub fn process_cpu_seconds(pid: u32) -> std::io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    Ok((ticks(11) + ticks(12)) as f64 / 100.0)
}

/// Drops counted by the kernel at the UDP sockets bound to local `port`
/// (IPv4 and IPv6), or None if `/proc/net/udp` cannot be read.
pub fn udp_socket_drops(port: u16) -> Option<u64> {
    let mut total = None;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is "ADDR:PORT" in hex; drops is the last field.
            let local_port = fields
                .get(1)
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                let drops = fields.last().and_then(|d| d.parse::<u64>().ok());
                *total.get_or_insert(0) += drops.unwrap_or(0);
            }
        }
    }
    total
}

/// Whether a program is on PATH (for tests that need a real peer).
pub fn have_program(name: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The variable that turns skips into failures.
pub const STRICT_VAR: &str = "E2E_STRICT";

/// Whether skips are failures (`E2E_STRICT=1`).
pub fn strict() -> bool {
    std::env::var(STRICT_VAR).is_ok_and(|v| v == "1")
}

/// Says that a test is skipped, and why, where the user will see it: libtest
/// captures `eprintln!` of passing tests, but not direct writes to stderr.
///
/// # Panics
/// Under `E2E_STRICT=1`: CI installs everything the tests use, so a skip
/// there means a test that silently stopped testing.
pub fn skip(message: &str) {
    use std::io::Write;
    if strict() {
        panic!("{message} ({STRICT_VAR}=1 : un test sauté est un échec)");
    }
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A small deterministic generator (xorshift64*) for tests that want many
/// varied inputs and a failure that replays from the same seed.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` uniformly random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 0.5), 51);
        assert_eq!(percentile(&samples, 0.99), 100);
        assert_eq!(percentile(&samples, 1.0), 100);
        assert_eq!(percentile(&samples, 0.0), 1);
        assert_eq!(percentile::<u64>(&[], 0.99), 0);
    }

    /// One test for both cases (tests share the environment): the variable
    /// is read at each call.
    #[test]
    fn skip_fails_only_under_strict() {
        let before = std::env::var_os(STRICT_VAR);
        std::env::remove_var(STRICT_VAR);
        skip("SKIP test_support: message only");
        std::env::set_var(STRICT_VAR, "1");
        let failed = std::panic::catch_unwind(|| skip("SKIP test_support: must fail"));
        match before {
            Some(v) => std::env::set_var(STRICT_VAR, v),
            None => std::env::remove_var(STRICT_VAR),
        }
        let message = failed.expect_err("a skip under E2E_STRICT=1 panics");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("E2E_STRICT=1"), "{text}");
    }

    #[test]
    fn rng_replays_from_its_seed() {
        let (mut a, mut b) = (TestRng(7), TestRng(7));
        assert_eq!(a.bytes(32), b.bytes(32));
        assert!(a.below(10) < 10);
    }
}
