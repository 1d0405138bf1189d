//! `decodeur_trame`: the frame decoder of lab 16.
//!
//! # Layout
//! - The text of each frame comes from [`sheet`] (the lab's functions and
//!   their blocks, byte for byte) walked layer by layer by [`walk`]; the
//!   rest of the crate feeds it frames and writes the text out.
//! - [`input`]: the frame given on the command line (hex or `b'...'`).
//! - [`capture`]: pcap and pcapng files, streamed through a small buffer.
//! - [`live`]: an `AF_PACKET` socket (16.12).
//! - [`exemples`]: the answers of 16.1, 16.2, 16.7 and 16.9.
//! - [`generate`]: a deterministic mix of valid frames (built with
//!   `protocols`' `Repr::emit` writers) for the benchmark's capture file.
//!
//! All text goes through one [`FrameWriter`]: frames are laid out back to
//! back in one reused byte buffer, written in large batches to one
//! `BufWriter` over the locked stdout (live capture: whenever no frame is
//! waiting). A closed stdout (`| head`) surfaces as a `BrokenPipe` error
//! that `server_kit::cli::finish` turns into a quiet exit 0.
//!
//! ```mermaid
//! flowchart LR
//!     P[pcap / pcapng<br/>capture::for_each_frame] --> W[FrameWriter]
//!     L[AF_PACKET<br/>live::capture] --> W
//!     W -->|walk::write_frame| B[tampon d'octets]
//!     B -->|lots de 256 Kio| S[BufWriter stdout]
//! ```

use std::fmt::Write as _;
use std::io::{self, Read, Write};

use server_kit::cli::BoxError;
use server_kit::Shutdown;

use crate::filter::Filter;
use crate::walk::{write_frame_with, FrameSummary, LinkType, Options, Proto, TransportChecksums};

pub mod capture;
mod details;
pub mod exemples;
pub mod filter;
pub mod generate;
pub mod input;
pub mod live;
pub mod schema;
pub mod sheet;
mod text;
pub mod walk;

/// The binary's name, as it prefixes its stderr lines.
pub const BINARY: &str = "decodeur_trame";

