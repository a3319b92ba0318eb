import os
import stat

import pytest

import filigree


def test_generated_keys_differ_and_show_only_their_fingerprint():
    a, b = filigree.Key.generate(), filigree.Key.generate()
    assert a != b
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0
    assert repr(a) == f"Key(fingerprint='{a.fingerprint}')"
    assert str(a) == repr(a)


def test_save_load_round_trip_is_owner_only_and_never_overwrites(tmp_path):
    path = tmp_path / "studio.key"
    key = filigree.Key.generate()
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = filigree.Key.load(str(path))
    assert loaded == key and loaded.fingerprint == key.fingerprint
    assert hash(loaded) == hash(key)

    with pytest.raises(filigree.FileAccessError) as refused:
        filigree.Key.generate().save(path)
    assert isinstance(refused.value, OSError) and isinstance(refused.value, filigree.FiligreeError)
    assert filigree.Key.load(path) == key, "a refused save must leave the file alone"


def test_missing_key_file_is_os_error(tmp_path):
    with pytest.raises(OSError) as missing:
        filigree.Key.load(tmp_path / "missing.key")
    assert isinstance(missing.value, filigree.FiligreeError)
    assert missing.value.errno == 2
    assert missing.value.filename.endswith("missing.key")


def test_malformed_key_file_is_value_error_without_echoing_it(tmp_path):
    path = tmp_path / "bad.key"
    path.write_text("filigree-key-v1\n" + "zz" * 32 + "\n")
    with pytest.raises(filigree.InvalidInputError) as bad:
        filigree.Key.load(path)
    assert isinstance(bad.value, ValueError)
    assert "bad.key" in str(bad.value) and "zzzz" not in str(bad.value)
