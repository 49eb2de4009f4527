//! What the sensor hands to detections and to `--transactions`: one decoded exchange.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bacnet;
use crate::modbus;

/// One decoded exchange: a Modbus request with its response, or one BACnet message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    /// When the request (or the message) was seen.
    pub time: DateTime<Utc>,
    /// The side that asked (for Modbus the TCP client; for BACnet the sender).
    pub client: IpAddr,
    /// The client's (sender's) port.
    pub client_port: u16,
    /// The side asked (for Modbus the TCP server; for BACnet the receiver).
    pub server: IpAddr,
    /// The server's (receiver's) port.
    pub server_port: u16,
    /// What was exchanged, by protocol.
    #[serde(flatten)]
    pub detail: Detail,
}

/// The protocol-specific part of a transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Detail {
    /// A Modbus/TCP request and its response.
    Modbus(ModbusExchange),
    /// One BACnet/IP message.
    Bacnet(BacnetExchange),
}

/// A Modbus request and its response, paired by transaction id and unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModbusExchange {
    /// The MBAP transaction id shared by request and response.
    pub transaction_id: u16,
    /// The unit addressed behind the server.
    pub unit_id: u8,
    /// The function code, without the exception bit.
    pub function: u8,
    /// The function's name; `None` for unassigned codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<&'static str>,
    /// The request; `None` for a response whose request was not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<modbus::Pdu>,
    /// The response; `None` when the server never answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<modbus::Pdu>,
}

impl ModbusExchange {
    /// The exception code of the response, when the function failed.
    pub fn exception(&self) -> Option<u8> {
        self.response.as_ref().and_then(modbus::Pdu::exception)
    }
}

/// One BACnet/IP message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacnetExchange {
    /// The decoded datagram; for a segmented message, the datagram of its last segment
    /// carrying the reassembled APDU.
    pub message: bacnet::Message,
    /// How many segments a reassembled message came in; `None` when it was not
    /// segmented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<u32>,
}

impl BacnetExchange {
    /// The APDU, when the message carries one.
    pub fn apdu(&self) -> Option<&bacnet::Apdu> {
        self.message.apdu.as_ref()
    }
}
