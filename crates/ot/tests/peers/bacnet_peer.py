"""A bacpypes3 device and a bacpypes3 client talking BACnet/IP over 127.0.0.1.

The device (an air handler: one analog-value setpoint and twenty analog-input
temperatures) listens on --device-port; the client, on --client-port, performs a
fixed list of services against it: Who-Is, ReadProperty, ReadPropertyMultiple,
WriteProperty and ReadProperty again. Both accept APDUs of --max-apdu bytes at most
and segment what is longer, so a large ReadPropertyMultiple travels in segments.

Prints one JSON object on stdout: every service the client issued, with numeric
object types and property identifiers, and what it got back, so that a test can
compare them with what a passive sensor decoded from the same traffic.

Exit status 3 means a Python module is missing; the message says how to install it.
"""

import argparse
import asyncio
import json
import sys

try:
    from bacpypes3.basetypes import EngineeringUnits, PropertyIdentifier
    from bacpypes3.ipv4.app import NormalApplication
    from bacpypes3.local.analog import AnalogInputObject, AnalogValueObject
    from bacpypes3.local.device import DeviceObject
    from bacpypes3.pdu import Address, IPv4Address
    from bacpypes3.primitivedata import ObjectIdentifier
except ImportError as missing:
    print(
        f"the BACnet peer needs bacpypes3 ({missing}); install it with "
        "`python3 -m pip install -r .ci/requirements-peers.txt`",
        file=sys.stderr,
    )
    sys.exit(3)

DEVICE_INSTANCE = 1001
CLIENT_INSTANCE = 2002
TEMPERATURES = 20
VENDOR = 999


def device_object(instance, name, max_apdu):
    return DeviceObject(
        objectIdentifier=("device", instance),
        objectName=name,
        vendorIdentifier=VENDOR,
        maxApduLengthAccepted=max_apdu,
        segmentationSupported="segmented-both",
    )


def air_handler(port, max_apdu):
    """The device: a supply-air setpoint and the temperatures it reads."""
    app = NormalApplication(
        device_object(DEVICE_INSTANCE, "ahu-1", max_apdu),
        IPv4Address(f"127.0.0.1/8:{port}"),
    )
    app.add_object(
        AnalogValueObject(
            objectIdentifier=("analog-value", 1),
            objectName="supply-air-setpoint",
            presentValue=21.5,
            units=EngineeringUnits.degreesCelsius,
        )
    )
    for instance in range(TEMPERATURES):
        app.add_object(
            AnalogInputObject(
                objectIdentifier=("analog-input", instance),
                objectName=f"zone-temperature-{instance}",
                presentValue=instance + 0.5,
                units=EngineeringUnits.degreesCelsius,
            )
        )
    return app


def object_ref(text):
    """`analog-value,1` as [object type number, instance]."""
    object_id = ObjectIdentifier(text)
    return [int(object_id[0]), object_id[1]]


def property_id(name):
    return int(PropertyIdentifier(name))


async def run_client(app, device):
    """The services the client issues, each logged with what it got back."""
    log = []

    i_ams = await app.who_is(DEVICE_INSTANCE - 1, DEVICE_INSTANCE + 1, device)
    log.append({
        "service": "who_is",
        "low": DEVICE_INSTANCE - 1,
        "high": DEVICE_INSTANCE + 1,
        "i_am": [i_am.iAmDeviceIdentifier[1] for i_am in i_ams],
    })

    value = await app.read_property(device, "analog-value,1", "present-value")
    log.append({
        "service": "read_property",
        "refs": [object_ref("analog-value,1") + [property_id("present-value")]],
        "values": [value],
    })

    wanted = []
    refs = []
    for instance in range(TEMPERATURES):
        wanted += [f"analog-input,{instance}", ["present-value", "units"]]
        for name in ("present-value", "units"):
            refs.append(object_ref(f"analog-input,{instance}") + [property_id(name)])
    results = await app.read_property_multiple(device, wanted)
    log.append({
        "service": "read_property_multiple",
        "refs": refs,
        # Numbers only: the sensor keeps numeric values (units are enumerated).
        "values": [float(v) if isinstance(v, float) else int(v) for (_, _, _, v) in results],
    })

    await app.write_property(device, "analog-value,1", "present-value", 23.0, priority=8)
    log.append({
        "service": "write_property",
        "refs": [object_ref("analog-value,1") + [property_id("present-value")]],
        "values": [23.0],
        "priority": 8,
    })

    value = await app.read_property(device, "analog-value,1", "present-value")
    log.append({
        "service": "read_property",
        "refs": [object_ref("analog-value,1") + [property_id("present-value")]],
        "values": [value],
    })
    return log


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device-port", type=int, required=True)
    parser.add_argument("--client-port", type=int, required=True)
    parser.add_argument("--max-apdu", type=int, default=1476)
    args = parser.parse_args()

    device = air_handler(args.device_port, args.max_apdu)
    client = NormalApplication(
        device_object(CLIENT_INSTANCE, "workstation", args.max_apdu),
        IPv4Address(f"127.0.0.1/8:{args.client_port}"),
    )
    try:
        log = await asyncio.wait_for(
            run_client(client, Address(f"127.0.0.1:{args.device_port}")), timeout=30
        )
    finally:
        client.close()
        device.close()
    json.dump({"device_port": args.device_port, "client_port": args.client_port,
               "services": log}, sys.stdout)
    print()


if __name__ == "__main__":
    asyncio.run(main())
