"""A pymodbus server and client talking Modbus/TCP over 127.0.0.1.

The client performs a fixed list of operations against the server (reads, writes,
and a read of an address the server does not have) and prints one JSON object on
stdout: every operation with the request it sent and the response it got, so that a
test can compare them with what a passive sensor decoded from the same traffic.

Exit status 3 means a Python module is missing; the message says how to install it.
"""

import argparse
import asyncio
import json
import sys

try:
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.datastore import (
        ModbusDeviceContext,
        ModbusSequentialDataBlock,
        ModbusServerContext,
    )
    from pymodbus.server import ModbusTcpServer
except ImportError as missing:
    print(
        f"the Modbus peer needs pymodbus ({missing}); install it with "
        "`python3 -m pip install -r .ci/requirements-peers.txt`",
        file=sys.stderr,
    )
    sys.exit(3)

# Each data table holds 100 points from protocol address 0 (pymodbus numbers its
# blocks from 1); address 5000 does not exist.
POINTS = 100
MISSING_ADDRESS = 5000


def server_context(unit):
    """A device `unit` whose registers and bits hold recognisable values."""
    device = ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [i % 2 for i in range(POINTS)]),
        di=ModbusSequentialDataBlock(1, [i % 3 == 0 for i in range(POINTS)]),
        hr=ModbusSequentialDataBlock(1, [1000 + i for i in range(POINTS)]),
        ir=ModbusSequentialDataBlock(1, [2000 + i for i in range(POINTS)]),
    )
    return ModbusServerContext(devices={unit: device}, single=False)


def record(function, request, response):
    """One operation: what was asked and what came back."""
    entry = {
        "function": function,
        "request": request,
        "transaction_id": response.transaction_id,
        "unit": response.dev_id,
    }
    if response.isError():
        entry["exception"] = response.exception_code
    else:
        if function in (3, 4):
            entry["registers"] = list(response.registers)
        if function in (1, 2):
            # Only the points asked for; the padding bits of the last byte are zero.
            entry["bits"] = [bool(b) for b in response.bits[: request["quantity"]]]
    return entry


async def run_client(port, unit):
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0)
    if not await client.connect():
        raise SystemExit(f"could not connect to the pymodbus server on 127.0.0.1:{port}")
    ops = []
    try:
        ops.append(record(3, {"address": 10, "quantity": 4},
                          await client.read_holding_registers(10, count=4, device_id=unit)))
        ops.append(record(6, {"address": 20, "value": 215},
                          await client.write_register(20, 215, device_id=unit)))
        ops.append(record(16, {"address": 30, "values": [7, 8, 9]},
                          await client.write_registers(30, [7, 8, 9], device_id=unit)))
        ops.append(record(3, {"address": 30, "quantity": 3},
                          await client.read_holding_registers(30, count=3, device_id=unit)))
        ops.append(record(1, {"address": 5, "quantity": 9},
                          await client.read_coils(5, count=9, device_id=unit)))
        ops.append(record(5, {"address": 7, "value": 0xFF00},
                          await client.write_coil(7, True, device_id=unit)))
        ops.append(record(15, {"address": 0, "values": [1, 0, 1]},
                          await client.write_coils(0, [True, False, True], device_id=unit)))
        ops.append(record(2, {"address": 0, "quantity": 8},
                          await client.read_discrete_inputs(0, count=8, device_id=unit)))
        ops.append(record(4, {"address": 1, "quantity": 2},
                          await client.read_input_registers(1, count=2, device_id=unit)))
        ops.append(record(3, {"address": MISSING_ADDRESS, "quantity": 2},
                          await client.read_holding_registers(MISSING_ADDRESS, count=2,
                                                              device_id=unit)))
    finally:
        client.close()
    return ops


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unit", type=int, default=1)
    args = parser.parse_args()

    server = ModbusTcpServer(server_context(args.unit), address=("127.0.0.1", args.port))
    serving = asyncio.create_task(server.serve_forever())
    for _ in range(100):
        if server.is_active():
            break
        await asyncio.sleep(0.05)
    try:
        ops = await run_client(args.port, args.unit)
    finally:
        await server.shutdown()
        serving.cancel()
    json.dump({"server_port": args.port, "unit": args.unit, "ops": ops}, sys.stdout)
    print()


if __name__ == "__main__":
    asyncio.run(main())
