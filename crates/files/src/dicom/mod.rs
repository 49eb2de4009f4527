//! DICOM Part 10 inspection: preamble, file meta group, and the dataset element by element.
//!
//! This is a bounded walker of our own rather than a full DICOM decoder: the
//! checks need raw offsets and declared lengths, and must see exactly where a
//! lenient decoder would repair or skip. Nothing here allocates in proportion
//! to a declared length, and sequence depth and element count are capped.

pub mod values;
pub mod walk;

use std::io::Read;

use crate::magic::{self, FileType};
use crate::verdict::{Finding, Severity};
use values::ValueChecks;
use walk::{Header, Syntax, WalkError, WalkLimits, Walker};

const PREAMBLE: usize = 128;
const META_START: usize = 132;

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";

/// What the DICOM inspection may do and what the site expects.
#[derive(Debug, Clone, Copy)]
pub struct DicomOptions {
    pub limits: WalkLimits,
    /// Patient-identifying elements are a finding (medium) rather than a note (info).
    pub require_pseudonymised: bool,
    /// A deflated dataset is inflated up to this many bytes.
    pub max_inflated: usize,
}

impl Default for DicomOptions {
    fn default() -> Self {
        DicomOptions {
            limits: WalkLimits::default(),
            require_pseudonymised: false,
            max_inflated: 256 * 1024 * 1024,
        }
    }
}

/// The file meta group as far as the checks need it.
#[derive(Debug, Default)]
struct Meta {
    group_length: Option<u32>,
    transfer_syntax: Option<String>,
    end: usize,
}

/// Inspects a DICOM file (`FileType::Dicom` or `FileType::DicomDataset`) and lists its findings.
pub fn inspect(data: &[u8], options: &DicomOptions) -> Vec<Finding> {
    let mut findings = Vec::new();

    if data.get(PREAMBLE..META_START) != Some(b"DICM") {
        // A bare dataset: no preamble to abuse, no meta header to check.
        findings.push(Finding::whole(
            "dicom.no_meta_header",
            Severity::Info,
            "no 128-byte preamble and 'DICM' prefix: a bare dataset (allowed outside media files)",
        ));
        if let Some(syntax) = sniff_bare_dataset(data) {
            walk_dataset(data, 0, 0, syntax, options, &mut findings);
        }
        return findings;
    }

    check_preamble(&data[..PREAMBLE], &mut findings);
    let meta = match read_meta(data) {
        Ok(meta) => meta,
        Err(err) => {
            findings.push(classify(data, 0, &err, "file meta group"));
            return findings;
        }
    };
    check_meta(&meta, &mut findings);

    let syntax = dataset_syntax(data, &meta, &mut findings);
    match syntax {
        Some(syntax) => walk_dataset(data, meta.end, 0, syntax, options, &mut findings),
        None => inflate_and_walk(data, meta.end, options, &mut findings),
    }
    findings
}

/// Flags code, archives or documents in the preamble; notes TIFF and other content.
fn check_preamble(preamble: &[u8], findings: &mut Vec<Finding>) {
    if let Some(kind) = magic::code_or_archive(preamble) {
        findings.push(Finding::at(
            "dicom.preamble_code",
            Severity::High,
            0,
            format!(
                "the 128-byte preamble starts a {} file: a DICOM polyglot (CVE-2019-11687)",
                kind.name()
            ),
        ));
        return;
    }
    if magic::detect(preamble) == FileType::Tiff {
        findings.push(Finding::at(
            "dicom.preamble_tiff",
            Severity::Info,
            0,
            "the preamble holds a TIFF header (a dual-personality DICOM/TIFF file)",
        ));
        return;
    }
    if preamble.iter().any(|&b| b != 0) {
        findings.push(Finding::at(
            "dicom.preamble_nonzero",
            Severity::Info,
            0,
            "the preamble is not all zeros but starts no known executable or archive",
        ));
    }
}

/// Reads the explicit VR little endian group 0002 that follows 'DICM'.
fn read_meta(data: &[u8]) -> Result<Meta, WalkError> {
    let mut sink = ValueChecks::default();
    let walker = Walker::new(
        data,
        Syntax::ExplicitLittle,
        WalkLimits::default(),
        &mut sink,
    );
    let mut meta = Meta {
        end: META_START,
        ..Meta::default()
    };
    let mut pos = META_START;

    // The group ends at the first element of another group, whatever its syntax.
    while data.get(pos..pos + 2) == Some(&[0x02, 0x00]) {
        let header = walker.read_header(pos)?;
        let value = meta_value(data, &header)?;
        match header.tag.1 {
            0x0000 if value.len() == 4 => {
                meta.group_length =
                    Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]));
            }
            0x0010 => {
                let uid = String::from_utf8_lossy(value);
                meta.transfer_syntax = Some(uid.trim_end_matches(['\0', ' ']).to_string());
            }
            _ => {}
        }
        pos = header.value_start + value.len();
        meta.end = pos;
    }
    Ok(meta)
}

