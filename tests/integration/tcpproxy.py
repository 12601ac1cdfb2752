"""
A TCP proxy the fault tests put between processes and a server (broker or database), in a process
of its own: killing it cuts every connection through it and refuses new ones; starting it again on
the same port lets them through again.

    python tests/integration/tcpproxy.py LISTEN_PORT TARGET_HOST TARGET_PORT

Prints "listening" once it accepts connections.
"""

import asyncio
import socket
import sys


async def pipe(reader, writer):
    """Copy ``reader`` to ``writer`` until either side closes."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def main(listen_port, target_host, target_port):
    """Proxy 127.0.0.1:``listen_port`` to ``target_host``:``target_port`` until killed."""
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, server_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, reuse_address=True)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
