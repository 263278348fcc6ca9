//! An upstream below any HTTP library: it keeps every byte Wafer sends it,
//! per connection, and frames requests itself (Content-Length and chunked),
//! so a test can say exactly what reached the application, smuggled bytes
//! included. And a raw client that writes bytes to Wafer and returns what came
//! back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the recorder could frame and answered.
#[derive(Clone, Debug)]
pub(crate) struct Framed {
    pub(crate) method: String,
    pub(crate) target: String,
    /// Names lowercased, in the order received.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// The body, de-chunked when it came chunked.
    pub(crate) body: Vec<u8>,
}

impl Framed {
    /// Every value of `name`, joined with `, `.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

type Bytes = Arc<Mutex<Vec<u8>>>;

pub(crate) struct Recorder {
    pub(crate) addr: SocketAddr,
    /// The bytes of each connection, in the order the connections came.
    conns: Arc<Mutex<Vec<Bytes>>>,
    framed: Arc<Mutex<Vec<Framed>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    pub(crate) async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<Bytes>>> = Arc::default();
        let framed: Arc<Mutex<Vec<Framed>>> = Arc::default();
        let (c, f) = (Arc::clone(&conns), Arc::clone(&framed));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let bytes: Bytes = Arc::default();
                c.lock().unwrap().push(Arc::clone(&bytes));
                tokio::spawn(connection(stream, bytes, Arc::clone(&f)));
            }
        });
        Recorder {
            addr,
            conns,
            framed,
            task,
        }
    }

    /// Every byte received, each connection's in turn.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let conns = self.conns.lock().unwrap().clone();
        conns
            .iter()
            .flat_map(|c| c.lock().unwrap().clone())
            .collect()
    }

    /// The requests framed and answered, in order.
    pub(crate) fn requests(&self) -> Vec<Framed> {
        self.framed.lock().unwrap().clone()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

async fn connection(mut stream: TcpStream, record: Bytes, framed: Arc<Mutex<Vec<Framed>>>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Answer every complete request already buffered (pipelining).
        loop {
            match frame(&buf) {
                Parse::Done(req, used) => {
                    framed.lock().unwrap().push(req);
                    buf.drain(..used);
                    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Recorder: 1\r\n\r\nok";
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
                Parse::More => break,
                // Bytes that are not HTTP as the recorder reads it: kept, and the connection closed.
                Parse::Bad => {
                    let mut rest = Vec::new();
                    let _ = tokio::time::timeout(
                        Duration::from_millis(200),
                        stream.read_to_end(&mut rest),
                    )
                    .await;
                    record.lock().unwrap().extend_from_slice(&rest);
                    return;
                }
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                record.lock().unwrap().extend_from_slice(&chunk[..n]);
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

enum Parse {
    /// A request and how many bytes it took.
    Done(Framed, usize),
    More,
    Bad,
}

fn frame(buf: &[u8]) -> Parse {
    if buf.is_empty() {
        return Parse::More;
    }
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parse::More,
        Err(_) => return Parse::Bad,
    };
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    let values = |name: &str| -> Vec<String> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
            .collect()
    };
    let te = values("transfer-encoding");
    let cl = values("content-length");
    let rest = &buf[head_len..];
    let (body, body_len) = if !te.is_empty() {
        let last = te.join(",");
        if last.rsplit(',').next().map(str::trim) != Some("chunked") || !cl.is_empty() {
            return Parse::Bad;
        }
        match dechunk(rest) {
            Parse2::Done(body, used) => (body, used),
            Parse2::More => return Parse::More,
            Parse2::Bad => return Parse::Bad,
        }
    } else if !cl.is_empty() {
        if cl.iter().any(|v| v != &cl[0]) || !cl[0].bytes().all(|b| b.is_ascii_digit()) {
            return Parse::Bad;
        }
        let Ok(n) = cl[0].parse::<usize>() else {
            return Parse::Bad;
        };
        if rest.len() < n {
            return Parse::More;
        }
        (rest[..n].to_vec(), n)
    } else {
        (Vec::new(), 0)
    };
    Parse::Done(
        Framed {
            method: req.method.unwrap_or("").to_owned(),
            target: req.path.unwrap_or("").to_owned(),
            headers,
            body,
        },
        head_len + body_len,
    )
}

enum Parse2 {
    Done(Vec<u8>, usize),
    More,
    Bad,
}

/// Strict chunked decoding: CRLF line ends, hex sizes, extensions and trailers skipped.
fn dechunk(buf: &[u8]) -> Parse2 {
    let line = |at: usize| -> Option<Result<(&[u8], usize), ()>> {
        let end = buf[at..].windows(2).position(|w| w == b"\r\n")?;
        let l = &buf[at..at + end];
        if l.contains(&b'\n') || l.contains(&b'\r') {
            return Some(Err(()));
        }
        Some(Ok((l, at + end + 2)))
    };
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let (size_line, next) = match line(at) {
            None => return Parse2::More,
            Some(Err(())) => return Parse2::Bad,
            Some(Ok(x)) => x,
        };
        let hex = size_line.split(|&b| b == b';').next().unwrap_or(b"");
        let hex = std::str::from_utf8(hex).unwrap_or("!");
        let Ok(size) = usize::from_str_radix(hex.trim_end_matches([' ', '\t']), 16) else {
            return Parse2::Bad;
        };
        at = next;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                match line(at) {
                    None => return Parse2::More,
                    Some(Err(())) => return Parse2::Bad,
                    Some(Ok((l, next))) => {
                        at = next;
                        if l.is_empty() {
                            return Parse2::Done(body, at);
                        }
                    }
                }
            }
        }
        let Some(end) = at.checked_add(size) else {
            return Parse2::Bad;
        };
        if buf.len() < end + 2 {
            return Parse2::More;
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Parse2::Bad;
        }
        body.extend_from_slice(&buf[at..end]);
        at = end + 2;
    }
}

