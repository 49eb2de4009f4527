//! An ONVIF camera polled through a pull-point subscription (a fake camera on 127.0.0.1
//! that checks the WS-Security digest), its tamper notification turned into an event over
//! real brokers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Harness, embedded, mosquitto, past_midnight};
use safecare_core::site::Site;
use safecare_physical::pullpoint::{PullPoint, password_digest};
use safecare_physical::service::ServiceOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A camera that answers CreatePullPointSubscription and PullMessages; the first pull
/// carries a tamper notification at `time`.
async fn fake_camera(time: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let pulls = Arc::new(AtomicUsize::new(0));
    let counter = pulls.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (time, counter) = (time.clone(), counter.clone());
            tokio::spawn(async move { answer(stream, port, &time, &counter).await });
        }
    });
    (
        format!("http://127.0.0.1:{port}/onvif/event_service"),
        pulls,
    )
}

async fn answer(mut stream: TcpStream, port: u16, time: &str, pulls: &AtomicUsize) {
    let request = read_request(&mut stream).await;
    let body = if !digest_ok(&request) {
        respond(&mut stream, 401, "").await;
        return;
    } else if request.contains("CreatePullPointSubscription") {
        format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Body><tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>http://127.0.0.1:{port}/onvif/pull/1</wsa:Address></tev:SubscriptionReference></tev:CreatePullPointSubscriptionResponse></s:Body></s:Envelope>"#
        )
    } else if pulls.fetch_add(1, Ordering::SeqCst) == 0 {
        notification(time)
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><PullMessagesResponse/></s:Body></s:Envelope>"#.to_string()
    };
    respond(&mut stream, 200, &body).await;
}

async fn read_request(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&bytes);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if bytes.len() >= head_end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The request's UsernameToken digest matches the camera's password.
fn digest_ok(request: &str) -> bool {
    let between = |open: &str, close: &str| -> Option<String> {
        let start = request.find(open)? + open.len();
        let start = start + request[start..].find('>')? + 1;
        let end = start + request[start..].find(close)?;
        Some(request[start..end].to_string())
    };
    let (Some(nonce), Some(created), Some(digest)) = (
        between("<wsse:Nonce", "</wsse:Nonce>"),
        between("<wsu:Created", "</wsu:Created>"),
        between("<wsse:Password", "</wsse:Password>"),
    ) else {
        return false;
    };
    use base64::Engine as _;
    let Ok(nonce) = base64::engine::general_purpose::STANDARD.decode(nonce) else {
        return false;
    };
    password_digest(&nonce, &created, "camera-secret") == digest
}

async fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = if status == 200 { "OK" } else { "Unauthorized" };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

fn notification(time: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics"><s:Body><tev:PullMessagesResponse><tev:CurrentTime>{time}</tev:CurrentTime><tev:TerminationTime>{time}</tev:TerminationTime><wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/GlobalSceneChange/ImagingService</wsnt:Topic><wsnt:Message><tt:Message UtcTime="{time}" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="Source" Value="vs1"/></tt:Source><tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage></tev:PullMessagesResponse></s:Body></s:Envelope>"#
    )
}

async fn camera_polled(url: safecare_bus::BrokerUrl) {
    let base = past_midnight();
    let time = (base + chrono::TimeDelta::hours(3)).to_rfc3339();
    let (camera_url, pulls) = fake_camera(time).await;
    let mut point = PullPoint::new("cam-datacentre", &camera_url);
    point.username = Some("admin".into());
    point.password = Some("camera-secret".into());
    point.pull_timeout = std::time::Duration::from_secs(1);

    let options = ServiceOptions {
        pull_points: vec![point],
        ..ServiceOptions::default()
    };
    let mut h = Harness::start_full(&url, Arc::new(Site::demo()), base, options).await;
    let tamper = h
        .expect("camera tamper", |e| e.kind == "video.camera_tamper")
        .await;
    assert_eq!(tamper.asset.as_deref(), Some("cam-datacentre"));
    assert_eq!(tamper.zone(), Some("datacentre"));
    assert!(pulls.load(Ordering::SeqCst) >= 1);
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_point_camera_over_the_embedded_broker() {
    camera_polled(embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_point_camera_over_mosquitto() {
    camera_polled(mosquitto()).await;
}
