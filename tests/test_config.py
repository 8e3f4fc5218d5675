"""Settings are layered: defaults < kefu.toml < environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.config import load_settings
from kefu.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("KEFU_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert (s.host, s.port, s.data_dir) == ("127.0.0.1", 8000, Path("var"))
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_database_url.endswith("var/kefu.db")


def test_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kefu.toml").write_text('port = 9000\nhost = "0.0.0.0"\ndata_dir = "fromfile"\n')
    s = load_settings()
    assert (s.port, s.host, s.data_dir) == (9000, "0.0.0.0", Path("fromfile"))
    monkeypatch.setenv("KEFU_PORT", "9100")
    s = load_settings()
    assert (s.port, s.host) == (9100, "0.0.0.0")
    s = load_settings(port=9200, host=None)
    assert (s.port, s.host) == (9200, "0.0.0.0")


def test_config_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text("port = 7000\n")
    monkeypatch.setenv("KEFU_CONFIG", str(other))
    assert load_settings().port == 7000


def test_bad_values_name_the_setting(tmp_path: Path) -> None:
    (tmp_path / "kefu.toml").write_text("port = 99999\n")
    with pytest.raises(ConfigError, match="KEFU_PORT"):
        load_settings()
    (tmp_path / "kefu.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="KEFU_COLOUR"):
        load_settings()
    (tmp_path / "kefu.toml").write_text("port = = 1\n")
    with pytest.raises(ConfigError, match=r"kefu\.toml"):
        load_settings()


def test_list_settings_from_the_environment_are_comma_separated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KEFU_SIP_CODECS=PCMU,PCMA as the README writes it; a JSON list works too."""
    monkeypatch.setenv("KEFU_SIP_CODECS", "PCMA, PCMU")
    monkeypatch.setenv("KEFU_SIP_TRUNK_ALLOW", '["10.0.0.1", "10.0.0.2"]')
    monkeypatch.setenv("KEFU_OUTBOUND_QUIET_HOURS", "12:00-13:30")
    s = load_settings()
    assert s.sip_codecs == ["PCMA", "PCMU"]
    assert s.sip_trunk_allow == ["10.0.0.1", "10.0.0.2"]
    assert s.outbound_quiet_hours == ["12:00-13:30"]
    monkeypatch.setenv("KEFU_SIP_CODECS", "PCMU,GSM")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "KEFU_SIP_CODECS" in str(err.value) and "GSM" in str(err.value)
    monkeypatch.setenv("KEFU_SIP_CODECS", "[PCMU")
    with pytest.raises(ConfigError, match="KEFU_SIP_CODECS"):
        load_settings()
