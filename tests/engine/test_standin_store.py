"""The stand-ins' JSON-lines store (:mod:`engine.standin_store`), shared by processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from engine.standin_store import JsonLinesStore


def _accept_once(directory: str, keys: list[str]) -> None:
    """What a stand-in does per message: append it unless its idempotency key is there."""
    store = JsonLinesStore(Path(directory), "records")
    for key in keys:
        with store.locked() as held:
            if all(line["key"] != key for line in held):
                store.append({"key": key, "trạng_thái": "đã tiếp nhận"})


def test_processes_delivering_the_same_messages_record_each_once(tmp_path):
    keys = [f"outbox-{n}" for n in range(40)]
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_accept_once, args=(str(tmp_path), keys)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    lines = JsonLinesStore(tmp_path, "records").lines()
    assert sorted(line["key"] for line in lines) == sorted(keys)
    assert {line["trạng_thái"] for line in lines} == {"đã tiếp nhận"}


def test_an_empty_store_holds_nothing(tmp_path):
    assert JsonLinesStore(tmp_path / "not-yet", "records").lines() == []
