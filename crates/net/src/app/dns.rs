//! DNS: the first question of a message.

/// A DNS message's first question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Lowercase, dot-separated, without the trailing dot.
    pub name: String,
    /// Record type asked for (1 A, 16 TXT, ...).
    pub qtype: u16,
    /// The QR bit: an answer, not a query.
    pub is_response: bool,
}

/// TXT record type.
pub const TYPE_TXT: u16 = 16;
/// NULL record type, also used by tunnels.
pub const TYPE_NULL: u16 = 10;

/// Parses the header and the first question; `None` for anything malformed.
pub fn parse_question(message: &[u8]) -> Option<Question> {
    // Header: id, flags, qdcount, ancount, nscount, arcount.
    let flags = u16::from_be_bytes([*message.get(2)?, *message.get(3)?]);
    let questions = u16::from_be_bytes([*message.get(4)?, *message.get(5)?]);
    if questions == 0 || flags & 0x7800 != 0 {
        // No question, or an opcode other than QUERY.
        return None;
    }

    // The name: length-prefixed labels, at most 255 bytes; no compression in a question.
    let mut name = String::new();
    let mut at = 12usize;
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 || name.len() + len + 1 > 255 {
            return None;
        }
        let label = message.get(at..at + len)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.extend(label.iter().map(|b| b.to_ascii_lowercase() as char));
        at += len;
    }
    let qtype = u16::from_be_bytes([*message.get(at)?, *message.get(at + 1)?]);
    Some(Question {
        name,
        qtype,
        is_response: flags & 0x8000 != 0,
    })
}

/// Builds a query for `name` of type `qtype`, for tests and generators.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut message = id.to_be_bytes().to_vec();
    message.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        message.push(label.len().min(63) as u8);
        message.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    message.push(0);
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message
}

/// The registered domain a name belongs to: its last two labels (three when the
/// second-level label is short, as in `example.co.uk`).
pub fn base_domain(name: &str) -> &str {
    let labels: Vec<&str> = name.rsplitn(4, '.').collect();
    let keep = match labels.as_slice() {
        [tld, second, _, ..] if second.len() <= 3 && tld.len() == 2 => 3,
        _ => 2,
    };
    let mut dots = 0;
    for (i, c) in name.char_indices().rev() {
        if c == '.' {
            dots += 1;
            if dots == keep {
                return &name[i + 1..];
            }
        }
    }
    name
}

/// Shannon entropy of `text` in bits per character.
pub fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_query_parses_back() {
        let q = parse_question(&build_query(7, "WWW.Example.org", TYPE_TXT)).unwrap();
        assert_eq!(q.name, "www.example.org");
        assert_eq!(q.qtype, TYPE_TXT);
        assert!(!q.is_response);
        for cut in 0..20 {
            assert!(parse_question(&build_query(7, "www.example.org", 1)[..cut]).is_none());
        }
    }

    #[test]
    fn base_domains_and_entropy() {
        assert_eq!(base_domain("a.b.tunnel.example.com"), "example.com");
        assert_eq!(base_domain("x.nhs.co.uk"), "nhs.co.uk");
        assert_eq!(base_domain("localhost"), "localhost");
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!(entropy("q8x2kz0vma7rj5tb") > 3.5);
    }
}
