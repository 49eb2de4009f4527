//! The embedded broker's in-process event link: every event published over
//! the network reaches it, in order, however far the reader falls behind, and
//! one reader at a time holds it.

use std::net::SocketAddr;
use std::time::Duration;

use safecare_bus::client::Qos;
use safecare_bus::{BusClient, ClientOptions, EmbeddedBroker, InProcessEvents};

fn broker() -> EmbeddedBroker {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    EmbeddedBroker::start(any, None).expect("embedded broker starts")
}

async fn publisher(broker: &EmbeddedBroker) -> BusClient {
    let mut options = ClientOptions::new("net");
    options.client_id = format!("test-publisher-{}", ulid::Ulid::new());
    options.heartbeat = None;
    let (client, _incoming) = BusClient::connect(&broker.url(), options, Duration::from_secs(5))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    client
}

/// Publishes `count` numbered messages at QoS 1 on an event topic, then one on another topic.
async fn publish_numbered(client: &BusClient, from: usize, count: usize) {
    for n in from..from + count {
        client
            .publish(
                "safecare/v1/event/net",
                Qos::AtLeastOnce,
                false,
                n.to_string().into_bytes(),
            )
            .await
            .unwrap();
    }
}

/// Reads `count` messages and returns their numbers.
async fn read_numbers(events: &mut InProcessEvents, count: usize) -> Vec<usize> {
    let mut numbers = Vec::with_capacity(count);
    while numbers.len() < count {
        let publish = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages arrived", numbers.len()))
            .expect("the broker is running");
        assert_eq!(publish.topic, "safecare/v1/event/net");
        numbers.push(
            std::str::from_utf8(&publish.payload)
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    numbers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_far_behind_gets_every_event_in_order() {
    let broker = broker();
    let client = publisher(&broker).await;
    let mut events = broker.in_process_events().expect("the link is free");

    // Twenty-five times the link's buffer, published before anything is read:
    // the broker must pause the link and resume it as it is read.
    publish_numbered(&client, 0, 5000).await;
    let numbers = read_numbers(&mut events, 5000).await;

    assert_eq!(numbers, (0..5000).collect::<Vec<_>>());
    assert_eq!(events.dropped(), 0);
}

/// Beyond the broker's 4 x 32 MiB per topic, the oldest unread messages are
/// dropped; the link says how many, and what it reads is the rest, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_broker_drops_before_they_are_read_are_counted() {
    let broker = broker();
    let client = publisher(&broker).await;
    let mut events = broker.in_process_events().expect("the link is free");

    // 2,600 messages of 64 KiB: about 163 MiB, past the 128 MiB kept.
    let total = 2600;
    for n in 0..total {
        let mut payload = format!("{n}:").into_bytes();
        payload.resize(64 * 1024, b' ');
        client
            .publish("safecare/v1/event/net", Qos::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    let mut numbers: Vec<usize> = Vec::new();
    while let Ok(Some(publish)) = tokio::time::timeout(Duration::from_secs(3), events.next()).await
    {
        let text = std::str::from_utf8(&publish.payload).unwrap();
        numbers.push(text.split(':').next().unwrap().parse().unwrap());
    }

    assert!(events.dropped() > 0, "nothing was dropped");
    assert_eq!(numbers.len() as u64 + events.dropped(), total as u64);
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(numbers.last(), Some(&(total - 1)), "the newest arrive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reader_at_a_time_and_the_next_carries_on_where_the_last_stopped() {
    let broker = broker();
    let client = publisher(&broker).await;

    let mut first = broker.in_process_events().expect("the link is free");
    assert!(
        broker.in_process_events().is_none(),
        "a second reader must not share the link"
    );
    publish_numbered(&client, 0, 1000).await;
    let read = read_numbers(&mut first, 300).await;
    assert_eq!(read, (0..300).collect::<Vec<_>>());
    drop(first);

    // Events published while nobody reads wait for the next reader.
    publish_numbered(&client, 1000, 1000).await;
    let mut second = broker
        .in_process_events()
        .expect("the link was handed back");
    let rest = read_numbers(&mut second, 1700).await;
    assert_eq!(rest, (300..2000).collect::<Vec<_>>());
}