fn meta_value<'a>(data: &'a [u8], header: &Header) -> Result<&'a [u8], WalkError> {
    let available = data.len().saturating_sub(header.value_start);
    if header.length as usize > available {
        return Err(WalkError::LengthOverrun {
            offset: header.offset,
            group: header.tag.0,
            element: header.tag.1,
            length: header.length,
            available,
        });
    }
    Ok(&data[header.value_start..header.value_start + header.length as usize])
}

/// Compares the group length with the meta group actually read; checks the UID.
fn check_meta(meta: &Meta, findings: &mut Vec<Finding>) {
    let actual = meta.end.saturating_sub(META_START + 12) as u64;
    match meta.group_length {
        None => findings.push(Finding::at(
            "dicom.meta_no_group_length",
            Severity::Info,
            META_START as u64,
            "the file meta group has no group length (0002,0000)",
        )),
        Some(declared) if u64::from(declared) != actual => findings.push(Finding::at(
            "dicom.meta_group_length_mismatch",
            Severity::Low,
            META_START as u64,
            format!("the file meta group declares {declared} bytes but holds {actual}"),
        )),
        Some(_) => {}
    }
    match &meta.transfer_syntax {
        None => findings.push(Finding::at(
            "dicom.meta_no_transfer_syntax",
            Severity::Info,
            META_START as u64,
            "the file meta group names no transfer syntax (0002,0010); guessed from the data",
        )),
        Some(uid) if !is_uid(uid) => findings.push(Finding::at(
            "dicom.transfer_syntax_invalid",
            Severity::Medium,
            META_START as u64,
            "the transfer syntax (0002,0010) is not a valid UID",
        )),
        Some(_) => {}
    }
}

