//! The EDXL-HAVE 1.0 writer: the hospital's availability as OASIS XML.
//!
//! One `HospitalStatus` with one `Hospital`, whose children follow the schema's sequence:
//! Organization, EmergencyDepartmentStatus, HospitalBedCapacityStatus,
//! ServiceCoverageStatus, HospitalFacilityStatus, HospitalResourcesStatus, LastUpdateTime.
//! Inside each, elements are written in the schema's order as well, and only elements whose
//! type is a plain value (enumerations, integers, booleans, text) are used: the
//! organisation's name goes into the CIQ `xnl:OrganisationName` the schema imports, and
//! service states the HAVE vocabulary has no element for go into `CommentText`.
//! Text is escaped by hand; the writer needs no XML library.

use std::fmt::Write as _;

use chrono::SecondsFormat;

use crate::model::{
    Adequacy, Availability, ClinicalStatus, EmsTraffic, FacilityStatus, SecurityStatus,
    ServiceStatus,
};

/// The EDXL-HAVE 1.0 namespace.
pub const HAVE_NAMESPACE: &str = "urn:oasis:names:tc:emergency:EDXL:HAVE:1.0";
/// The OASIS CIQ extensible name language namespace, for the organisation's name.
pub const XNL_NAMESPACE: &str = "urn:oasis:names:tc:ciq:xnl:3";

/// Writes availability as an EDXL-HAVE 1.0 `HospitalStatus` document.
pub fn have_xml(availability: &Availability) -> String {
    let mut xml = Xml::default();
    xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.raw(&format!(
        "<HospitalStatus xmlns=\"{HAVE_NAMESPACE}\" xmlns:xnl=\"{XNL_NAMESPACE}\">\n"
    ));
    xml.open("Hospital");

    organization(&mut xml, availability);
    emergency_department(&mut xml, availability);
    bed_capacity(&mut xml, availability);
    service_coverage(&mut xml, availability);
    facility(&mut xml, availability);
    resources(&mut xml, availability);
    let updated = availability
        .updated
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    xml.leaf("LastUpdateTime", &updated);

    xml.close("Hospital");
    xml.raw("</HospitalStatus>\n");
    xml.out
}

fn organization(xml: &mut Xml, availability: &Availability) {
    xml.open("Organization");
    xml.open("OrganizationInformation");
    xml.open("xnl:OrganisationName");
    xml.leaf("xnl:NameElement", &availability.name);
    xml.close("xnl:OrganisationName");
    xml.close("OrganizationInformation");
    xml.leaf(
        "CommentText",
        &format!("SafeCare site {}", availability.site),
    );
    xml.close("Organization");
}

fn emergency_department(xml: &mut Xml, availability: &Availability) {
    let traffic = match availability.status.ems_traffic {
        EmsTraffic::Normal => "Normal",
        EmsTraffic::Advisory => "Advisory",
        EmsTraffic::Closed => "Closed",
        EmsTraffic::NotApplicable => "NotApplicable",
    };
    xml.open("EmergencyDepartmentStatus");
    xml.open("EMSTraffic");
    xml.leaf("EMSTrafficStatus", traffic);
    xml.close("EMSTraffic");
    let emergency = availability.services.iter().filter(|s| {
        s.beds
            .iter()
            .any(|b| b.bed_type.as_str() == "EmergencyDepartment")
    });
    for service in emergency {
        xml.leaf("CommentText", &service_line(service));
    }
    xml.close("EmergencyDepartmentStatus");
}

fn bed_capacity(xml: &mut Xml, availability: &Availability) {
    xml.open("HospitalBedCapacityStatus");
    for bed in &availability.beds {
        let status = if bed.available > 0 {
            "Vacant/Available"
        } else {
            "NotAvailable"
        };
        xml.open("BedCapacity");
        xml.leaf("BedType", bed.bed_type.as_str());
        xml.open("Capacity");
        xml.leaf("CapacityStatus", status);
        xml.leaf("AvailableCount", &bed.available.to_string());
        xml.leaf("BaselineCount", &bed.baseline.to_string());
        xml.close("Capacity");
        xml.close("BedCapacity");
    }
    xml.close("HospitalBedCapacityStatus");
}

