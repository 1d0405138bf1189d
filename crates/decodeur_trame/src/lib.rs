//! `decodeur_trame`: the frame decoder of lab 16.
//!
//! # Layout
//! - The text of each frame comes from [`protocols::layout`] (the lab's
//!   blocks, byte for byte); this crate only feeds it frames and writes the
//!   text out.
//! - [`input`]: the frame given on the command line (hex or `b'...'`).
//! - [`capture`]: pcap and pcapng files, streamed through a small buffer.
//! - [`live`]: an `AF_PACKET` socket (16.12).
//! - [`exemples`]: the answers of 16.1 and 16.2.
//! - [`build`] and [`generate`]: valid frames built field by field, for the
//!   tests and the benchmark's capture file.
//!
//! All text goes through one [`FrameWriter`]: each frame is laid out in a
//! reused `String`, then copied into one large `BufWriter` over the locked
//! stdout. A closed stdout (`| head`) surfaces as a `BrokenPipe` error that
//! `server_kit::cli::finish` turns into a quiet exit 0.

use std::fmt::Write as _;
use std::io::{self, Write};

use protocols::layout::{write_frame, FrameSummary, LinkType, Proto};

pub mod build;
pub mod capture;
pub mod exemples;
pub mod generate;
pub mod input;
pub mod live;

/// Size of the output buffer: big writes, few system calls.
pub const OUTPUT_BUFFER: usize = 256 * 1024;

/// How a frame begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A link layer we decode.
    Known(LinkType),
    /// One we do not: which numbering (`pcap` LINKTYPE or `ARPHRD`) and the
    /// number.
    Unknown { kind: &'static str, number: u32 },
}

impl Link {
    /// The link of a pcap/pcapng `LINKTYPE_*` number.
    pub fn from_pcap(linktype: u32) -> Link {
        match LinkType::from_pcap(linktype) {
            Some(link) => Link::Known(link),
            None => Link::Unknown {
                kind: "pcap",
                number: linktype,
            },
        }
    }
}

/// Per-protocol counts (`--stats`).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub frames: u64,
    pub bytes: u64,
    counts: [u64; Proto::ALL.len()],
    pub errors: u64,
    pub undecoded: u64,
    pub bad_checksums: u64,
    pub fragments: u64,
    pub unknown_links: u64,
}

impl Stats {
    fn record(&mut self, len: usize, summary: Option<&FrameSummary>) {
        self.frames += 1;
        self.bytes += len as u64;
        let Some(s) = summary else {
            self.unknown_links += 1;
            return;
        };
        for (count, proto) in self.counts.iter_mut().zip(Proto::ALL) {
            *count += u64::from(s.contains(proto));
        }
        self.errors += u64::from(s.error.is_some());
        self.undecoded += u64::from(s.undecoded);
        self.bad_checksums += u64::from(s.bad_checksum);
        self.fragments += u64::from(s.fragment);
    }

    /// How many frames held this protocol.
    pub fn count(&self, proto: Proto) -> u64 {
        Proto::ALL
            .iter()
            .position(|&p| p == proto)
            .and_then(|i| self.counts.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The report printed on stderr, one `name : count` per line (only the
    /// protocols that were seen).
    pub fn report(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, n: u64| {
            let _ = writeln!(out, "  {name:<24}: {n}");
        };
        line("Trames", self.frames);
        line("Octets", self.bytes);
        for proto in Proto::ALL {
            let n = self.count(proto);
            if n > 0 {
                line(proto.name(), n);
            }
        }
        for (name, n) in [
            ("En-têtes invalides", self.errors),
            ("Protocoles non décodés", self.undecoded),
            ("Checksums incorrects", self.bad_checksums),
            ("Fragments non initiaux", self.fragments),
            ("Types de lien inconnus", self.unknown_links),
        ] {
            if n > 0 {
                line(name, n);
            }
        }
        out
    }
}

/// Writes numbered frames (`=== Trame N : L octets ===`, the frame's text,
/// an empty line) to one buffered output.
#[derive(Debug)]
pub struct FrameWriter<W: Write> {
    out: W,
    text: String,
    stats: Stats,
    /// Flush after every frame (live capture: show frames as they come).
    flush_each: bool,
}

impl<W: Write> FrameWriter<W> {
    pub fn new(out: W) -> Self {
        FrameWriter {
            out,
            text: String::with_capacity(64 * 1024),
            stats: Stats::default(),
            flush_each: false,
        }
    }

    /// Flush the output after every frame.
    pub fn flush_each_frame(mut self, yes: bool) -> Self {
        self.flush_each = yes;
        self
    }

    /// Lays out and writes one frame.
    pub fn frame(&mut self, link: Link, data: &[u8]) -> io::Result<()> {
        let text = &mut self.text;
        text.clear();
        text.push_str("=== Trame ");
        push_u64(text, self.stats.frames + 1);
        text.push_str(" : ");
        push_u64(text, data.len() as u64);
        text.push_str(" octets ===\n");
        let summary = match link {
            Link::Known(link) => Some(write_frame(text, data, link)),
            Link::Unknown { kind, number } => {
                let _ = writeln!(text, "Type de lien {kind} {number} non décodé");
                None
            }
        };
        text.push('\n');
        self.stats.record(data.len(), summary.as_ref());
        self.out.write_all(self.text.as_bytes())?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Flushes and gives back the output.
    pub fn finish(mut self) -> io::Result<(W, Stats)> {
        self.out.flush()?;
        Ok((self.out, self.stats))
    }
}

fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_frames_and_unknown_links() {
        let mut w = FrameWriter::new(Vec::new());
        w.frame(Link::from_pcap(1), &[0; 3]).unwrap();
        w.frame(Link::from_pcap(147), &[1, 2]).unwrap();
        let (out, stats) = w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "=== Trame 1 : 3 octets ===\nEthernet tronqué : 14 octets nécessaires, 3 présents\n\n\
             === Trame 2 : 2 octets ===\nType de lien pcap 147 non décodé\n\n"
        );
        assert_eq!(stats.frames, 2);
        assert_eq!(stats.errors, 1);
        assert_eq!(stats.unknown_links, 1);
        let mut s = String::new();
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, u64::MAX.to_string());
    }
}
