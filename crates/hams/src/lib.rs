//! Hospital availability (HAMS): what the hospital can still offer, and its EDXL-HAVE report.
//!
//! The site model gives each clinical service its baseline beds (per EDXL-HAVE bed type)
//! and staff. [`AvailabilityModel`] lowers them with the impact assessments of the open
//! incidents and applies operator overrides; [`have_xml`] writes the result as an
//! EDXL-HAVE 1.0 `HospitalStatus`. [`AvailabilityHandle`] shares the model between the bus
//! [`service`] and the HTTP API.

pub mod cli;
pub mod handle;
pub mod have;
pub mod model;
pub mod service;

pub use handle::AvailabilityHandle;
pub use have::{HAVE_NAMESPACE, have_xml};
pub use model::{
    Adequacy, Availability, AvailabilityModel, BedAvailability, Cause, ClinicalStatus, EmsTraffic,
    FacilityStatus, HospitalState, Override, OverrideError, SecurityStatus, ServiceAvailability,
    ServiceStatus, StaffAvailability, availability_now,
};