fn service_coverage(xml: &mut Xml, availability: &Availability) {
    xml.open("ServiceCoverageStatus");
    let emergency = availability
        .services
        .iter()
        .filter(|s| {
            s.beds
                .iter()
                .any(|b| b.bed_type.as_str() == "EmergencyDepartment")
        })
        .any(|s| s.status != ServiceStatus::Unavailable);
    xml.leaf(
        "EmergencyDepartment",
        if emergency { "true" } else { "false" },
    );
    for service in &availability.services {
        xml.leaf("CommentText", &service_line(service));
    }
    xml.close("ServiceCoverageStatus");
}

fn facility(xml: &mut Xml, availability: &Availability) {
    let state = &availability.status;
    let eoc = if state.eoc_active {
        "Active"
    } else {
        "Inactive"
    };
    let clinical = match state.clinical {
        ClinicalStatus::Normal => "Normal",
        ClinicalStatus::Full => "Full",
    };
    let facility = match state.facility {
        FacilityStatus::Normal => "Normal",
        FacilityStatus::Compromised => "Compromised",
        FacilityStatus::Evacuating => "Evacuating",
        FacilityStatus::Closed => "Closed",
    };
    let security = match state.security {
        SecurityStatus::Normal => "Normal",
        SecurityStatus::Elevated => "Elevated",
        SecurityStatus::RestrictedAccess => "RestrictedAccess",
        SecurityStatus::Lockdown => "Lockdown",
        SecurityStatus::Quarantine => "Quarantine",
    };
    xml.open("HospitalFacilityStatus");
    xml.leaf("HospitalEOCStatus", eoc);
    xml.leaf("HospitalEOCPlan", eoc);
    xml.leaf("ClinicalStatus", clinical);
    xml.leaf("FacilityStatus", facility);
    xml.leaf("SecurityStatus", security);
    for incident in &availability.incidents {
        let line = format!(
            "Incident {} ({}): {}; {} service(s) degraded",
            incident.id,
            incident.incident_type.as_str(),
            incident.title,
            incident.services
        );
        xml.leaf("CommentText", &line);
    }
    xml.close("HospitalFacilityStatus");
}

fn resources(xml: &mut Xml, availability: &Availability) {
    let state = &availability.status;
    let word = |a: Adequacy| match a {
        Adequacy::Adequate => "Adequate",
        Adequacy::Insufficient => "Insufficient",
    };
    xml.open("HospitalResourcesStatus");
    xml.leaf("Staffing", word(state.staffing));
    xml.leaf("FacilityOperations", word(state.facility_operations));
    xml.leaf("ClinicalOperations", word(state.clinical_operations));
    for service in availability.services.iter().filter(|s| !s.staff.is_empty()) {
        let staff: Vec<String> = service
            .staff
            .iter()
            .map(|r| format!("{} {}/{}", r.role, r.on_duty, r.baseline))
            .collect();
        xml.leaf(
            "CommentText",
            &format!("{} staff on duty: {}", service.name, staff.join(", ")),
        );
    }
    xml.close("HospitalResourcesStatus");
}

/// "Radiology and imaging (svc-radiology): degraded, 20 % capacity".
fn service_line(service: &crate::model::ServiceAvailability) -> String {
    let status = match service.status {
        ServiceStatus::Normal => "normal",
        ServiceStatus::Degraded => "degraded",
        ServiceStatus::Unavailable => "unavailable",
    };
    format!(
        "{} ({}): {status}, {:.0} % capacity",
        service.name,
        service.service,
        service.capacity * 100.0
    )
}

/// An indenting XML text builder.
#[derive(Default)]
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn indent(&mut self) {
        for _ in 0..=self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>{}</{name}>", escape(text));
    }
}

/// Escapes element text: `&`, `<`, `>`, quotes, and drops characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    safecare_core::markup::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(
            escape("A&B <x> \"q\" 'a'"),
            "A&amp;B &lt;x&gt; &quot;q&quot; &#39;a&#39;"
        );
        assert_eq!(escape("bell\u{7}tab\t"), "belltab\t");
    }
}
