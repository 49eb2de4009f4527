//! HTTP/1.x requests and responses, read from stream prefixes.

/// What a client's requests and the server's answers showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpFacts {
    /// Requests seen in the prefix.
    pub requests: u32,
    /// Requests that try to log in: a POST to a login path, or HTTP authentication.
    pub login_attempts: u32,
    /// User names sent with Basic authentication, at most four.
    pub basic_auth_users: Vec<String>,
    /// Responses 401 or 403.
    pub refused: u32,
    /// Method and path of the first request, at most 200 bytes.
    pub first_request: Option<String>,
}

const METHODS: [&str; 7] = [
    "GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ",
];
const LOGIN_WORDS: [&str; 7] = [
    "login",
    "logon",
    "signin",
    "sign-in",
    "auth",
    "session",
    "j_security_check",
];

/// Requests examined per stream prefix.
const MAX_MESSAGES: usize = 64;

/// Parses the client and server prefixes; `None` when the client does not speak HTTP.
pub fn parse(client: &[u8], server: &[u8]) -> Option<HttpFacts> {
    if !METHODS.iter().any(|m| client.starts_with(m.as_bytes())) {
        return None;
    }
    let mut facts = HttpFacts::default();
    for message in messages(client) {
        read_request(message, &mut facts);
    }
    for message in messages(server) {
        let status = message.get(9..12);
        if message.starts_with(b"HTTP/1.") && matches!(status, Some(b"401") | Some(b"403")) {
            facts.refused += 1;
        }
    }
    Some(facts)
}

fn read_request(head: &[u8], facts: &mut HttpFacts) {
    facts.requests += 1;
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    if facts.first_request.is_none() {
        let end = request_line.rfind(" HTTP/").unwrap_or(request_line.len());
        let shown: String = request_line
            .get(..end)
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        facts.first_request = Some(shown);
    }

    let lower = request_line.to_ascii_lowercase();
    let mut login = lower.starts_with("post ") && LOGIN_WORDS.iter().any(|w| lower.contains(w));
    for line in lines {
        let Some(value) = header_value(line, b"authorization") else {
            continue;
        };
        login = true;
        let user = value
            .strip_prefix(b"Basic ")
            .or_else(|| value.strip_prefix(b"basic "))
            .and_then(basic_user);
        if let Some(user) = user.filter(|_| facts.basic_auth_users.len() < 4) {
            facts.basic_auth_users.push(user);
        }
    }
    if login {
        facts.login_attempts += 1;
    }
}

/// The value of header `name` (lowercase) on `line`, when it is that header.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let (key, value) = line.split_at(line.iter().position(|b| *b == b':')?);
    key.eq_ignore_ascii_case(name)
        .then(|| value.get(1..).unwrap_or_default().trim_ascii())
}

/// The user name of a Basic credential (`base64(user:password)`); the password is
/// never kept.
fn basic_user(encoded: &[u8]) -> Option<String> {
    let decoded = base64_decode(encoded.trim_ascii())?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = decoded.get(..colon.min(64))?;
    Some(String::from_utf8_lossy(user).into_owned())
}

/// Standard base64 without line breaks; `None` on any other character.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text.iter().take(512) {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Message heads (start line and headers) in a stream prefix, skipping bodies by
/// Content-Length; stops at anything it cannot frame.
fn messages(mut stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let end = find(stream, b"\r\n\r\n")?;
        let head = stream.get(..end)?;
        let body = content_length(head).unwrap_or(0);
        let next = end.checked_add(4)?.checked_add(body)?;
        stream = stream.get(next..).unwrap_or_default();
        Some(head)
    })
    .take(MAX_MESSAGES)
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find_map(|line| header_value(line, b"content-length"))
        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_user_is_read_and_password_dropped() {
        // "nurse:secret" in base64.
        let client =
            b"GET /admin HTTP/1.1\r\nHost: pump\r\nAuthorization: Basic bnVyc2U6c2VjcmV0\r\n\r\n";
        let server = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let facts = parse(client, server).unwrap();
        assert_eq!(facts.basic_auth_users, ["nurse"]);
        assert_eq!(
            (facts.requests, facts.login_attempts, facts.refused),
            (1, 1, 0)
        );
        assert_eq!(facts.first_request.as_deref(), Some("GET /admin"));
    }

    #[test]
    fn login_posts_with_bodies_are_counted_one_by_one() {
        let mut client = Vec::new();
        let mut server = Vec::new();
        for _ in 0..3 {
            client.extend_from_slice(b"POST /login HTTP/1.1\r\nContent-Length: 9\r\n\r\nuser=a&p=");
            server.extend_from_slice(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno");
        }
        let facts = parse(&client, &server).unwrap();
        assert_eq!(
            (facts.requests, facts.login_attempts, facts.refused),
            (3, 3, 3)
        );
    }

    #[test]
    fn non_http_is_none() {
        assert!(parse(b"\x16\x03\x01 tls hello", b"").is_none());
    }
}