/// A UID: digits and dots, at most 64 characters.
fn is_uid(uid: &str) -> bool {
    !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// The dataset's syntax from the meta group, checked against the first element.
///
/// `None` means deflated. A declared syntax the data contradicts is a finding,
/// and the walk goes on in the syntax the data shows.
fn dataset_syntax(data: &[u8], meta: &Meta, findings: &mut Vec<Finding>) -> Option<Syntax> {
    let declared = match meta.transfer_syntax.as_deref() {
        Some(DEFLATED_LE) => return None,
        Some(IMPLICIT_LE) => Some(Syntax::ImplicitLittle),
        Some(EXPLICIT_BE) => Some(Syntax::ExplicitBig),
        Some(_) => Some(Syntax::ExplicitLittle),
        None => None,
    };
    let observed = sniff_syntax(data, meta.end);

    match (declared, observed) {
        (Some(declared), Some(observed))
            if declared != observed && !data_fits(data, meta.end, declared) =>
        {
            // A writer bug more than an attack: readers such as pydicom repair it silently.
            findings.push(Finding::at(
                "dicom.transfer_syntax_mismatch",
                Severity::Low,
                meta.end as u64,
                format!("the meta header declares {declared:?} but the dataset is {observed:?}"),
            ));
            Some(observed)
        }
        (Some(declared), _) => Some(declared),
        (None, observed) => Some(observed.unwrap_or(Syntax::ExplicitLittle)),
    }
}

/// Whether the first element at `pos` reads sensibly in `syntax`.
fn data_fits(data: &[u8], pos: usize, syntax: Syntax) -> bool {
    if pos >= data.len() {
        return true;
    }
    let mut sink = ValueChecks::default();
    let walker = Walker::new(data, syntax, WalkLimits::default(), &mut sink);
    match walker.read_header(pos) {
        Ok(header) => {
            let plausible_group = header.tag.0 <= 0x7FE0 && header.tag.0 != 0;
            let fits = header.length == walk::UNDEFINED
                || header.value_start.saturating_add(header.length as usize) <= data.len();
            plausible_group && fits
        }
        Err(_) => false,
    }
}

/// The syntax a dataset starting at `pos` appears to use.
fn sniff_syntax(data: &[u8], pos: usize) -> Option<Syntax> {
    [
        Syntax::ExplicitLittle,
        Syntax::ExplicitBig,
        Syntax::ImplicitLittle,
    ]
    .into_iter()
    .find(|&syntax| data_fits(data, pos, syntax))
}

/// The syntax of a bare dataset (no preamble), when `data` starts like one.
///
/// Requires a first element in group 0002 or 0008, where every dataset starts.
pub fn sniff_bare_dataset(data: &[u8]) -> Option<Syntax> {
    let group_le = u16::from_le_bytes([*data.first()?, *data.get(1)?]);
    let group_be = u16::from_be_bytes([data[0], data[1]]);
    let syntax = sniff_syntax(data, 0)?;
    let group = if syntax == Syntax::ExplicitBig {
        group_be
    } else {
        group_le
    };
    matches!(group, 0x0002 | 0x0008).then_some(syntax)
}

/// Walks the dataset from `start`, adding what the values and any stop reveal.
fn walk_dataset(
    data: &[u8],
    start: usize,
    base: u64,
    syntax: Syntax,
    options: &DicomOptions,
    findings: &mut Vec<Finding>,
) {
    let mut checks = ValueChecks {
        base,
        ..ValueChecks::default()
    };
    let result = Walker::new(data, syntax, options.limits, &mut checks).walk_top(start);

    if let Err(err) = result {
        let mut finding = classify(data, base, &err, "dataset");
        if base > 0 {
            finding.detail.push_str(" (offset in the inflated dataset)");
        }
        findings.push(finding);
    }
    findings.append(&mut checks.findings);
    if !checks.identifiers.is_empty() {
        let severity = if options.require_pseudonymised {
            Severity::Medium
        } else {
            Severity::Info
        };
        let names: Vec<&str> = checks.identifiers.into_iter().collect();
        findings.push(Finding::whole(
            "dicom.patient_identifiers",
            severity,
            format!("patient-identifying elements present: {}", names.join(", ")),
        ));
    }
}

/// Inflates a deflated dataset (bounded) and walks it as explicit VR little endian.
fn inflate_and_walk(
    data: &[u8],
    start: usize,
    options: &DicomOptions,
    findings: &mut Vec<Finding>,
) {
    let compressed = data.get(start..).unwrap_or_default();
    let mut inflated = Vec::new();
    let limit = options.max_inflated as u64 + 1;
    let result = flate2::read::DeflateDecoder::new(compressed)
        .take(limit)
        .read_to_end(&mut inflated);

    if let Err(err) = result {
        findings.push(Finding::at(
            "dicom.deflate_corrupt",
            Severity::Medium,
            start as u64,
            format!("the deflated dataset does not inflate: {err}"),
        ));
        return;
    }
    if inflated.len() > options.max_inflated {
        findings.push(Finding::at(
            "dicom.deflate_bomb",
            Severity::High,
            start as u64,
            format!(
                "the deflated dataset inflates past {} bytes",
                options.max_inflated
            ),
        ));
        return;
    }
    walk_dataset(
        &inflated,
        0,
        start as u64,
        Syntax::ExplicitLittle,
        options,
        findings,
    );
}

/// Turns a walk error into a finding: code where an element should be is malicious.
fn classify(data: &[u8], base: u64, err: &WalkError, part: &str) -> Finding {
    let offset = err.offset();
    let at = base + offset as u64;
    let rest = data.get(offset..).unwrap_or_default();

    if let Some(kind) = magic::code_or_archive(rest) {
        return Finding::at(
            "dicom.trailing_code",
            Severity::High,
            at,
            format!(
                "{} content where a {part} element should be: {err}",
                kind.name()
            ),
        );
    }
    let (kind, severity) = match err {
        WalkError::TruncatedHeader { .. } => ("dicom.truncated", Severity::Low),
        WalkError::LengthOverrun { length, .. } if (*length as usize) <= data.len() => {
            ("dicom.truncated", Severity::Low)
        }
        WalkError::LengthOverrun { .. } => ("dicom.length_overrun", Severity::Medium),
        WalkError::TooDeep { .. } => ("dicom.nesting_too_deep", Severity::Medium),
        WalkError::TooManyElements { .. } => ("dicom.too_many_elements", Severity::Medium),
        WalkError::UndefinedLengthNotAllowed { .. } => ("dicom.undefined_length", Severity::Medium),
        _ => ("dicom.malformed", Severity::Medium),
    };
    Finding::at(kind, severity, at, format!("{part}: {err}"))
}
