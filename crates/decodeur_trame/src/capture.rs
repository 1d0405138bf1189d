//! Reading pcap and pcapng files as a stream.
//!
//! pcap-file's readers keep an 8 MB buffer each; we drive its *parsers*
//! from our own buffer instead, which starts at 256 KiB and grows only for a
//! record that does not fit (up to [`MAX_RECORD`]). Memory therefore stays
//! flat whatever the file's size, and `-` (a pipe from `tcpdump -w -`) works
//! like a file.
//!
//! pcapng is read block by block with pcap-file's block parser, not its
//! `PcapNgParser`, which keeps every interface description block it meets,
//! options included: a hostile file repeating them made memory grow without
//! bound. We keep only each interface's link type, at most
//! [`MAX_INTERFACES`] per section.

use std::fmt;
use std::io::{self, Read};

use byteorder::{BigEndian, LittleEndian};
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::Block;
use pcap_file::{Endianness, PcapError};

/// Bytes read from the source at a time.
const CHUNK: usize = 256 * 1024;
/// The largest pcap record or pcapng block we accept (a frame captured with
/// the largest snap length tcpdump allows is 256 KiB).
pub const MAX_RECORD: usize = 4 * 1024 * 1024;
/// The most interfaces a pcapng section may describe (a real capture has a
/// handful; `tcpdump -i any` one): 4 bytes each.
pub const MAX_INTERFACES: usize = 65_536;

/// The magic numbers at the start of the two formats.
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Why a capture could not be read to its end.
#[derive(Debug)]
pub enum CaptureError {
    /// Reading the capture failed.
    Io(io::Error),
    /// The frame callback failed (writing the text out, most often to a
    /// closed pipe).
    Output(io::Error),
    /// Not a single byte.
    Empty,
    /// Neither pcap nor pcapng.
    UnknownFormat,
    /// The file stops in the middle of a record (frames before it were
    /// decoded).
    TruncatedFile { frames: u64 },
    /// A record longer than [`MAX_RECORD`].
    RecordTooLarge { frames: u64 },
    /// pcap-file refused a header or block.
    Format { frames: u64, error: PcapError },
    /// More than [`MAX_INTERFACES`] interface description blocks in one
    /// section.
    TooManyInterfaces { frames: u64 },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "lecture impossible : {e}"),
            CaptureError::Output(e) => write!(f, "écriture impossible : {e}"),
            CaptureError::Empty => f.write_str("fichier vide : aucun en-tête pcap ni pcapng"),
            CaptureError::UnknownFormat => {
                f.write_str("ce n'est ni un fichier pcap ni un fichier pcapng")
            }
            CaptureError::TruncatedFile { frames } => {
                write!(f, "fichier tronqué : il s'arrête au milieu de l'enregistrement qui suit la trame {frames}")
            }
            CaptureError::RecordTooLarge { frames } => write!(
                f,
                "enregistrement de plus de {} Mio après la trame {frames} : fichier corrompu ?",
                MAX_RECORD >> 20
            ),
            CaptureError::Format { frames, error } => {
                write!(f, "fichier invalide après la trame {frames} : {error}")
            }
            CaptureError::TooManyInterfaces { frames } => write!(
                f,
                "fichier refusé après la trame {frames} : plus de {MAX_INTERFACES} descriptions d'interface dans une section pcapng (fichier corrompu ?)"
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(e) | CaptureError::Output(e) => Some(e),
            _ => None,
        }
    }
}

/// A growable window over a byte source: `data()` is what has been read
/// but not yet consumed.
struct Window<R> {
    source: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Window<R> {
    fn new(source: R) -> Self {
        Window {
            source,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Reads more bytes after the unconsumed ones; `Ok(false)` at the end of
    /// the source. Grows the buffer when the unconsumed bytes fill it.
    fn fill(&mut self, frames: u64) -> Result<bool, CaptureError> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_RECORD {
                return Err(CaptureError::RecordTooLarge { frames });
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::Io(e)),
            }
        }
    }
}

/// Calls `frame(link_type, data)` for every frame of a pcap or pcapng
/// stream, in order. `link_type` is the pcap `LINKTYPE_*` number of the
/// frame's interface. Stops at the first error `frame` returns, or when it
/// returns `Ok(false)` (enough frames).
///
/// Returns the number of frames read.
pub fn for_each_frame<R, F>(source: R, mut frame: F) -> Result<u64, CaptureError>
where
    R: Read,
    F: FnMut(u32, &[u8]) -> io::Result<bool>,
{
    let mut window = Window::new(source);
    while window.data().len() < 4 {
        if !window.fill(0)? {
            return Err(if window.data().is_empty() {
                CaptureError::Empty
            } else {
                CaptureError::UnknownFormat
            });
        }
    }
    let magic: [u8; 4] = window.data()[..4]
        .try_into()
        .map_err(|_| CaptureError::UnknownFormat)?;
    if PCAP_MAGICS.contains(&magic) {
        read_pcap(&mut window, &mut frame)
    } else if magic == PCAPNG_MAGIC {
        read_pcapng(&mut window, &mut frame)
    } else {
        Err(CaptureError::UnknownFormat)
    }
}

