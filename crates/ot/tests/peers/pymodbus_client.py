"""A pymodbus client that reads and writes the `safecare ot simulate` device.

Usage: python3 pymodbus_client.py PORT

Decodes with pymodbus's own converters and prints one JSON object: the values read, and
the outcome of a setpoint write and of a write to a read-only register.
"""

import json
import sys

from pymodbus.client import ModbusTcpClient

TYPES = ModbusTcpClient.DATATYPE


def registers(response):
    if response.isError():
        sys.exit(f"the simulator refused a read: {response}")
    return response.registers


def main(port):
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    if not client.connect():
        sys.exit(f"could not connect to 127.0.0.1:{port}")
    convert = client.convert_from_registers
    out = {}

    words = registers(client.read_input_registers(100, count=1, device_id=1))
    out["freezer"] = round(convert(words, TYPES.INT16) * 0.1, 3)
    words = registers(client.read_input_registers(0, count=2, device_id=2))
    out["or_temperature"] = convert(words, TYPES.FLOAT32, word_order="little")
    words = registers(client.read_holding_registers(0, count=2, device_id=4))
    out["mains_voltage"] = round(convert(words, TYPES.UINT32) * 0.01, 3)
    bits = client.read_discrete_inputs(0, count=1, device_id=4)
    out["ups_on_battery"] = bits.bits[0]

    # An operator (or an attacker) writes -15.0 C to the freezer setpoint.
    written = client.write_register(101, -150 & 0xFFFF, device_id=1)
    out["setpoint_written"] = not written.isError()
    words = registers(client.read_holding_registers(101, count=1, device_id=1))
    out["setpoint"] = round(convert(words, TYPES.INT16) * 0.1, 3)

    # Holding register 100 is not a point: the device must refuse the write.
    refused = client.write_register(100, 1, device_id=1)
    out["unmapped_write_refused"] = refused.isError()

    client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]))
