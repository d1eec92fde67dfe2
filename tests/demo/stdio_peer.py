"""A minimal JSON-RPC peer over a child's stdio, for tests of stdio servers."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
import time
from typing import Any

Message = dict[str, Any]


class StdioPeer:
    """Starts a command, sends requests, and collects responses and server-sent messages."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.inbox: queue.Queue[Message | None] = queue.Queue()
        self.notifications: list[Message] = []
        self.stderr: list[str] = []  # what the child wrote to stderr, line by line (complete after close)
        self._responses: dict[object, Message] = {}
        self._ids = itertools.count(1)
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._drain_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.inbox.put(json.loads(line))
        self.inbox.put(None)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def send(self, message: Message) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def start(self, method: str, params: Message | None = None) -> int:
        request_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        return request_id

    def response(self, request_id: object, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while request_id not in self._responses:
            try:
                message = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no response to {request_id!r} within {timeout} s") from None
            if message is None:
                raise AssertionError(f"the server closed stdout (exit {self.proc.poll()})")
            if "method" in message:
                self.notifications.append(message)
            else:
                self._responses[message.get("id")] = message
        return self._responses.pop(request_id)

    def request(self, method: str, params: Message | None = None) -> Message:
        return self.response(self.start(method, params))

    def result(self, method: str, params: Message | None = None) -> Message:
        reply = self.request(method, params)
        assert "result" in reply, reply
        result: Message = reply["result"]
        return result

    def close(self) -> int:
        """Close stdin (the stdio shutdown signal) and return the exit status."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for reader in self._readers:  # both see end of file once the process is gone
                reader.join(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
