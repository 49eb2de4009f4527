//! Plain HTTP/1.x: response bodies of downloads, paired with the requests that asked.
//!
//! The client side is read for its request lines (method, target, Host) and its
//! bodies are skipped; the server side is read for status, headers and body, framed
//! as RFC 9112 section 6.3 says: no body for HEAD, 1xx, 204 and 304; chunked when
//! the last transfer coding is chunked; Content-Length; otherwise until the
//! connection closes. Successful (2xx) bodies are kept, within the object limits.
//! Header blocks, chunk-size lines and pending requests are capped; a response that
//! breaks the framing stops the reading of that connection.

use std::collections::VecDeque;

use serde::Serialize;

use super::buffer::{Budget, ConnectorLimits, ObjectBuffer, overflow_detail};
use super::{ExtractedObject, Found, IssueKind, ObjectDetails, Sender};

/// Header lines one message may carry.
const MAX_HEADERS: usize = 256;
/// Bytes of a chunk-size line (size and extensions).
const MAX_CHUNK_LINE: usize = 1024;
/// Characters of the target and of header values kept in reports.
const MAX_TEXT: usize = 2048;

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// What the network says about one downloaded body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpObjectInfo {
    pub method: Option<String>,
    /// The request target as sent (usually a path).
    pub uri: Option<String>,
    pub host: Option<String>,
    /// `http://` + host (or server address) + target, when the request was seen.
    pub url: Option<String>,
    pub status: u16,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_length: Option<u64>,
    pub chunked: bool,
}

/// Whether a client stream starts like an HTTP request.
pub fn looks_like_request(head: &[u8]) -> bool {
    METHODS.iter().any(|method| head.starts_with(method))
}

/// The parts of a request the response needs.
#[derive(Debug, Clone, Default)]
struct Request {
    method: String,
    uri: String,
    host: Option<String>,
}

impl Request {
    /// Bytes it holds.
    fn size(&self) -> usize {
        self.method.capacity()
            + self.uri.capacity()
            + self.host.as_ref().map_or(0, String::capacity)
    }
}

/// A header block read into its start line and headers.
#[derive(Debug, Default)]
struct Head {
    start: Vec<String>,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one body in its framing, handing out the body bytes.
#[derive(Debug)]
struct BodyReader {
    framing: Framing,
    left: u64,
    chunk: ChunkState,
}

#[derive(Debug)]
enum ChunkState {
    Size(Vec<u8>),
    Data,
    DataEnd(Vec<u8>),
    Trailer(Vec<u8>),
}

impl BodyReader {
    /// Bytes held for a chunk-size line, a chunk's end or the trailer.
    fn buffered(&self) -> usize {
        match &self.chunk {
            ChunkState::Size(line) | ChunkState::DataEnd(line) | ChunkState::Trailer(line) => {
                line.capacity()
            }
            ChunkState::Data => 0,
        }
    }

    fn new(framing: Framing) -> Self {
        let left = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        BodyReader {
            framing,
            left,
            chunk: ChunkState::Size(Vec::new()),
        }
    }

