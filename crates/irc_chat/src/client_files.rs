//! `irc_client`'s `/SEND` and `/RECV`: the files themselves. `/SEND bob
//! chemin` reads the file once for its size and hash and offers it
//! (`SEND bob <taille> <empreinte> <nom>`); `/RECV alice [dossier]` accepts,
//! remembering where to write. When the server's order comes
//! ([`Order`]), a thread per transfer opens the data connection, sends or
//! receives the bytes and prints the outcome; the chat goes on meanwhile.
//!
//! The receiver trusts nothing it is told: the name is checked again
//! ([`check_file_name`]), an existing file is never overwritten (the next
//! free `nom (1).ext` is taken, created exclusively), and the size and hash
//! are checked before the file is kept; a file that does not match is
//! deleted.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use protocols::chat_irc_file::{
    check_file_name, data_line, hash_hex, Direction, FileHash, Order, DONE_FAILED, DONE_OK,
    ERROR_PREFIX, MAX_FILE_SIZE, START,
};
use protocols::irc_text::{escape_controls, name_key};

use crate::texts;

/// How long a data connection waits for the server (the other end may
/// take the token's whole lifetime to come, then a stalled transfer is
/// cut by the server).
const DATA_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes read or written at once.
const CHUNK: usize = 256 * 1024;

/// Where the client prints: the terminal, shared by the printer thread
/// and the transfer threads (one whole line at a time).
pub type Screen<O> = Arc<Mutex<O>>;

/// Prints one line (its `\n` added), controls escaped; false when the
/// terminal is gone (a closed pipe).
pub fn say<O: Write>(screen: &Screen<O>, text: &str) -> bool {
    let mut out = screen.lock().unwrap_or_else(|e| e.into_inner());
    writeln!(out, "{}", escape_controls(text, &[]))
        .and_then(|()| out.flush())
        .is_ok()
}

/// A file this client offered and that is not yet asked for.
#[derive(Debug, Clone)]
struct Offered {
    path: PathBuf,
    name: String,
    size: u64,
    hash: u64,
}

/// The client's side of its transfers.
#[derive(Debug)]
pub struct Files {
    /// The server, for the data connections.
    server: SocketAddr,
    offered: Mutex<Vec<Offered>>,
    /// Nickname key -> folder given to `/RECV`.
    folders: Mutex<HashMap<String, PathBuf>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Files {
    pub fn new(server: SocketAddr) -> Files {
        Files {
            server,
            offered: Mutex::new(Vec::new()),
            folders: Mutex::new(HashMap::new()),
        }
    }

    /// `/SEND nick chemin` typed (`args` after the command word): the line
    /// to send to the server, or `None` after printing why not.
    pub fn send_command<O: Write>(&self, args: &str, screen: &Screen<O>) -> Option<String> {
        let Some((to, path)) = args.trim().split_once(char::is_whitespace) else {
            say(screen, &texts::client::send_usage());
            return None;
        };
        let path = Path::new(path.trim());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (size, hash) = match hash_file(path) {
            Ok(found) => found,
            Err(e) => {
                say(
                    screen,
                    &texts::client::unreadable(&path.display().to_string(), &e),
                );
                return None;
            }
        };
        if size > MAX_FILE_SIZE {
            say(screen, texts::file_too_big(size).trim_end());
            return None;
        }
        let mut offered = lock(&self.offered);
        offered.retain(|o| !(o.name == name && o.size == size && o.hash == hash));
        offered.push(Offered {
            path: path.to_owned(),
            name: name.clone(),
            size,
            hash,
        });
        Some(format!("SEND {to} {size} {} {name}", hash_hex(hash)))
    }

    /// `/RECV nick [dossier]` typed: the line to send, or `None` after
    /// printing why not.
    pub fn recv_command<O: Write>(&self, args: &str, screen: &Screen<O>) -> Option<String> {
        let args = args.trim();
        let (from, folder) = args.split_once(char::is_whitespace).unwrap_or((args, "."));
        if from.is_empty() {
            say(screen, &texts::client::recv_usage());
            return None;
        }
        let folder = PathBuf::from(folder.trim());
        if !folder.is_dir() {
            say(
                screen,
                &texts::client::not_a_folder(&folder.display().to_string()),
            );
            return None;
        }
        lock(&self.folders).insert(name_key(from), folder);
        Some(format!("RECV {from}"))
    }

    /// A line from the server: when it is a transfer order, the transfer
    /// starts in its own thread and true is returned (the line is not
    /// printed as is).
    pub fn order<O: Write + Send + 'static>(&self, line: &str, screen: &Screen<O>) -> bool {
        let Some(order) = Order::parse(line) else {
            return false;
        };
        let screen = Arc::clone(screen);
        let server = self.server;
        match order.direction {
            Direction::Send => {
                let mut offered = lock(&self.offered);
                let found = offered.iter().position(|o| {
                    o.name == order.file && o.size == order.size && o.hash == order.hash
                });
                let Some(at) = found else {
                    say(&screen, &texts::client::not_offered(&order.file));
                    return true;
                };
                let file = offered.remove(at);
                say(
                    &screen,
                    &texts::client::sending(&order.file, &order.peer, order.size),
                );
                thread::spawn(move || {
                    let text = match send_file(server, &order, &file.path) {
                        Ok(()) => texts::client::sent(&order.file, &order.peer),
                        Err(why) => texts::client::send_failed(&order.file, &order.peer, &why),
                    };
                    say(&screen, &text);
                });
            }
            Direction::Receive => {
                let folder = lock(&self.folders)
                    .remove(&name_key(&order.peer))
                    .unwrap_or_else(|| PathBuf::from("."));
                thread::spawn(move || {
                    let text = match receive_file(server, &order, &folder, &screen) {
                        Ok(path) => texts::client::received(
                            &order.file,
                            &order.peer,
                            &path.display().to_string(),
                            order.size,
                        ),
                        Err(why) => texts::client::receive_failed(&order.file, &order.peer, &why),
                    };
                    say(&screen, &text);
                });
            }
        }
        true
    }
}

