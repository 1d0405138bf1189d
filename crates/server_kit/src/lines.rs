//! Bounded line reads: a peer decides what it sends, not how much we buffer.
//!
//! [`read_line_bounded`] works on any `BufRead`; [`Lines`] is the frame
//! layer of line protocols over a stream (plain or TLS, see
//! [`crate::stream`]): bounded reads in, whole lines out in one write each.

use std::io::{self, BufRead, BufReader, Read, Write};

/// What [`read_line_bounded`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A whole line is in the buffer, its `\n` (and any `\r`) removed.
    Line,
    /// The stream ended; the buffer holds what came after the last `\n`
    /// (possibly nothing).
    Eof,
    /// The line is longer than `max` bytes. The buffer holds a prefix of it;
    /// the reader stands inside the line, before its `\n`, so a caller
    /// should answer with an error and close, or skip the rest of the line
    /// (read on until a `Line`, which is that rest).
    TooLong,
}

/// Reads one `\n`-terminated line of at most `max` bytes (terminator, `\n`
/// or `\r\n`, not counted) into `buf`, which is cleared first.
pub fn read_line_bounded<R: BufRead + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    buf.clear();
    // One byte more than `max` leaves room for the `\r` of a `\r\n`.
    let limit = max.saturating_add(1);
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(LineRead::Eof);
        }
        let room = limit - buf.len();
        match available.iter().position(|&b| b == b'\n') {
            Some(end) if end <= room => {
                buf.extend_from_slice(&available[..end]);
                let len = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                if len > max {
                    // Leave the `\n` unread: a caller skipping the rest of
                    // the line must not eat the next one.
                    reader.consume(end);
                    return Ok(LineRead::TooLong);
                }
                reader.consume(end + 1);
                buf.truncate(len);
                return Ok(LineRead::Line);
            }
            _ if available.len() > room => {
                buf.extend_from_slice(&available[..room]);
                reader.consume(room);
                return Ok(LineRead::TooLong);
            }
            _ => {
                let n = available.len();
                buf.extend_from_slice(available);
                reader.consume(n);
            }
        }
    }
}

/// One read of [`Lines::read_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A whole line, without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// Longer than the bound: the rest of it is not read (close, or
    /// [`Lines::skip_rest`]).
    TooLong,
    /// The peer closed; an unfinished last line is dropped (a line protocol
    /// never acts on half a line).
    Eof,
}

/// A line reader over any stream, with a size bound.
#[derive(Debug)]
pub struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    max: usize,
}

impl<R: Read> Lines<R> {
    /// Lines of at most `max` bytes (terminator not counted).
    pub fn new(inner: R, max: usize) -> Self {
        Lines {
            reader: BufReader::with_capacity(8 * 1024, inner),
            line: Vec::new(),
            max,
        }
    }

    pub fn read_line(&mut self) -> io::Result<Line<'_>> {
        Ok(
            match read_line_bounded(&mut self.reader, &mut self.line, self.max)? {
                LineRead::Line => Line::Text(&self.line),
                LineRead::TooLong => Line::TooLong,
                LineRead::Eof => Line::Eof,
            },
        )
    }

    /// After [`Line::TooLong`]: reads up to the end of that line, so the next
    /// [`Lines::read_line`] starts on a fresh one.
    pub fn skip_rest(&mut self) -> io::Result<()> {
        while read_line_bounded(&mut self.reader, &mut self.line, self.max)? == LineRead::TooLong {}
        Ok(())
    }

    pub fn get_ref(&self) -> &R {
        self.reader.get_ref()
    }
}

/// Writes `line` and its `\n` in a single write call, so concurrent writers
/// on one stream (a reply and an event) never interleave inside a line.
pub fn write_line<W: Write + ?Sized>(out: &mut W, line: &[u8]) -> io::Result<()> {
    let mut framed = Vec::with_capacity(line.len() + 1);
    framed.extend_from_slice(line);
    framed.push(b'\n');
    out.write_all(&framed)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_over_a_stream_are_bounded_and_framed() {
        let mut out = Vec::new();
        write_line(&mut out, b"un").unwrap();
        write_line(&mut out, b"deux\r").unwrap();
        out.extend_from_slice(b"trop long\nfin\ncoupe");
        let mut lines = Lines::new(&out[..], 5);
        assert_eq!(lines.read_line().unwrap(), Line::Text(b"un"));
        assert_eq!(lines.read_line().unwrap(), Line::Text(b"deux"));
        assert_eq!(lines.read_line().unwrap(), Line::TooLong);
        lines.skip_rest().unwrap();
        assert_eq!(lines.read_line().unwrap(), Line::Text(b"fin"));
        assert_eq!(lines.read_line().unwrap(), Line::Eof);
    }

    fn lines(input: &[u8], max: usize, capacity: usize) -> Vec<(LineRead, Vec<u8>)> {
        let mut reader = BufReader::with_capacity(capacity, input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let r = read_line_bounded(&mut reader, &mut buf, max).unwrap();
            out.push((r, buf.clone()));
            if r != LineRead::Line {
                return out;
            }
        }
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        for capacity in [1, 2, 3, 64] {
            let got = lines(b"ab\r\ncd\n\nrest", 10, capacity);
            assert_eq!(
                got,
                vec![
                    (LineRead::Line, b"ab".to_vec()),
                    (LineRead::Line, b"cd".to_vec()),
                    (LineRead::Line, b"".to_vec()),
                    (LineRead::Eof, b"rest".to_vec()),
                ],
                "capacity {capacity}"
            );
        }
    }

    #[test]
    fn stops_at_the_limit() {
        for capacity in [1, 4, 64] {
            assert_eq!(
                lines(b"abcd\n", 4, capacity)[0],
                (LineRead::Line, b"abcd".to_vec())
            );
            assert_eq!(
                lines(b"abcd\r\n", 4, capacity)[0],
                (LineRead::Line, b"abcd".to_vec())
            );
            let (read, prefix) = lines(b"abcde\n", 4, capacity).remove(0);
            assert_eq!(read, LineRead::TooLong);
            assert!(b"abcde".starts_with(&prefix) && prefix.len() <= 5);
        }
    }

    #[test]
    fn skipping_a_long_line_never_eats_the_next_one() {
        // Lines of every length around the limit, then a short one.
        for len in 3..8 {
            for capacity in [1, 2, 3, 4, 5, 64] {
                let mut input = vec![b'x'; len];
                input.extend_from_slice(b"\nnext\n");
                let mut reader = BufReader::with_capacity(capacity, &input[..]);
                let mut buf = Vec::new();
                let first = read_line_bounded(&mut reader, &mut buf, 4).unwrap();
                if first == LineRead::TooLong {
                    while read_line_bounded(&mut reader, &mut buf, 4).unwrap() == LineRead::TooLong
                    {
                    }
                }
                assert_eq!(first == LineRead::TooLong, len > 4, "len {len}");
                assert_eq!(
                    read_line_bounded(&mut reader, &mut buf, 4).unwrap(),
                    LineRead::Line
                );
                assert_eq!(buf, b"next", "len {len}, capacity {capacity}");
            }
        }
    }
}