    /// Reads body bytes from `data`; returns the bytes used and whether the body ended.
    fn feed(
        &mut self,
        data: &[u8],
        max_trailer: usize,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(usize, bool), String> {
        match self.framing {
            Framing::UntilClose => {
                out(data);
                Ok((data.len(), false))
            }
            Framing::Length(_) => {
                let used = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                out(&data[..used]);
                self.left -= used as u64;
                Ok((used, self.left == 0))
            }
            Framing::Chunked => self.feed_chunked(data, max_trailer, out),
        }
    }

    fn feed_chunked(
        &mut self,
        data: &[u8],
        max_trailer: usize,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(usize, bool), String> {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            match &mut self.chunk {
                ChunkState::Size(line) => {
                    let (taken, complete) =
                        take_line(line, rest, MAX_CHUNK_LINE, "chunk-size line")?;
                    used += taken;
                    if complete {
                        self.left = chunk_size(line)?;
                        self.chunk = if self.left == 0 {
                            ChunkState::Trailer(Vec::new())
                        } else {
                            ChunkState::Data
                        };
                    }
                }
                ChunkState::Data => {
                    let taken = usize::try_from(self.left)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    out(&rest[..taken]);
                    self.left -= taken as u64;
                    used += taken;
                    if self.left == 0 {
                        self.chunk = ChunkState::DataEnd(Vec::new());
                    }
                }
                ChunkState::DataEnd(line) => {
                    let (taken, complete) = take_line(line, rest, 2, "chunk end")?;
                    used += taken;
                    if complete {
                        if !line_is_empty(line) {
                            return Err("chunk data runs past its declared size".into());
                        }
                        self.chunk = ChunkState::Size(Vec::new());
                    }
                }
                ChunkState::Trailer(line) => {
                    let (taken, complete) = take_line(line, rest, max_trailer, "trailer")?;
                    used += taken;
                    if complete {
                        if line_is_empty(line) {
                            return Ok((used, true));
                        }
                        line.clear();
                    }
                }
            }
        }
        Ok((used, false))
    }
}

/// Appends bytes to `line` up to and including a '\n'; returns (bytes used, line complete).
fn take_line(
    line: &mut Vec<u8>,
    data: &[u8],
    max: usize,
    what: &str,
) -> Result<(usize, bool), String> {
    let (taken, complete) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (end + 1, true),
        None => (data.len(), false),
    };
    if line.len() + taken > max {
        return Err(format!("a {what} longer than {max} bytes"));
    }
    line.extend_from_slice(&data[..taken]);
    Ok((taken, complete))
}

fn line_is_empty(line: &[u8]) -> bool {
    line == b"\r\n" || line == b"\n"
}

/// The size of a chunk from its line: hexadecimal digits, then optional extensions.
fn chunk_size(line: &[u8]) -> Result<u64, String> {
    let text = String::from_utf8_lossy(line);
    let digits = text.split(';').next().unwrap_or_default().trim();
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "the chunk size {:?} is not a hexadecimal number",
            shorten(digits, 40)
        ));
    }
    u64::from_str_radix(digits, 16).map_err(|err| format!("chunk size {digits:?}: {err}"))
}

/// Reads header blocks into a buffer until the blank line that ends them.
#[derive(Debug, Default)]
struct HeadReader {
    buf: Vec<u8>,
}

impl HeadReader {
    fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Returns the bytes used and, when the blank line came, the parsed head.
    fn feed(&mut self, data: &[u8], max: usize) -> Result<(usize, Option<Head>), String> {
        let search_from = self.buf.len().saturating_sub(3);
        let room = (max + 1).saturating_sub(self.buf.len());
        let taken = room.min(data.len());
        self.buf.extend_from_slice(&data[..taken]);

        let Some(end) = head_end(&self.buf, search_from) else {
            if self.buf.len() > max {
                return Err(format!("a header block longer than {max} bytes"));
            }
            return Ok((taken, None));
        };
        let used = taken - (self.buf.len() - end);
        self.buf.truncate(end);
        let head = parse_head(&std::mem::take(&mut self.buf))?;
        Ok((used, Some(head)))
    }
}

/// Where the blank line ending a header block ends ("\r\n\r\n" or "\n\n").
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            let before = &buf[..i];
            if before.ends_with(b"\n") || before.ends_with(b"\n\r") {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

fn parse_head(block: &[u8]) -> Result<Head, String> {
    let text = String::from_utf8_lossy(block);
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let start: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .splitn(3, ' ')
        .map(|part| shorten(part, MAX_TEXT))
        .collect();

    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() >= MAX_HEADERS {
            return Err(format!("more than {MAX_HEADERS} header lines"));
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), shorten(value.trim(), MAX_TEXT)));
        }
    }
    Ok(Head { start, headers })
}