/// A file's size and hash, read once.
fn hash_file(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ce n'est pas un fichier",
        ));
    }
    let mut hash = FileHash::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hash.update(&buf[..n]);
        size += n as u64;
        if size > MAX_FILE_SIZE {
            // No need to read on: it will be refused.
            return Ok((file.metadata()?.len().max(size), 0));
        }
    }
    Ok((size, hash.finish()))
}

/// Opens the data connection for `order` and waits for `DEBUT`.
fn open_data(server: SocketAddr, order: &Order) -> Result<BufReader<TcpStream>, String> {
    let mut stream = TcpStream::connect(server).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(DATA_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(DATA_TIMEOUT)))
        .and_then(|()| stream.write_all(format!("{}\n", data_line(&order.token)).as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    match server_line(&mut reader)?.as_str() {
        START => Ok(reader),
        other => Err(other.to_owned()),
    }
}

/// One line from the server on a data connection, as a reason when it is
/// an `ERREUR`.
fn server_line(reader: &mut impl BufRead) -> Result<String, String> {
    let mut line = Vec::new();
    let n = reader
        .take(512)
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err(texts::client::CLOSED.into());
    }
    let line = String::from_utf8_lossy(&line).trim_end().to_owned();
    match line.strip_prefix(ERROR_PREFIX) {
        Some(why) => Err(why.to_owned()),
        None => Ok(line),
    }
}

fn send_file(server: SocketAddr, order: &Order, path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut reader = open_data(server, order)?;
    let mut left = order.size;
    let mut buf = vec![0u8; CHUNK];
    {
        let mut out: &TcpStream = reader.get_ref();
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = file.read(&mut buf[..want]).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(texts::client::SHRUNK.into());
            }
            out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            left -= n as u64;
        }
    }
    match server_line(&mut reader)?.as_str() {
        DONE_OK => Ok(()),
        DONE_FAILED => Err(texts::client::DAMAGED.into()),
        other => Err(other.to_owned()),
    }
}

/// Creates a new file for `name` in `folder` without replacing any:
/// `name`, else `stem (1).ext`, `stem (2).ext`...
fn create_free(folder: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    for n in 0..1000 {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = folder.join(candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "aucun nom libre",
    ))
}

fn receive_file<O: Write>(
    server: SocketAddr,
    order: &Order,
    folder: &Path,
    screen: &Screen<O>,
) -> Result<PathBuf, String> {
    check_file_name(&order.file).map_err(|e| texts::client::bad_name(&e))?;
    let (path, file) = create_free(folder, &order.file).map_err(|e| e.to_string())?;
    say(
        screen,
        &texts::client::receiving(
            &order.file,
            &order.peer,
            order.size,
            &path.display().to_string(),
        ),
    );
    let result = receive_into(server, order, file);
    if result.is_err() {
        let _ = fs::remove_file(&path);
    }
    result.map(|()| path)
}

fn receive_into(server: SocketAddr, order: &Order, file: File) -> Result<(), String> {
    let mut reader = open_data(server, order)?;
    let mut out = BufWriter::with_capacity(CHUNK, file);
    let mut hash = FileHash::new();
    let mut got = 0u64;
    let mut buf = vec![0u8; CHUNK];
    while got < order.size {
        let want = buf
            .len()
            .min(usize::try_from(order.size - got).unwrap_or(usize::MAX));
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) | Err(_) => return Err(texts::client::cut(got, order.size)),
            Ok(n) => n,
        };
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        got += n as u64;
    }
    out.flush().map_err(|e| e.to_string())?;
    let intact = hash.finish() == order.hash;
    let verdict = if intact { DONE_OK } else { DONE_FAILED };
    let _ = reader
        .get_ref()
        .write_all(format!("{verdict}\n").as_bytes());
    if intact {
        Ok(())
    } else {
        Err(texts::client::DAMAGED.into())
    }
}
