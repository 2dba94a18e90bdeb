"""A TCP relay: `python3 relay.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT`.

The Dagger kit's registry listens on its engine's loopback only, which the engine itself reaches (it
pushes there) but containers do not (cosign runs in one). The engine tests run this relay inside the
engine's network namespace (nsenter), on the address the engine's containers route to, so that both
reach the same registry.
"""

from __future__ import annotations

import asyncio
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def main(listen_host: str, listen_port: int, target_host: str, target_port: int) -> None:
    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, target_writer), pipe(target_reader, client_writer))

    server = await asyncio.start_server(relay, listen_host, listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host, port, to_host, to_port = sys.argv[1:5]
    asyncio.run(main(host, int(port), to_host, int(to_port)))