/// `decodeur_trame exemples`: the answers of 16.1, 16.2, 16.7 and 16.9.
pub fn print_examples(mut out: impl Write) -> Result<(), BoxError> {
    out.write_all(exemples::text()?.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// What to print of each frame: the options of `trame`, `pcap` and `live`.
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    /// `--details`: the fields beyond the lab's ([`walk::Options`]).
    pub details: bool,
    /// `--schema`: each header as its RFC draws it ([`schema`]), instead of
    /// the lab's text.
    pub schema: bool,
    /// `--port`, `--protocole`: which frames are shown.
    pub filter: Filter,
    /// `--nombre`: stop after this many frames shown.
    pub limit: Option<u64>,
}

/// `decodeur_trame trame TEXT`: one Ethernet frame given as hex or as a
/// Python bytes literal. Without options, exactly the lab's
/// `decode_trame(trame)` ([`sheet::decode_trame`]).
pub fn print_frame_text(text: &str, view: &View, mut out: impl Write) -> Result<(), BoxError> {
    let frame = input::parse_frame_text(text)?;
    let mut text = Vec::with_capacity(1024);
    write_one_frame(
        &mut text,
        &frame,
        LinkType::Ethernet,
        view,
        Default::default(),
    );
    out.write_all(&text)?;
    out.flush()?;
    Ok(())
}

/// One frame's text as `view` asks: the lab's blocks (with `--details`
/// lines), or the header diagrams.
fn write_one_frame(
    out: &mut Vec<u8>,
    frame: &[u8],
    link: LinkType,
    view: &View,
    checksums: TransportChecksums,
) -> FrameSummary {
    let options = Options {
        details: view.details,
        checksums,
    };
    if view.schema {
        let start = out.len();
        let summary = write_frame_with(out, frame, link, options);
        out.truncate(start);
        schema::write_frame(out, frame, link);
        summary
    } else {
        write_frame_with(out, frame, link, options)
    }
}

/// `decodeur_trame pcap FILE`: every frame of a pcap/pcapng stream. The
/// frames before a damaged record are printed (and counted) before the
/// error is returned. Returns the counts.
pub fn print_capture(
    source: impl Read,
    view: &View,
    out: impl Write,
) -> (Stats, Result<(), BoxError>) {
    let mut writer = FrameWriter::new(out).with_view(*view);
    let result = capture::for_each_frame(source, |link, data| {
        writer.frame(Link::from_pcap(link), data)?;
        Ok(!writer.limit_reached())
    });
    let stats = writer.stats().clone();
    let flushed = writer.finish();
    // A write error (closed pipe) comes first: it is why reading stopped.
    let result = match (flushed, result) {
        (Err(e), _) => Err(e.into()),
        (Ok(_), Err(e)) => Err(e.into()),
        (Ok(_), Ok(_)) => Ok(()),
    };
    (stats, result)
}

/// `decodeur_trame live`: captures until `config.count` frames or until
/// `shutdown`; prints the ready line on stderr once the socket is open.
pub fn print_live(
    config: &live::LiveConfig,
    view: &View,
    shutdown: &Shutdown,
    out: impl Write,
) -> (Stats, Result<(), BoxError>) {
    let place = config
        .interface
        .clone()
        .unwrap_or_else(|| "toutes les interfaces".into());
    // Both closures need the writer: they run one at a time.
    let writer = std::cell::RefCell::new(FrameWriter::new(out).with_view(*view));
    let result = live::capture(
        config,
        shutdown,
        || eprintln!("{BINARY}: capture sur {place} (Ctrl-C pour arrêter)"),
        |link, checksums, data| {
            let mut writer = writer.borrow_mut();
            let shown = writer.frame_with(link, data, checksums)?;
            // A filtered capture shows few frames among many: show each
            // at once (a busy interface may never leave the loop idle).
            if shown && !view.filter.is_all() {
                writer.flush()?;
            }
            Ok(shown)
        },
        || writer.borrow_mut().flush(),
    );
    let writer = writer.into_inner();
    let stats = writer.stats().clone();
    let result = match (writer.finish(), result) {
        (Err(e), _) => Err(e.into()),
        (Ok(_), Err(e)) => Err(e.into()),
        (Ok(_), Ok(_)) => Ok(()),
    };
    (stats, result)
}

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
/// an empty line) to one output.
///
/// Frames are laid out back to back in one byte buffer, handed to the
/// output in batches of [`BATCH`] bytes: one copy of the text in all, and a
/// system call per batch when the output is a `BufWriter` no larger than
/// the batch (it passes large writes straight through).
#[derive(Debug)]
pub struct FrameWriter<W: Write> {
    out: W,
    text: Vec<u8>,
    stats: Stats,
    view: View,
    /// Frames seen, shown or not: a frame keeps its number in the capture
    /// (as Wireshark's `frame.number`) when a filter hides others.
    seen: u64,
}

/// Bytes of text gathered before they are written out.
pub const BATCH: usize = OUTPUT_BUFFER;

impl<W: Write> FrameWriter<W> {
    pub fn new(out: W) -> Self {
        FrameWriter {
            out,
            text: Vec::with_capacity(BATCH + 64 * 1024),
            stats: Stats::default(),
            view: View::default(),
            seen: 0,
        }
    }

    /// What to print of each frame.
    pub fn with_view(mut self, view: View) -> Self {
        self.view = view;
        self
    }

    /// Whether `--nombre` frames were shown.
    pub fn limit_reached(&self) -> bool {
        self.view.limit.is_some_and(|n| self.stats.frames >= n)
    }

    /// Writes out the frames laid out so far and flushes the output (live
    /// capture: show frames as they come).
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }

    /// Lays out and writes one frame; `Ok(false)` when the filter hides it.
    pub fn frame(&mut self, link: Link, data: &[u8]) -> io::Result<bool> {
        self.frame_with(link, data, TransportChecksums::Verify)
    }

    /// [`FrameWriter::frame`], choosing whether transport checksums are
    /// verified.
    pub fn frame_with(
        &mut self,
        link: Link,
        data: &[u8],
        checksums: TransportChecksums,
    ) -> io::Result<bool> {
        self.seen += 1;
        let start = self.text.len();
        let text = &mut self.text;
        text.extend_from_slice(b"=== Trame ");
        push_u64(text, self.seen);
        text.extend_from_slice(b" : ");
        push_u64(text, data.len() as u64);
        text.extend_from_slice(b" octets ===\n");
        let summary = match link {
            Link::Known(link) => Some(write_one_frame(text, data, link, &self.view, checksums)),
            Link::Unknown { kind, number } => {
                writeln!(text, "Type de lien {kind} {number} non décodé")?;
                None
            }
        };
        let shown = match &summary {
            Some(summary) => self.view.filter.matches(summary),
            None => self.view.filter.is_all(),
        };
        if !shown {
            self.text.truncate(start);
            return Ok(false);
        }
        let text = &mut self.text;
        text.push(b'\n');
        self.stats.record(data.len(), summary.as_ref());
        if self.text.len() >= BATCH {
            self.write_out()?;
        }
        Ok(true)
    }

    fn write_out(&mut self) -> io::Result<()> {
        self.out.write_all(&self.text)?;
        self.text.clear();
        Ok(())
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Writes what is left, flushes and gives back the output and counts.
    pub fn finish(mut self) -> io::Result<(W, Stats)> {
        self.write_out()?;
        self.out.flush()?;
        Ok((self.out, self.stats))
    }
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while let Some(slot) = at.checked_sub(1).and_then(|i| digits.get_mut(i)) {
        *slot = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
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
        let mut s = Vec::new();
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, u64::MAX.to_string().as_bytes());
    }
}
