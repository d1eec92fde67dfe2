"""The pump's mailboxes: a call's stream and a standalone stream's bounded outbox, waking their one reader."""

from __future__ import annotations

import asyncio

from mcpctl.gateway.streams import MAX_INTERIM, OUTBOX_LIMIT, CallStream, Outbox


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


def test_a_call_stream_gives_its_interim_messages_in_order_then_its_answer_for_good() -> None:
    stream = CallStream()
    assert stream.take() is None  # nothing yet: the reader awaits `arrival`
    stream.push({"method": "notifications/progress", "n": 1})
    stream.push({"method": "notifications/progress", "n": 2})
    stream.finish({"id": 7, "result": {}})
    stream.push({"method": "notifications/progress", "n": 3})  # after the answer: never read
    stream.finish({"id": 7, "error": {}})  # a second answer does not replace the first
    assert stream.take() == ({"method": "notifications/progress", "n": 1}, False)
    assert stream.take() == ({"method": "notifications/progress", "n": 2}, False)
    assert stream.take() == ({"id": 7, "result": {}}, True)
    assert stream.take() == ({"id": 7, "result": {}}, True)
    assert stream.answered


def test_a_call_streams_waiting_reader_wakes_on_a_message_and_on_the_answer() -> None:
    async def scenario() -> list[tuple[object, bool]]:
        stream = CallStream()

        async def read() -> list[tuple[object, bool]]:
            seen = []
            while not (seen and seen[-1][1]):
                found = stream.take()
                if found is None:
                    await stream.arrival()
                    continue
                seen.append(found)
            return seen

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)  # the reader waits on its arrival future
        stream.push({"n": 1})
        await asyncio.sleep(0)
        stream.finish({"id": 1, "result": {}})
        return await asyncio.wait_for(reader, 5)

    assert asyncio.run(scenario()) == [({"n": 1}, False), ({"id": 1, "result": {}}, True)]


def test_a_call_stream_drops_and_counts_notifications_past_its_bound_but_keeps_requests() -> None:
    stream = CallStream()
    for index in range(MAX_INTERIM + 5):
        stream.push({"method": "notifications/progress", "n": index})
    stream.push({"id": "ask-1", "method": "sampling/createMessage"})  # a question: never dropped
    assert stream.dropped == 5

    async def drain() -> list[object]:
        taken = []
        stream.finish({"id": 1, "result": {}})
        while True:
            msg, final = await stream.next()
            if final:
                return taken
            taken.append(msg.get("n", msg.get("id")))

    assert asyncio.run(drain()) == [*range(MAX_INTERIM), "ask-1"]