fn shorten(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The client side: request heads, then their bodies skipped.
#[derive(Debug)]
enum ClientState {
    Head(HeadReader),
    Body(BodyReader),
    Stopped,
}

/// The server side: a response head, then its body.
#[derive(Debug)]
enum ServerState {
    Head(HeadReader),
    Body {
        info: Box<HttpObjectInfo>,
        body: BodyReader,
        kept: Option<ObjectBuffer>,
    },
    Stopped,
}

/// One HTTP connection, both ways.
#[derive(Debug)]
pub struct HttpConnection {
    client: ClientState,
    server: ServerState,
    pending: VecDeque<Request>,
    limits: ConnectorLimits,
}

impl HttpConnection {
    /// A connection whose client stream starts with a request.
    pub fn new(limits: ConnectorLimits) -> Self {
        HttpConnection {
            client: ClientState::Head(HeadReader::default()),
            server: ServerState::Head(HeadReader::default()),
            pending: VecDeque::new(),
            limits,
        }
    }

    /// Reads bytes sent by `sender`; completed bodies and problems go to `found`.
    pub fn feed(
        &mut self,
        sender: Sender,
        data: &[u8],
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let result = match sender {
            Sender::Client => self.feed_client(data),
            Sender::Server => self.feed_server(data, budget, found),
        };
        if let Err(detail) = result {
            found.push(Found::issue(sender, IssueKind::Malformed, detail));
            self.stop(sender, budget, found, "the HTTP framing broke");
        }
    }

    /// Bytes from `sender` that will never arrive: that side is no longer read.
    pub fn gap(
        &mut self,
        sender: Sender,
        missing: u64,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let stopped = match sender {
            Sender::Client => matches!(self.client, ClientState::Stopped),
            Sender::Server => matches!(self.server, ServerState::Stopped),
        };
        if stopped {
            return;
        }
        let detail = format!(
            "{missing} bytes of the HTTP connection are missing from the capture; the rest of \
             this direction is not read"
        );
        found.push(Found::issue(sender, IssueKind::Truncated, detail));
        self.stop(sender, budget, found, "bytes were missing");
    }

    /// The connection closed: a body read until close is complete, others are cut short.
    pub fn finish(&mut self, budget: &mut Budget, found: &mut Vec<Found>) {
        let server = std::mem::replace(&mut self.server, ServerState::Stopped);
        if let ServerState::Body { info, body, kept } = server {
            if body.framing == Framing::UntilClose {
                self.complete(*info, kept, budget, found);
            } else {
                self.server = ServerState::Body { info, body, kept };
                self.stop(Sender::Server, budget, found, "the connection closed");
            }
        }
    }

    fn feed_client(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            let used = match &mut self.client {
                ClientState::Stopped => return Ok(()),
                ClientState::Head(reader) => {
                    let (used, head) = reader.feed(data, self.limits.max_http_header)?;
                    if let Some(head) = head {
                        self.client = self.request(&head)?;
                    }
                    used
                }
                ClientState::Body(body) => {
                    let (used, done) = body.feed(data, self.limits.max_http_header, &mut |_| {})?;
                    if done {
                        self.client = ClientState::Head(HeadReader::default());
                    }
                    used
                }
            };
            data = &data[used..];
        }
        Ok(())
    }

    /// Queues a request for its response and chooses how to skip its body.
    fn request(&mut self, head: &Head) -> Result<ClientState, String> {
        let [method, uri, version] = head.start.as_slice() else {
            return Err(format!(
                "the request line {:?} is not METHOD TARGET VERSION",
                head.start.join(" ")
            ));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(format!("the request names {version:?}, not HTTP/1.x"));
        }
        if self.pending.len() >= self.limits.max_pending_requests {
            return Err(format!(
                "more than {} requests wait for a response",
                self.limits.max_pending_requests
            ));
        }
        self.pending.push_back(Request {
            method: method.clone(),
            uri: uri.clone(),
            host: head.header("host").map(str::to_string),
        });
        if method == "CONNECT" {
            // A tunnel follows: not HTTP any more.
            return Ok(ClientState::Stopped);
        }
        let framing = match body_framing(head)? {
            Framing::UntilClose => Framing::Length(0),
            framing => framing,
        };
        Ok(match framing {
            Framing::Length(0) => ClientState::Head(HeadReader::default()),
            framing => ClientState::Body(BodyReader::new(framing)),
        })
    }

    fn feed_server(
        &mut self,
        mut data: &[u8],
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) -> Result<(), String> {
        while !data.is_empty() {
            let used = match &mut self.server {
                ServerState::Stopped => return Ok(()),
                ServerState::Head(reader) => {
                    let (used, head) = reader.feed(data, self.limits.max_http_header)?;
                    if let Some(head) = head {
                        self.server = self.response(&head)?;
                        self.complete_if_empty(budget, found);
                    }
                    used
                }
                ServerState::Body { body, kept, .. } => {
                    let limits = &self.limits;
                    let (used, done) = body.feed(data, limits.max_http_header, &mut |bytes| {
                        if let Some(kept) = kept.as_mut() {
                            kept.append(bytes, limits, budget);
                        }
                    })?;
                    if done {
                        let next = ServerState::Head(HeadReader::default());
                        if let ServerState::Body { info, kept, .. } =
                            std::mem::replace(&mut self.server, next)
                        {
                            self.complete(*info, kept, budget, found);
                        }
                    }
                    used
                }
            };
            data = &data[used..];
        }
        Ok(())
    }

    /// Pairs a response head with its request and chooses how to read its body.
    fn response(&mut self, head: &Head) -> Result<ServerState, String> {
        let status = match head.start.as_slice() {
            [version, code, ..] if version.starts_with("HTTP/1.") => code
                .parse::<u16>()
                .ok()
                .filter(|c| (100..1000).contains(c))
                .ok_or_else(|| {
                    format!("the status code {code:?} is not a number from 100 to 999")
                })?,
            _ => {
                return Err(format!(
                    "the status line {:?} is not HTTP/1.x",
                    head.start.join(" ")
                ));
            }
        };
        // An interim response (100 Continue) leaves the request waiting for its answer.
        if (100..200).contains(&status) && status != 101 {
            return Ok(ServerState::Head(HeadReader::default()));
        }
        let request = self.pending.pop_front();
        if status == 101 {
            return Ok(ServerState::Stopped);
        }

        let is_head = request.as_ref().is_some_and(|r| r.method == "HEAD");
        let framing = if is_head || status == 204 || status == 304 {
            Framing::Length(0)
        } else {
            body_framing(head)?
        };
        let info = Box::new(HttpObjectInfo {
            method: request.as_ref().map(|r| r.method.clone()),
            uri: request.as_ref().map(|r| r.uri.clone()),
            host: request.as_ref().and_then(|r| r.host.clone()),
            url: None,
            status,
            content_type: head.header("content-type").map(str::to_string),
            content_encoding: head.header("content-encoding").map(str::to_string),
            content_length: match framing {
                Framing::Length(n) => Some(n),
                _ => None,
            },
            chunked: framing == Framing::Chunked,
        });
        let extracted = (200..300).contains(&status) && status != 204 && status != 206;
        Ok(ServerState::Body {
            info,
            body: BodyReader::new(framing),
            kept: extracted.then(ObjectBuffer::default),
        })
    }

    /// A response without a body is done as soon as its head is.
    fn complete_if_empty(&mut self, budget: &mut Budget, found: &mut Vec<Found>) {
        if let ServerState::Body { body, .. } = &self.server
            && body.framing == Framing::Length(0)
        {
            let state =
                std::mem::replace(&mut self.server, ServerState::Head(HeadReader::default()));
            if let ServerState::Body { info, kept, .. } = state {
                self.complete(*info, kept, budget, found);
            }
        }
    }

    /// A whole body: handed out if it was kept and is not empty.
    fn complete(
        &self,
        info: HttpObjectInfo,
        kept: Option<ObjectBuffer>,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let Some(buffer) = kept else {
            return;
        };
        if let Some(why) = buffer.overflow() {
            let detail = overflow_detail(why, buffer.seen(), &self.limits);
            buffer.discard(budget);
            found.push(Found::issue_about(
                Sender::Server,
                IssueKind::OverLimit,
                detail,
                info,
            ));
            return;
        }
        let bytes = buffer.take(budget);
        if bytes.is_empty() {
            return;
        }
        found.push(Found::Object(ExtractedObject {
            sender: Sender::Server,
            details: ObjectDetails::Http(info),
            bytes,
            dataset_start: 0,
        }));
    }

    /// Bytes held in header blocks, chunk lines and requests waiting for their
    /// response (kept bodies are counted by their own buffers).
    pub fn buffered(&self) -> u64 {
        let client = match &self.client {
            ClientState::Head(head) => head.buffered(),
            ClientState::Body(body) => body.buffered(),
            ClientState::Stopped => 0,
        };
        let server = match &self.server {
            ServerState::Head(head) => head.buffered(),
            ServerState::Body { body, .. } => body.buffered(),
            ServerState::Stopped => 0,
        };
        let requests: usize = self.pending.iter().map(Request::size).sum();
        (client + server + requests) as u64
    }

    /// Stops reading one side; a body in progress is reported as cut short.
    fn stop(&mut self, sender: Sender, budget: &mut Budget, found: &mut Vec<Found>, why: &str) {
        if sender == Sender::Client {
            self.client = ClientState::Stopped;
            return;
        }
        let state = std::mem::replace(&mut self.server, ServerState::Stopped);
        if let ServerState::Body {
            info,
            kept: Some(buffer),
            ..
        } = state
        {
            let detail = format!(
                "{why} before the end of the response body ({} bytes received): not extracted",
                buffer.seen()
            );
            buffer.discard(budget);
            found.push(Found::issue_about(
                Sender::Server,
                IssueKind::Truncated,
                detail,
                *info,
            ));
        }
    }
}

