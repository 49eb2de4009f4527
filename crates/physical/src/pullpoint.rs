//! ONVIF pull-point subscriptions: polls a camera's event service over HTTP and publishes
//! each `PullMessagesResponse` on `site/onvif/{camera}` for [`crate::adapters::onvif`].
//!
//! The client creates a subscription (`CreatePullPointSubscription`), then calls
//! `PullMessages` in a loop on the address the camera returned; when a call fails it
//! waits and subscribes again. Credentials are sent as a WS-Security UsernameToken with a
//! password digest. Plain `http://` only: cameras sit on an isolated video network; put a
//! TLS-terminating proxy in front for anything else.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{SecondsFormat, Utc};
use safecare_bus::BusClient;
use safecare_bus::client::Qos;
use sha1::{Digest, Sha1};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::MAX_NATIVE_BYTES;
use crate::floorplan::escape;

/// Largest HTTP response read from a camera: a native message plus headers.
const MAX_RESPONSE: usize = MAX_NATIVE_BYTES + 16 * 1024;

/// One camera to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPoint {
    /// The camera's asset id in the site model (the topic's last level).
    pub camera: String,
    /// The event service, e.g. `http://10.10.7.22/onvif/event_service`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// How long the camera may hold a PullMessages call open.
    pub pull_timeout: Duration,
    /// Most notifications per PullMessages call.
    pub message_limit: u32,
}

impl PullPoint {
    /// A camera without credentials, pulling up to 100 messages every 10 s at most.
    pub fn new(camera: &str, url: &str) -> PullPoint {
        PullPoint {
            camera: camera.to_string(),
            url: url.to_string(),
            username: None,
            password: None,
            pull_timeout: Duration::from_secs(10),
            message_limit: 100,
        }
    }
}

/// Why a camera could not be polled.
#[derive(Debug, Error)]
pub enum PullPointError {
    #[error("`{0}` is not an http://host[:port]/path URL: ONVIF event services are plain HTTP")]
    Url(String),
    #[error("could not reach camera at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("camera at {0} did not answer in time")]
    Timeout(String),
    #[error(
        "camera at {url} answered HTTP {status}: check the credentials and the event service URL"
    )]
    Status { url: String, status: u16 },
    #[error("camera at {url} sent a response that is not HTTP or over {MAX_RESPONSE} bytes")]
    BadResponse { url: String },
    #[error("camera at {0} returned no SubscriptionReference address")]
    NoAddress(String),
}

/// Polls one camera until the bus client closes; publishes on `{prefix}/onvif/{camera}`.
pub async fn run(point: PullPoint, bus: BusClient, prefix: String) {
    let topic = format!("{prefix}/onvif/{}", point.camera);
    let mut backoff = Duration::from_secs(1);
    loop {
        match poll(&point, &bus, &topic).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(camera = %point.camera, %err, "ONVIF pull-point lost; subscribing again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Subscribes and pulls until an error; `Ok` only when the bus is closed.
async fn poll(point: &PullPoint, bus: &BusClient, topic: &str) -> Result<(), PullPointError> {
    let address = subscribe(point).await?;
    tracing::info!(camera = %point.camera, %address, "ONVIF pull-point subscription created");
    loop {
        let body = pull(point, &address).await?;
        if !body.contains("NotificationMessage") {
            continue;
        }
        if bus
            .publish(topic, Qos::AtLeastOnce, false, body.into_bytes())
            .await
            .is_err()
        {
            return Ok(());
        }
    }
}

/// Creates a pull-point subscription; the address to pull from.
pub async fn subscribe(point: &PullPoint) -> Result<String, PullPointError> {
    let body = "<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT600S\
                </tev:InitialTerminationTime></tev:CreatePullPointSubscription>";
    let action =
        "http://www.onvif.org/ver10/events/wsdl/EventPortType/CreatePullPointSubscriptionRequest";
    let envelope = envelope(point, action, &point.url, body);
    let response = post(&point.url, &envelope, Duration::from_secs(10)).await?;
    subscription_address(&response).ok_or_else(|| PullPointError::NoAddress(point.url.clone()))
}

/// One PullMessages call; the response body.
pub async fn pull(point: &PullPoint, address: &str) -> Result<String, PullPointError> {
    let seconds = point.pull_timeout.as_secs().max(1);
    let body = format!(
        "<tev:PullMessages><tev:Timeout>PT{seconds}S</tev:Timeout><tev:MessageLimit>{}\
         </tev:MessageLimit></tev:PullMessages>",
        point.message_limit
    );
    let action = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest";
    let envelope = envelope(point, action, address, &body);
    post(
        address,
        &envelope,
        point.pull_timeout + Duration::from_secs(10),
    )
    .await
}

/// A SOAP 1.2 envelope with WS-Addressing and, with credentials, a UsernameToken.
fn envelope(point: &PullPoint, action: &str, to: &str, body: &str) -> String {
    let security = match (&point.username, &point.password) {
        (Some(user), Some(password)) => {
            let nonce = ulid::Ulid::new().0.to_be_bytes();
            let created = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
            username_token(user, password, &nonce, &created)
        }
        _ => String::new(),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:tev="http://www.onvif.org/ver10/events/wsdl"><s:Header><a:Action>{action}</a:Action><a:To>{to}</a:To>{security}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#,
        to = escape(to)
    )
}

/// A WS-Security UsernameToken with the password digest of the ONVIF core spec.
pub fn username_token(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    format!(
        r#"<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"#,
        user = escape(user),
        digest = password_digest(nonce, created, password),
        nonce = BASE64.encode(nonce),
    )
}

/// Base64(SHA-1(nonce + created + password)).
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(nonce);
    hasher.update(created.as_bytes());
    hasher.update(password.as_bytes());
    BASE64.encode(hasher.finalize())
}

/// The `SubscriptionReference/Address` of a CreatePullPointSubscriptionResponse.
pub fn subscription_address(xml: &str) -> Option<String> {
    let document = roxmltree::Document::parse(xml).ok()?;
    let reference = document
        .descendants()
        .find(|n| n.tag_name().name() == "SubscriptionReference")?;
    let address = reference
        .descendants()
        .find(|n| n.tag_name().name() == "Address")?;
    address
        .text()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `http://host[:port]/path` split into (host, port, path).
fn split_url(url: &str) -> Result<(String, u16, String), PullPointError> {
    let bad = || PullPointError::Url(url.to_string());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, port.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (authority, 80),
    };
    if host.is_empty() || path.contains(['\r', '\n', ' ']) {
        return Err(bad());
    }
    Ok((
        host.trim_matches(['[', ']']).to_string(),
        port,
        path.to_string(),
    ))
}

/// POSTs a SOAP envelope and returns the response body of a 200 answer.
async fn post(url: &str, envelope: &str, timeout: Duration) -> Result<String, PullPointError> {
    let (host, port, path) = split_url(url)?;
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|source| PullPointError::Connect {
                url: url.to_string(),
                source,
            })?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/soap+xml; \
             charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{envelope}",
            envelope.len()
        );
        let io = |source| PullPointError::Connect {
            url: url.to_string(),
            source,
        };
        stream.write_all(request.as_bytes()).await.map_err(io)?;

        let mut response = Vec::new();
        let mut limited = (&mut stream).take(MAX_RESPONSE as u64 + 1);
        limited.read_to_end(&mut response).await.map_err(io)?;
        Ok::<Vec<u8>, PullPointError>(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| PullPointError::Timeout(url.to_string()))??;
    parse_response(url, &response)
}

