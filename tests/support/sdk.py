"""The official Python SDK's client callbacks, recording what reached one particular client."""

from __future__ import annotations

from typing import Any

import mcp_types as types


class Recorder:
    """Callbacks the SDK client calls, remembering what reached this particular client."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.progress: list[float] = []
        self.logs: list[Any] = []
        self.sampled: list[str] = []
        self.elicited: list[str] = []
        self.roots_asked = 0

    async def sampling(
        self, context: Any, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        content = params.messages[0].content
        self.sampled.append(getattr(content, "text", ""))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"answer for {self.tag}"),
            model="test-model",
            stop_reason="endTurn",
        )

    async def elicitation(self, context: Any, params: Any) -> types.ElicitResult:
        self.elicited.append(getattr(params, "message", ""))
        return types.ElicitResult(action="accept", content={"name": self.tag, "color": "blue"})

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.roots_asked += 1
        return types.ListRootsResult(roots=[types.Root(uri=f"file:///work/{self.tag}", name=self.tag)])  # type: ignore[arg-type]

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params.data)

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append(progress)