/// How a message's body is framed (RFC 9112 section 6.3, points 4 to 8).
fn body_framing(head: &Head) -> Result<Framing, String> {
    if let Some(codings) = head.header("transfer-encoding") {
        let last = codings.rsplit(',').next().unwrap_or_default().trim();
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    let mut lengths = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim);
    let Some(first) = lengths.next() else {
        return Ok(Framing::UntilClose);
    };
    if lengths.any(|other| other != first) {
        return Err("the message has Content-Length headers that disagree".into());
    }
    let length = first
        .parse::<u64>()
        .ok()
        .filter(|_| first.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            format!(
                "the Content-Length {:?} is not a number",
                shorten(first, 40)
            )
        })?;
    Ok(Framing::Length(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: &[u8], server: &[u8], piece: usize) -> Vec<Found> {
        let mut connection = HttpConnection::new(ConnectorLimits::default());
        let mut budget = Budget::new(1 << 30);
        let mut found = Vec::new();
        for chunk in client.chunks(piece) {
            connection.feed(Sender::Client, chunk, &mut budget, &mut found);
        }
        for chunk in server.chunks(piece) {
            connection.feed(Sender::Server, chunk, &mut budget, &mut found);
        }
        connection.finish(&mut budget, &mut found);
        assert_eq!(budget.held(), 0, "everything handed out or freed");
        found
    }

    fn bodies(found: &[Found]) -> Vec<(Vec<u8>, HttpObjectInfo)> {
        found
            .iter()
            .filter_map(|f| match f {
                Found::Object(ExtractedObject {
                    bytes,
                    details: ObjectDetails::Http(info),
                    ..
                }) => Some((bytes.clone(), info.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pipelined_responses_in_every_framing_are_paired_with_their_requests() {
        let client = b"GET /a.zip HTTP/1.1\r\nHost: pacs.local\r\n\r\n\
            HEAD /b HTTP/1.1\r\nHost: pacs.local\r\n\r\n\
            GET /c HTTP/1.1\r\nHost: pacs.local\r\n\r\n\
            GET /d HTTP/1.1\r\nHost: pacs.local\r\n\r\n";
        // A sized body, a HEAD answer, a chunked body with an extension and a trailer,
        // and an HTTP/1.0 body that ends with the connection.
        let server = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\
            Content-Type: application/zip\r\n\r\nhello\
            HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n\
            HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            3;x=y\r\nabc\r\n0A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n\
            HTTP/1.0 200 OK\r\n\r\nuntil close";
        for piece in [1, 2, 3, 7, 1000] {
            let found = run(client, server, piece);
            let got = bodies(&found);
            assert_eq!(got.len(), 3, "pieces of {piece}: {found:?}");
            assert_eq!(got[0].0, b"hello");
            assert_eq!(got[0].1.uri.as_deref(), Some("/a.zip"));
            assert_eq!(got[0].1.content_type.as_deref(), Some("application/zip"));
            assert_eq!(got[1].0, b"abc0123456789");
            assert!(got[1].1.chunked);
            assert_eq!(got[1].1.uri.as_deref(), Some("/c"));
            assert_eq!(got[2].0, b"until close");
            assert_eq!(got[2].1.uri.as_deref(), Some("/d"));
        }
    }

    #[test]
    fn a_body_cut_by_the_end_of_the_connection_is_reported_not_extracted() {
        let found = run(
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            4,
        );
        assert!(bodies(&found).is_empty());
        assert!(
            matches!(&found[..], [Found::Issue(issue)] if issue.kind == IssueKind::Truncated),
            "{found:?}"
        );
    }

    #[test]
    fn broken_framing_is_malformed() {
        let cases: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 2000000 OK\r\n\r\n",
        ];
        for server in cases {
            let found = run(b"GET / HTTP/1.1\r\n\r\n", server, 5);
            assert!(
                found
                    .iter()
                    .any(|f| matches!(f, Found::Issue(i) if i.kind == IssueKind::Malformed)),
                "{:?}: {found:?}",
                String::from_utf8_lossy(server)
            );
        }
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'a', 100_000));
        let found = run(b"GET / HTTP/1.1\r\n\r\n", &endless, 4096);
        assert!(matches!(&found[..], [Found::Issue(i)] if i.detail.contains("header block")));
    }

    #[test]
    fn errors_and_partial_content_are_not_extracted() {
        let client = b"GET /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n";
        let server = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnoo\
            HTTP/1.1 206 Partial\r\nContent-Length: 2\r\n\r\nab";
        assert!(run(client, server, 10).is_empty());
        assert!(looks_like_request(b"GET / HTTP/1.1"));
        assert!(!looks_like_request(b"\x01\x00\x00\x00"));
    }
}
