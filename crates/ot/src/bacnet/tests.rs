use super::*;

/// BVLC Original-Unicast-NPDU around an NPDU without addresses and `apdu`.
fn unicast(apdu: &[u8]) -> Vec<u8> {
    let len = (apdu.len() + 6) as u16;
    let mut out = vec![0x81, 0x0a, (len >> 8) as u8, len as u8, 0x01, 0x04];
    out.extend_from_slice(apdu);
    out
}

#[test]
fn write_property_of_a_setpoint_carries_value_and_priority() {
    // Confirmed request, invoke 5, WriteProperty: analog-value 1, present-value,
    // value REAL 30.0, priority 8.
    let apdu = [
        0x00, 0x05, 0x05, 0x0f, // type 0, max APDU, invoke 5, service 15
        0x0c, 0x00, 0x80, 0x00, 0x01, // ctx 0: object analog-value:1
        0x19, 0x55, // ctx 1: property 85
        0x3e, 0x44, 0x41, 0xf0, 0x00, 0x00, 0x3f, // ctx 3 { REAL 30.0 }
        0x49, 0x08, // ctx 4: priority 8
    ];
    let message = parse_datagram(&unicast(&apdu)).unwrap();
    let apdu = message.apdu.unwrap();
    assert_eq!(apdu.service_name, Some("write_property"));
    let Service::Properties { refs } = apdu.service else {
        panic!("no properties");
    };
    assert_eq!(refs[0].object.to_string(), "analog-value:1");
    assert_eq!(names::property(refs[0].property), "present-value");
    assert_eq!(refs[0].value, Some(30.0));
    assert_eq!(refs[0].priority, Some(8));
}

#[test]
fn who_is_with_range_and_i_am() {
    let who_is = parse_datagram(&unicast(&[0x10, 0x08, 0x09, 0x01, 0x1a, 0x03, 0xe8])).unwrap();
    assert_eq!(
        who_is.apdu.unwrap().service,
        Service::WhoIs {
            low: Some(1),
            high: Some(1000)
        }
    );
    // I-Am device 1000, max APDU 1476, segmentation 3, vendor 15
    let i_am = [
        0x10, 0x00, 0xc4, 0x02, 0x00, 0x03, 0xe8, 0x22, 0x05, 0xc4, 0x91, 0x03, 0x21, 0x0f,
    ];
    let Service::IAm { device, vendor } = parse_datagram(&unicast(&i_am))
        .unwrap()
        .apdu
        .unwrap()
        .service
    else {
        panic!("not I-Am");
    };
    assert_eq!(
        (device.object_type, device.instance, vendor),
        (8, 1000, Some(15))
    );
}

#[test]
fn reject_and_abort_carry_their_reasons() {
    let reject = parse_datagram(&unicast(&[0x60, 0x01, 0x09]))
        .unwrap()
        .apdu
        .unwrap();
    assert_eq!(reject.result.as_deref(), Some("unrecognized-service"));
    let abort = parse_datagram(&unicast(&[0x71, 0x02, 0x04]))
        .unwrap()
        .apdu
        .unwrap();
    assert_eq!(abort.pdu_type, PduType::Abort);
    assert_eq!(abort.result.as_deref(), Some("segmentation-not-supported"));
}

#[test]
fn lying_lengths_are_typed_errors() {
    // A BVLC length that lies is flagged while the datagram is still decoded.
    let mut frame = unicast(&[0x10, 0x08]);
    frame[3] += 1;
    let message = parse_datagram(&frame).unwrap();
    assert_eq!(message.bvlc_length_mismatch, Some(9));
    assert_eq!(message.apdu.unwrap().service_name, Some("who_is"));
    frame[3] = 2;
    assert!(matches!(
        parse_datagram(&frame),
        Err(BacnetError::BadBvlcLength { .. })
    ));
    // A tag whose extended length runs past the end.
    let bad = unicast(&[0x00, 0x05, 0x01, 0x0c, 0x0d, 0xff, 0x00]);
    assert!(matches!(parse_datagram(&bad), Err(BacnetError::Tag(_))));
}

#[test]
fn every_prefix_and_byte_flip_parses_or_errors() {
    let apdu = [
        0x00, 0x05, 0x05, 0x0e, 0x0c, 0x02, 0x00, 0x03, 0xe8, 0x1e, 0x09, 0x55, 0x1f,
    ];
    let frame = unicast(&apdu);
    for len in 0..frame.len() {
        let _ = parse_datagram(&frame[..len]);
        let _ = parse_apdu(&apdu[..len.min(apdu.len())]);
    }
    for i in 0..apdu.len() {
        for b in [0x00, 0x3e, 0x5d, 0xff] {
            let mut copy = apdu;
            copy[i] = b;
            let _ = parse_apdu(&copy);
        }
    }
}
