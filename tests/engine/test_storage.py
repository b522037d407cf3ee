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
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nor a temporary file


def test_a_stored_file_and_its_name_are_on_the_disk_before_its_key_is_returned(
        tmp_path, monkeypatch):
    """The document row that names the key is committed after ``put`` returns: by then the
    bytes and the rename that gives them their name must survive a power cut."""
    import os

    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr("engine.storage.os.fsync", fsync)
    storage = LocalStorage(tmp_path)
    key = storage.put("Quyết định cấp phép".encode())
    path = tmp_path / key[:2] / key
    assert synced[1:] == [str(path.parent), str(tmp_path)]  # the rename, the new folder
    assert synced[0].startswith(str(path.parent)) and synced[0] != str(path)  # the bytes,
    synced.clear()                                                            # before renaming
    storage.put(b"%PDF-1.7 another")  # its folder may exist already: then only the rename
    assert len(synced) in (2, 3) and synced[0] != synced[1]