/// Checks the status and extracts the body (Content-Length, chunked or until close).
fn parse_response(url: &str, bytes: &[u8]) -> Result<String, PullPointError> {
    let bad = || PullPointError::BadResponse {
        url: url.to_string(),
    };
    if bytes.len() > MAX_RESPONSE {
        return Err(bad());
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(start)) = response.parse(bytes) else {
        return Err(bad());
    };
    let status = response.code.unwrap_or(0);
    if status != 200 {
        return Err(PullPointError::Status {
            url: url.to_string(),
            status,
        });
    }

    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    let rest = bytes.get(start..).ok_or_else(bad)?;
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest).ok_or_else(bad)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length.trim().parse().map_err(|_| bad())?;
        rest.get(..length).ok_or_else(bad)?.to_vec()
    } else {
        rest.to_vec()
    };
    String::from_utf8(body).map_err(|_| bad())
}

/// Decodes a chunked body; `None` when a chunk is cut or malformed.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size.checked_add(2)?..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_digest_matches_the_ws_security_formula() {
        let nonce: Vec<u8> = (0u8..16).collect();
        let digest = password_digest(&nonce, "2026-12-04T02:11:00Z", "secret");
        assert_eq!(digest, "qCibwlRB6Juini+coMnZQD4X1xY=");
        let token = username_token("admin", "secret", &nonce, "2026-12-04T02:11:00Z");
        assert!(token.contains("<wsse:Nonce EncodingType"));
        assert!(token.contains(">AAECAwQFBgcICQoLDA0ODw==<"));
    }

    #[test]
    fn urls_split_and_bad_ones_are_refused() {
        let (host, port, path) = split_url("http://10.10.7.22/onvif/event_service").unwrap();
        assert_eq!(
            (host.as_str(), port, path.as_str()),
            ("10.10.7.22", 80, "/onvif/event_service")
        );
        let (_, port, _) = split_url("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(port, 8080);
        assert!(split_url("https://cam/x").is_err());
        assert!(split_url("http://cam:99999/x").is_err());
    }

    #[test]
    fn responses_by_length_chunks_and_status() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_response("u", plain).unwrap(), "hello");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n";
        assert_eq!(parse_response("u", chunked).unwrap(), "hello");
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nhel";
        assert!(matches!(
            parse_response("u", cut),
            Err(PullPointError::BadResponse { .. })
        ));
        let denied = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            parse_response("u", denied),
            Err(PullPointError::Status { status: 401, .. })
        ));
    }

    #[test]
    fn subscription_address_is_read_from_the_response() {
        let xml = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Body><tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>http://127.0.0.1:80/onvif/pull/7</wsa:Address></tev:SubscriptionReference></tev:CreatePullPointSubscriptionResponse></s:Body></s:Envelope>"#;
        assert_eq!(
            subscription_address(xml).as_deref(),
            Some("http://127.0.0.1:80/onvif/pull/7")
        );
        assert_eq!(subscription_address("<a/>"), None);
    }
}
