"""A pymodbus Modbus/TCP server holding known values, for `safecare ot poll` to read.

Usage: python3 pymodbus_server.py PORT

Every value is packed here with Python's struct module, independently of SafeCare's
decoder: 16-bit scaled integers, a 32-bit unsigned integer, 32-bit floats in both word
orders, a discrete input and coils.
"""

import asyncio
import struct
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def registers(fmt, value, word_order="big"):
    """The 16-bit registers of `value` packed big-endian, low word first if asked."""
    raw = struct.pack(">" + fmt, value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words if word_order == "big" else words[::-1]


def device():
    coils = [SimData(7, values=[True, False], datatype=DataType.BITS)]
    discrete = [SimData(5, values=[True], datatype=DataType.BITS)]
    holding = [
        SimData(100, values=registers("h", -203), datatype=DataType.REGISTERS),
        SimData(200, values=registers("I", 230400), datatype=DataType.REGISTERS),
    ]
    inputs = [
        SimData(
            0,
            values=registers("f", 21.5) + registers("f", 4.25, "little"),
            datatype=DataType.REGISTERS,
        ),
        SimData(10, values=registers("H", 455), datatype=DataType.REGISTERS),
    ]
    return SimDevice(id=1, simdata=(coils, discrete, holding, inputs))


async def main(port):
    server = ModbusTcpServer(device(), address=("127.0.0.1", port))
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
