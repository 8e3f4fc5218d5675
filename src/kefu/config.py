"""Settings, layered: defaults, then `kefu.toml`, then environment (`KEFU_*`), then flags.

Nothing is read at import time: `load_settings()` builds a `Settings` when asked, and the
app factory takes one.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kefu.errors import ConfigError

if TYPE_CHECKING:
    from kefu.core.calling_hours import CallingHours

DEFAULT_CONFIG_FILE = "kefu.toml"


# A list setting from the environment is written "a,b,c" (a JSON list works too).
StrList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of a kefu installation."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="forbid")

    data_dir: Path = Field(
        default=Path("var"), description="where SQLite, recordings and prompts live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite in data_dir"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=1, le=65535)
    sip_enabled: bool = Field(
        default=False, description="run the SIP switch inside `kefu serve` (UDP and TCP)"
    )
    sip_tcp: bool = Field(default=True, description="also accept SIP over TCP on sip_port")
    sip_trunk_allow: StrList = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="source IPs of trunks, accepted without digest auth",
    )
    sip_gateway: str | None = Field(
        default=None, description="HOST:PORT of the trunk outside numbers leave through"
    )
    sip_outside_prefix: str = Field(default="9", description="prefix of an outside number")
    sip_survey: bool = Field(
        default=False, description="after the agent hangs up, ask the caller to rate by key"
    )
    sip_lost_agent: Literal["requeue", "voicemail"] = Field(
        default="requeue",
        description="an agent's phone vanishing mid-call sends the caller back to the front "
        "of the queue (requeue) or to leave a message (voicemail)",
    )
    sip_voicemail_max_s: float = Field(
        default=120.0, gt=0, le=3600, description="longest voicemail message, in seconds"
    )
    callback_grace_s: float = Field(
        default=900.0,
        ge=0,
        le=86400,
        description="SLA-05: a callback not done this long after its promised time is missed",
    )
    hold_warn_s: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="SLA-04: a hold this long tells the agent to take a callback number (0: off)",
    )
    hold_limit_s: float = Field(
        default=300.0,
        ge=0,
        le=3600,
        description="SLA-04: a hold this long alerts the agent and the team leader (0: off)",
    )
    hold_resume_at_limit: bool = Field(
        default=False,
        description="SLA-04: at hold_limit_s also take the caller off hold (not in a consult)",
    )
    sip_codecs: StrList = Field(
        default_factory=lambda: ["PCMU", "PCMA", "G722"],
        description="codecs the switch accepts, in order of preference (PCMU, PCMA, G722)",
    )
    recording_retention_days: int = Field(
        default=0,
        ge=0,
        le=36500,
        description="delete a recording's file this many days after it was made; 0 keeps all",
    )
    recording_purge_time: dt.time = Field(
        default=dt.time(3, 0),
        description="local time (Asia/Shanghai) of the daily recording purge in `kefu serve`",
    )
    outbound_hours_open: str = Field(
        default="07:00", description="SLA-03: no outbound call before this local time (HH:MM)"
    )
    outbound_hours_close: str = Field(
        default="22:00", description="SLA-03: no outbound call from this local time on (HH:MM)"
    )
    outbound_quiet_hours: StrList = Field(
        default_factory=lambda: ["12:00-14:00", "18:00-19:00"],
        description="SLA-03: lunch, rest and meal times without outbound calls (HH:MM-HH:MM)",
    )
    outbound_timezone: str = Field(
        default="Asia/Shanghai", description="the timezone of the outbound hours"
    )
    log_level: str = "info"

    @field_validator("sip_trunk_allow", "sip_codecs", "outbound_quiet_hours", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                import json

                try:
                    return json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"not a JSON list: {exc}") from None
            return [p.strip() for p in text.split(",") if p.strip()]
        return v

    @field_validator("sip_codecs")
    @classmethod
    def _known_codecs(cls, v: list[str]) -> list[str]:
        from kefu.telephony.sip.sdp import parse_codecs

        parse_codecs(v, "sip_codecs")  # raises ValueError naming the bad one
        return v

    @field_validator("outbound_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _hours_readable(self) -> Settings:
        from kefu.core.errors import ConfigInvalid

        try:
            _ = self.calling_hours
        except ConfigInvalid as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def calling_hours(self) -> CallingHours:
        """SLA-03 as a rule (raises ConfigInvalid naming the bad setting)."""
        from kefu.core.calling_hours import parse_hours

        return parse_hours(
            self.outbound_hours_open, self.outbound_hours_close, self.outbound_quiet_hours
        )

    @property
    def sip_codec_types(self) -> tuple[int, ...]:
        """`sip_codecs` as RTP payload types, in order."""
        from kefu.telephony.sip.sdp import parse_codecs

        return parse_codecs(self.sip_codecs, "sip_codecs")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: flags (init), environment, then the TOML file.
        toml_file = os.environ.get("KEFU_CONFIG", DEFAULT_CONFIG_FILE)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(**flags: Any) -> Settings:
    """Build settings from the layers; flags given as None are left to the lower layers."""
    given = {k: v for k, v in flags.items() if v is not None}
    config_file = os.environ.get("KEFU_CONFIG", DEFAULT_CONFIG_FILE)
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(
            f"KEFU_{name.upper()}",
            f"{err['msg']} (got {err.get('input')!r})",
            f"Fix it in the environment, the flags or {config_file}.",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "KEFU_CONFIG", f"cannot read {config_file}: {exc}", "Fix the file."
        ) from None
