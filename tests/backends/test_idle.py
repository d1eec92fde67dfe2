"""Reachability of a remote: the real cause of a failed connection, and the idle check (real sockets)."""

from __future__ import annotations

import asyncio
import socket

import httpx

from mcpctl.backends.idle import IdleCheck
from mcpctl.reach import describe


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_called_that() -> None:
    async def attempt() -> str:
        async with httpx.AsyncClient() as client:
            try:
                await client.get(f"http://127.0.0.1:{closed_port()}/mcp")
            except httpx.HTTPError as exc:
                return describe(exc)
        return "answered"

    assert asyncio.run(attempt()) == "connection refused"


def test_the_idle_check_reports_a_server_that_went_away_and_not_one_that_answers() -> None:
    async def run() -> tuple[list[str], int]:
        answered = 0

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal answered
            await reader.readuntil(b"\r\n\r\n")
            answered += 1
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        lost: list[str] = []
        async with httpx.AsyncClient() as client:

            async def check() -> None:
                async with client.stream("GET", f"http://127.0.0.1:{port}/mcp"):
                    pass

            idle = IdleCheck(0.05, check, lost.append)
            task = asyncio.get_running_loop().create_task(idle.run())
            while answered < 3:  # alive: checked again and again, nothing reported
                await asyncio.sleep(0.01)
            assert not lost
            server.close()
            await server.wait_closed()
            await asyncio.wait_for(task, 5)  # it stops once it has reported
        return lost, answered

    lost, answered = asyncio.run(run())
    assert lost == ["connection refused"] and answered >= 3
