"""engine.storage: files are kept by their content's hash, once, and never half-written."""

from __future__ import annotations

import hashlib

from engine.storage import LocalStorage


def test_the_same_bytes_are_stored_once_under_their_hash(tmp_path):
    storage = LocalStorage(tmp_path)
    content = "Giấy phép kinh doanh".encode()
    key = storage.put(content)
    assert key == hashlib.sha256(content).hexdigest()
    assert storage.put(content) == key
    assert storage.get(key) == content and storage.exists(key)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [key]


def test_an_unknown_key_does_not_exist(tmp_path):
    assert not LocalStorage(tmp_path).exists("0" * 64)


def test_a_crash_while_writing_leaves_no_file_under_the_key(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path)
    content = b"%PDF-1.7 half"

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr("engine.storage.os.replace", crash)
    key = hashlib.sha256(content).hexdigest()
    try:
        storage.put(content)
    except OSError:
        pass
    assert not storage.exists(key)
