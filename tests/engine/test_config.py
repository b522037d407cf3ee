"""Settings read from the environment: every ``MOTCUA_*`` a module used to read itself,
and the seal passphrase, which only the demo's data may leave unset."""

from __future__ import annotations

from pathlib import Path

from engine.config import DEMO_MARKER, Settings

ENV = ("MOTCUA_AGENCY_KEY_PASSPHRASE", "MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE",
       "MOTCUA_VNPAY_HASH_SECRET", "MOTCUA_STUDIO_ASSETS_DIR", "MOTCUA_CHART_ASSETS_DIR",
       "MOTCUA_FONT_DIR", "MOTCUA_SIGNER_CACHE_TTL", "MOTCUA_SIGNER", "MOTCUA_PKCS11_LIB")


def _environment(monkeypatch, tmp_path, **values) -> Path:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "data"))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


def test_the_gateway_asset_font_and_signer_settings_come_from_the_environment(monkeypatch,
                                                                               tmp_path):
    _environment(monkeypatch, tmp_path, MOTCUA_VNPAY_URL="https://pay.example.vn/pay",
                 MOTCUA_VNPAY_TMN_CODE="2QXUI4J4", MOTCUA_VNPAY_HASH_SECRET="s3cret",
                 MOTCUA_STUDIO_ASSETS_DIR="/opt/bpmn-js", MOTCUA_CHART_ASSETS_DIR="/opt/chart",
                 MOTCUA_FONT_DIR="/opt/fonts", MOTCUA_SIGNER_CACHE_TTL="0",
                 MOTCUA_SIGNER=" PKCS11 ", MOTCUA_PKCS11_LIB="/opt/hsm/libcs_pkcs11.so")
    settings = Settings.from_env()
    assert (settings.vnpay_url, settings.vnpay_tmn_code, settings.vnpay_hash_secret) == (
        "https://pay.example.vn/pay", "2QXUI4J4", "s3cret")
    assert settings.studio_assets_dir == Path("/opt/bpmn-js")
    assert settings.chart_assets_dir == Path("/opt/chart")
    assert settings.font_dir == Path("/opt/fonts")
    assert settings.signer_cache_ttl_seconds == 0
    assert (settings.signer, settings.pkcs11_lib) == ("pkcs11", "/opt/hsm/libcs_pkcs11.so")


def test_unset_they_keep_their_defaults(monkeypatch, tmp_path):
    _environment(monkeypatch, tmp_path, MOTCUA_SIGNER_CACHE_TTL="five minutes")
    settings = Settings.from_env()
    assert settings.vnpay_url == "" and settings.studio_assets_dir is None
    assert settings.font_dir is None and settings.signer_cache_ttl_seconds == 300
    assert (settings.signer, settings.pkcs11_lib) == ("file", "")


def test_the_seal_passphrase_is_missing_outside_the_demo(monkeypatch, tmp_path):
    data = _environment(monkeypatch, tmp_path)
    settings = Settings.from_env()
    assert settings.agency_key_passphrase == ""
    assert "MOTCUA_AGENCY_KEY_PASSPHRASE" in settings.seal_passphrase_missing()
    (data / DEMO_MARKER).parent.mkdir(parents=True)
    (data / DEMO_MARKER).write_text("demo\n", encoding="utf-8")
    demo = Settings.from_env()
    assert demo.agency_key_passphrase == "demo" and demo.seal_passphrase_missing() == ""
    monkeypatch.setenv("MOTCUA_AGENCY_KEY_PASSPHRASE", "chosen")
    assert Settings.from_env().agency_key_passphrase == "chosen"
