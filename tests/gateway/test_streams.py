"""The pump's mailboxes: a standalone stream's bounded outbox, waking its one reader."""

from __future__ import annotations

import asyncio

from mcpctl.gateway.streams import OUTBOX_LIMIT, Outbox


def test_outbox_keeps_the_newest_messages_and_counts_the_dropped() -> None:
    outbox = Outbox()
    outbox.reading = True
    for index in range(OUTBOX_LIMIT + 10):
        outbox.put({"n": index})
    assert outbox.dropped == 10

    async def drain() -> list[object]:
        taken = []
        while (msg := await outbox.next(timeout=0)) is not None:
            taken.append(msg["n"])
        return taken

    assert asyncio.run(drain()) == list(range(10, OUTBOX_LIMIT + 10))


def test_a_closed_outbox_takes_nothing_and_wakes_its_reader() -> None:
    async def scenario() -> None:
        outbox = Outbox()
        reader = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)  # let the reader start waiting
        outbox.close()
        assert await asyncio.wait_for(reader, 5) is None
        outbox.put({"late": True})
        assert await outbox.next(timeout=0) is None
        assert outbox.closed

    asyncio.run(scenario())


def test_a_waiting_reader_wakes_on_put_and_on_kick_and_times_out_otherwise() -> None:
    async def scenario() -> None:
        outbox = Outbox()
        reader = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)
        outbox.put({"hello": 1})
        assert await asyncio.wait_for(reader, 5) == {"hello": 1}
        kicked = asyncio.create_task(outbox.next(timeout=30))
        await asyncio.sleep(0)
        outbox.kick()  # the stream is going away; the outbox (and its messages) stay
        assert await asyncio.wait_for(kicked, 5) is None
        assert not outbox.closed
        assert await outbox.next(timeout=0.01) is None

    asyncio.run(scenario())


def test_an_unread_outbox_keeps_few_messages_and_one_of_each_bare_notification() -> None:
    from mcpctl.gateway.streams import IDLE_OUTBOX_LIMIT

    outbox = Outbox()
    for _ in range(100):
        outbox.put({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    for index in range(IDLE_OUTBOX_LIMIT + 5):
        outbox.put({"jsonrpc": "2.0", "method": "notifications/message", "params": {"n": index}})
    kept = asyncio.run(_drain(outbox))
    assert len(kept) == IDLE_OUTBOX_LIMIT
    assert kept[-1]["params"]["n"] == IDLE_OUTBOX_LIMIT + 4  # the newest are kept
    outbox.reading = True  # a stream reads it: room for bursts
    for index in range(OUTBOX_LIMIT):
        outbox.put({"jsonrpc": "2.0", "method": "notifications/message", "params": {"n": index}})
    assert len(asyncio.run(_drain(outbox))) == OUTBOX_LIMIT


async def _drain(outbox: Outbox) -> list[dict[str, object]]:
    taken = []
    while (msg := await outbox.next(timeout=0)) is not None:
        taken.append(msg)
    return taken
