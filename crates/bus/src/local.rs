//! The embedded broker's events, read inside the process instead of over a socket.
//!
//! rumqttd lets a part of its own process subscribe through a link of
//! channels. A link carries no MQTT acknowledgements: the broker hands it
//! messages at QoS 0, stops when the link's buffer (200 messages) is full and
//! goes on once the reader has taken them, so a slow reader leaves messages
//! waiting in the broker's log instead of losing them. What the log holds is
//! lost only with the process, like everything the embedded broker keeps, or
//! when a reader falls so far behind that the broker's per-topic limit drops
//! the oldest messages: the link's message numbers then jump, and the gap is
//! counted ([`InProcessEvents::dropped`]) and logged.
//!
//! Over a socket, every QoS 1 message to the exchange needs an acknowledgement
//! before rumqttd sends more than 100, and that round trip through two busy
//! threads, not the exchange's own work, capped the pipeline (docs/BENCHMARKS.md).

use std::sync::{Arc, Mutex};

use rumqttc::{Publish, QoS};
use rumqttd::Notification;
use rumqttd::local::{LinkRx, LinkTx};

use crate::topics;

/// Client id of the link inside the broker (it shows in rumqttd's own logs).
const LINK_CLIENT_ID: &str = "safecare-exchange-in-process";

/// The link: the sending half keeps the subscription alive, the receiving half reads.
struct Link {
    _tx: LinkTx,
    rx: LinkRx,
    /// The broker paused the link and has not yet been told to go on (a
    /// reader stopped in between): the next reader tells it first.
    owes_wake: bool,
    /// Position of the last message read in the broker's log of the
    /// subscription; the next one follows it unless messages were dropped.
    last_offset: Option<u64>,
    /// Messages the broker dropped before they were read.
    dropped: u64,
}

/// Where the link waits while no exchange reads it.
#[derive(Clone)]
pub(crate) struct EventsSlot(Arc<Mutex<Option<Link>>>);

impl std::fmt::Debug for EventsSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let free = self.0.lock().map(|slot| slot.is_some()).unwrap_or(false);
        f.debug_struct("EventsSlot").field("free", &free).finish()
    }
}

impl EventsSlot {
    /// Opens the link on a freshly created broker and subscribes it to every event topic.
    pub(crate) fn open(broker: &rumqttd::Broker) -> Result<EventsSlot, String> {
        let (mut tx, rx) = broker
            .link(LINK_CLIENT_ID)
            .map_err(|err| format!("cannot open the in-process link: {err}"))?;
        tx.subscribe(topics::ALL_EVENTS)
            .map_err(|err| format!("cannot subscribe the in-process link: {err}"))?;
        let link = Link {
            _tx: tx,
            rx,
            owes_wake: false,
            last_offset: None,
            dropped: 0,
        };
        Ok(EventsSlot(Arc::new(Mutex::new(Some(link)))))
    }

    /// Takes the link; `None` while another reader holds it.
    pub(crate) fn take(&self) -> Option<InProcessEvents> {
        let link = self.0.lock().ok()?.take()?;
        Some(InProcessEvents {
            link: Some(link),
            slot: self.clone(),
        })
    }
}

/// Every message on `safecare/v1/event/+`, for one reader at a time.
///
/// Dropping it hands the link back, with whatever the broker had already
/// passed to it, to the next reader (an exchange that restarts in the same
/// process carries on where this one stopped).
pub struct InProcessEvents {
    link: Option<Link>,
    slot: EventsSlot,
}

impl std::fmt::Debug for InProcessEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessEvents").finish_non_exhaustive()
    }
}

impl InProcessEvents {
    /// The next message, as the network client would have handed it over
    /// (at QoS 0: there is nothing to acknowledge); `None` once the broker's
    /// router has stopped.
    ///
    /// Cancel-safe: a message is taken from the link only when it is returned.
    pub async fn next(&mut self) -> Option<Publish> {
        let link = self.link.as_mut()?;
        loop {
            if link.owes_wake {
                if link.rx.wake().await.is_err() {
                    return None;
                }
                link.owes_wake = false;
            }
            match link.rx.next().await {
                Ok(Some(Notification::Forward(forward))) => {
                    if let Some((_, offset)) = forward.cursor {
                        link.note_offset(offset);
                    }
                    let publish = forward.publish;
                    return Some(Publish {
                        dup: false,
                        qos: QoS::AtMostOnce,
                        retain: publish.retain,
                        topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                        pkid: 0,
                        payload: publish.payload,
                    });
                }
                // The broker paused the link with its buffer full; everything
                // before this mark has been taken, so it may send more.
                Ok(Some(Notification::Unschedule)) => link.owes_wake = true,
                Ok(Some(_)) | Ok(None) => {}
                Err(err) => {
                    tracing::error!(%err, "the embedded broker's router stopped; restart safecare");
                    return None;
                }
            }
        }
    }

    /// Messages the broker dropped, over the link's life, before they were
    /// read (its per-topic limit, 4 x 32 MiB, was reached).
    pub fn dropped(&self) -> u64 {
        self.link.as_ref().map_or(0, |link| link.dropped)
    }
}

impl Link {
    /// Counts the messages skipped between the last one read and this one.
    fn note_offset(&mut self, offset: u64) {
        if let Some(last) = self.last_offset {
            let skipped = offset.saturating_sub(last + 1);
            if skipped > 0 {
                self.dropped += skipped;
                tracing::error!(
                    skipped,
                    "the embedded broker dropped {skipped} events before the exchange read \
                     them (it fell more than 128 MiB behind); they are not stored. Check \
                     the database's speed, or use an external broker"
                );
            }
        }
        self.last_offset = Some(offset);
    }
}

impl Drop for InProcessEvents {
    fn drop(&mut self) {
        let Some(link) = self.link.take() else {
            return;
        };
        if let Ok(mut slot) = self.slot.0.lock() {
            *slot = Some(link);
        }
    }
}
