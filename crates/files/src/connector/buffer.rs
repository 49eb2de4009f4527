//! Bytes of objects being reassembled, and of the protocol readers' own buffers,
//! bounded per object and over all connections.

/// Limits on what the connector holds in memory.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorLimits {
    /// Bytes of one object (DICOM dataset or HTTP body); a larger object is not extracted.
    pub max_object_bytes: u64,
    /// Bytes held over all objects still open and the readers' buffers (header
    /// blocks, control PDUs, command sets); past it, the object that asks for more
    /// is dropped, and a connection whose buffers ask for more is no longer read.
    pub max_open_bytes: u64,
    /// Bytes of a DICOM PDU other than P-DATA-TF (association, release, abort).
    pub max_control_pdu: u32,
    /// Bytes of one DICOM command set.
    pub max_command_bytes: usize,
    /// Bytes of one HTTP header block (request or response line included).
    pub max_http_header: usize,
    /// HTTP requests waiting for their response on one connection (pipelining).
    pub max_pending_requests: usize,
}

impl Default for ConnectorLimits {
    fn default() -> Self {
        ConnectorLimits {
            max_object_bytes: 256 * 1024 * 1024,
            max_open_bytes: 1024 * 1024 * 1024,
            max_control_pdu: 1024 * 1024,
            max_command_bytes: 64 * 1024,
            max_http_header: 64 * 1024,
            max_pending_requests: 64,
        }
    }
}

/// Bytes held by all open objects, against [`ConnectorLimits::max_open_bytes`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    held: u64,
    max: u64,
}

impl Budget {
    /// An empty budget of `max` bytes.
    pub fn new(max: u64) -> Self {
        Budget { held: 0, max }
    }

    /// Bytes held now.
    pub fn held(&self) -> u64 {
        self.held
    }

    pub(super) fn take(&mut self, n: u64) -> bool {
        match self.held.checked_add(n) {
            Some(total) if total <= self.max => {
                self.held = total;
                true
            }
            _ => false,
        }
    }

    pub(super) fn give_back(&mut self, n: u64) {
        self.held = self.held.saturating_sub(n);
    }
}

/// Why an object was not kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Larger than [`ConnectorLimits::max_object_bytes`].
    Object,
    /// Would have taken the open objects past [`ConnectorLimits::max_open_bytes`].
    Total,
}

/// One object being reassembled. Past a limit it drops what it held and only counts.
#[derive(Debug, Default)]
pub struct ObjectBuffer {
    bytes: Vec<u8>,
    seen: u64,
    overflow: Option<Overflow>,
}

impl ObjectBuffer {
    /// Appends `data` if the limits allow; otherwise drops the object and counts on.
    pub fn append(&mut self, data: &[u8], limits: &ConnectorLimits, budget: &mut Budget) {
        self.seen = self.seen.saturating_add(data.len() as u64);
        if self.overflow.is_some() {
            return;
        }
        if self.seen > limits.max_object_bytes {
            return self.drop_bytes(Overflow::Object, budget);
        }
        if !budget.take(data.len() as u64) {
            return self.drop_bytes(Overflow::Total, budget);
        }
        self.bytes.extend_from_slice(data);
    }

    /// Bytes received so far, kept or not.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The limit that made the object drop its bytes, if any.
    pub fn overflow(&self) -> Option<Overflow> {
        self.overflow
    }

    /// Hands out the bytes and returns their share of the budget.
    pub fn take(mut self, budget: &mut Budget) -> Vec<u8> {
        budget.give_back(self.bytes.len() as u64);
        std::mem::take(&mut self.bytes)
    }

    /// Frees the bytes without handing them out.
    pub fn discard(self, budget: &mut Budget) {
        budget.give_back(self.bytes.len() as u64);
    }

    fn drop_bytes(&mut self, why: Overflow, budget: &mut Budget) {
        budget.give_back(self.bytes.len() as u64);
        self.bytes = Vec::new();
        self.overflow = Some(why);
    }
}

/// A sentence for an object dropped at a limit.
pub fn overflow_detail(why: Overflow, seen: u64, limits: &ConnectorLimits) -> String {
    match why {
        Overflow::Object => format!(
            "the object is larger than the {}-byte limit ({seen} bytes seen): not extracted; \
             raise --max-object-bytes to extract it",
            limits.max_object_bytes
        ),
        Overflow::Total => format!(
            "open objects would hold more than {} bytes: this one ({seen} bytes seen) was \
             dropped; raise --max-open-bytes",
            limits.max_open_bytes
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_past_its_limit_drops_its_bytes_and_returns_the_budget() {
        let limits = ConnectorLimits {
            max_object_bytes: 10,
            ..ConnectorLimits::default()
        };
        let mut budget = Budget::new(100);
        let mut object = ObjectBuffer::default();
        object.append(b"0123456", &limits, &mut budget);
        assert_eq!(budget.held(), 7);
        object.append(b"789ab", &limits, &mut budget);
        assert_eq!(object.overflow(), Some(Overflow::Object));
        assert_eq!(object.seen(), 12);
        assert_eq!(budget.held(), 0);
        assert!(object.take(&mut budget).is_empty());
    }

    #[test]
    fn the_total_budget_is_shared_between_objects() {
        let limits = ConnectorLimits::default();
        let mut budget = Budget::new(8);
        let mut first = ObjectBuffer::default();
        let mut second = ObjectBuffer::default();
        first.append(b"abcdef", &limits, &mut budget);
        second.append(b"ghi", &limits, &mut budget);
        assert_eq!(second.overflow(), Some(Overflow::Total));
        assert_eq!(first.take(&mut budget), b"abcdef");
        assert_eq!(budget.held(), 0);
    }
}