/// What one parse attempt gave, with no borrow of the window left.
enum Step {
    Consumed(usize),
    NeedMore,
}

/// Runs `parse` on the window until it succeeds, refilling on
/// `IncompleteBuffer`. `Ok(None)` at a clean end of file.
fn step<R: Read>(
    window: &mut Window<R>,
    frames: u64,
    mut parse: impl FnMut(&[u8]) -> Result<Step, CaptureError>,
) -> Result<Option<()>, CaptureError> {
    loop {
        if window.data().is_empty() && !window.fill(frames)? {
            return Ok(None);
        }
        match parse(window.data())? {
            Step::Consumed(n) => {
                window.consume(n);
                return Ok(Some(()));
            }
            Step::NeedMore => {
                if !window.fill(frames)? {
                    return Err(CaptureError::TruncatedFile { frames });
                }
            }
        }
    }
}

fn format_error(frames: u64, error: PcapError) -> CaptureError {
    match error {
        PcapError::IoError(e) => CaptureError::Io(e),
        error => CaptureError::Format { frames, error },
    }
}

/// Reads the file header with `parse` (`PcapParser::new` or
/// its file header parser), which gives the parser of the records after it.
fn file_header<R: Read, P>(
    window: &mut Window<R>,
    parse: impl Fn(&[u8]) -> Result<(&[u8], P), PcapError>,
) -> Result<P, CaptureError> {
    let mut parser = None;
    step(window, 0, |data| match parse(data) {
        Ok((rest, p)) => {
            parser = Some(p);
            Ok(Step::Consumed(data.len() - rest.len()))
        }
        Err(PcapError::IncompleteBuffer) => Ok(Step::NeedMore),
        Err(e) => Err(format_error(0, e)),
    })?;
    parser.ok_or(CaptureError::TruncatedFile { frames: 0 })
}

fn read_pcap<R: Read, F>(window: &mut Window<R>, frame: &mut F) -> Result<u64, CaptureError>
where
    F: FnMut(u32, &[u8]) -> io::Result<bool>,
{
    let parser = file_header(window, PcapParser::new)?;
    let link = u32::from(parser.header().datalink);
    let mut frames = 0;
    let mut more = true;
    while more {
        let done = step(window, frames, |data| match parser.next_raw_packet(data) {
            Ok((rest, packet)) => {
                more = frame(link, &packet.data).map_err(CaptureError::Output)?;
                Ok(Step::Consumed(data.len() - rest.len()))
            }
            Err(PcapError::IncompleteBuffer) => Ok(Step::NeedMore),
            Err(e) => Err(format_error(frames, e)),
        })?;
        if done.is_none() {
            return Ok(frames);
        }
        frames += 1;
    }
    Ok(frames)
}

fn read_pcapng<R: Read, F>(window: &mut Window<R>, frame: &mut F) -> Result<u64, CaptureError>
where
    F: FnMut(u32, &[u8]) -> io::Result<bool>,
{
    // Each section header sets the byte order of the blocks after it and
    // starts a new list of interfaces. The first block is one (the magic
    // number said so); its own byte order is read from its body.
    let mut endianness = Endianness::Big;
    let mut links: Vec<u32> = Vec::new();
    let mut frames = 0;
    let mut more = true;
    while more {
        let mut was_frame = false;
        let done = step(window, frames, |data| {
            let parsed = match endianness {
                Endianness::Big => Block::from_slice::<BigEndian>(data),
                Endianness::Little => Block::from_slice::<LittleEndian>(data),
            };
            let (rest, block) = match parsed {
                Ok(parsed) => parsed,
                Err(PcapError::IncompleteBuffer) => return Ok(Step::NeedMore),
                Err(e) => return Err(format_error(frames, e)),
            };
            let consumed = data.len() - rest.len();
            let (interface, bytes) = match &block {
                Block::SectionHeader(section) => {
                    endianness = section.endianness;
                    links.clear();
                    return Ok(Step::Consumed(consumed));
                }
                Block::InterfaceDescription(interface) => {
                    if links.len() >= MAX_INTERFACES {
                        return Err(CaptureError::TooManyInterfaces { frames });
                    }
                    links.push(u32::from(interface.linktype));
                    return Ok(Step::Consumed(consumed));
                }
                Block::EnhancedPacket(p) => (p.interface_id, &p.data),
                Block::SimplePacket(p) => (0, &p.data),
                // The obsolete Packet Block of pcapng's first drafts.
                Block::Packet(p) => (u32::from(p.interface_id), &p.data),
                // Statistics, names and the like carry no frame.
                _ => return Ok(Step::Consumed(consumed)),
            };
            // An interface id without its description block: the link
            // type is unknown (0 is LINKTYPE_NULL, which we do not decode,
            // and say so).
            let link = links.get(interface as usize).copied().unwrap_or(0);
            was_frame = true;
            more = frame(link, bytes).map_err(CaptureError::Output)?;
            Ok(Step::Consumed(consumed))
        })?;
        if done.is_none() {
            return Ok(frames);
        }
        if was_frame {
            frames += 1;
        }
    }
    Ok(frames)
}