/// Writes `writes` to Wafer one after the other (with `pause` between them),
/// then reads until Wafer closes, nothing more came for half a second after
/// something did, or `wait` passed. Returns what Wafer answered.
pub(crate) async fn exchange(
    addr: SocketAddr,
    writes: &[&[u8]],
    pause: Duration,
    wait: Duration,
) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    for (i, w) in writes.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        // Wafer may answer (and close) before it has read everything.
        if s.write_all(w).await.is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let step = if out.is_empty() {
            left
        } else {
            left.min(Duration::from_millis(500))
        };
        match tokio::time::timeout(step, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One write, read for at most 5 s.
pub(crate) async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> String {
    exchange(addr, &[bytes], Duration::ZERO, Duration::from_secs(5)).await
}

/// The status codes of every response in `resp`, in order: each status line
/// (`HTTP/1.x NNN `) wherever it starts, since a response follows the previous
/// body without a line break.
pub(crate) fn statuses(resp: &str) -> Vec<u16> {
    resp.match_indices("HTTP/1.")
        .filter_map(|(at, _)| {
            let line = resp.get(at + 9..at + 13)?;
            let code = line.strip_suffix(' ')?;
            (resp.as_bytes()[at + 8] == b' ' && code.bytes().all(|b| b.is_ascii_digit()))
                .then(|| code.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_content_length_chunked_and_pipelined_requests() {
        let two = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let Parse::Done(a, used) = frame(two) else {
            panic!()
        };
        assert_eq!((a.target.as_str(), a.body.as_slice()), ("/a", &b"abc"[..]));
        let Parse::Done(b, _) = frame(&two[used..]) else {
            panic!()
        };
        assert_eq!(b.target, "/b");
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n";
        let Parse::Done(c, used) = frame(chunked) else {
            panic!()
        };
        assert_eq!((c.body.as_slice(), used), (&b"abc"[..], chunked.len()));
        assert!(matches!(frame(&chunked[..chunked.len() - 1]), Parse::More));
        assert!(matches!(frame(b"\x16\x03\x01garbage\r\n\r\n"), Parse::Bad));
    }

    #[test]
    fn statuses_of_responses_back_to_back() {
        let two = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 403 Forbidden\r\n\r\n";
        assert_eq!(statuses(two), [200, 403]);
        assert!(statuses("HTTP/1.1 20").is_empty());
    }
}
