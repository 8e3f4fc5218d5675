"""`kefu switch serve` (the SIP switch with the minimal router) and `kefu switch phone`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from kefu.errors import ConfigError

switch_app = typer.Typer(help="The SIP switch (B2BUA) and a test softphone.", no_args_is_help=True)


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=" if flag == "--route" else ":")
        if not sep or not key or not value:
            raise ConfigError(
                flag,
                f"cannot read {item!r}",
                "Use NUMBER=EXT,EXT for --route and EXT:PASSWORD for --user.",
            )
        out.append((key, value))
    return out


@switch_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="SIP/RTP address (default: sip_host).")] = None,
    port: Annotated[int | None, typer.Option(help="SIP UDP port (default: sip_port).")] = None,
    route: Annotated[list[str] | None, typer.Option(help="NUMBER=EXT[,EXT...]")] = None,
    user: Annotated[list[str] | None, typer.Option(help="EXT:PASSWORD of a phone.")] = None,
    trunk: Annotated[list[str] | None, typer.Option(help="IP accepted without digest.")] = None,
    recordings: Annotated[Path, typer.Option(help="Where call WAVs go.")] = Path("var/recordings"),
    rtp_timeout: Annotated[float, typer.Option(help="Seconds without RTP before hang-up.")] = 30.0,
    gateway: Annotated[str | None, typer.Option(help="HOST:PORT of the outside trunk.")] = None,
    outside: Annotated[list[str] | None, typer.Option(help="EXT allowed to dial 9+number.")] = None,
) -> None:
    """Run the switch until Ctrl-C, routing calls by --route and printing every event."""
    from kefu.cli import guarded
    from kefu.config import load_settings
    from kefu.telephony.router import Router
    from kefu.telephony.sip.auth import MemoryCredentials
    from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig

    @guarded
    def run() -> None:
        settings = load_settings()
        config = SwitchConfig(
            host=host or settings.sip_host,
            port=port or settings.sip_port,
            realm="kefu",
            trunk_allow=tuple(trunk or ["127.0.0.1"]),
            rtp_timeout=rtp_timeout,
        )
        if gateway:
            gw_host, _, gw_port = gateway.rpartition(":")
            if not gw_host or not gw_port.isdigit():
                raise ConfigError("--gateway", f"cannot read {gateway!r}", "Use HOST:PORT.")
            config.trunks["gateway"] = (gw_host, int(gw_port))
        creds = MemoryCredentials()
        for ext, pw in _pairs(user or [], "--user"):
            creds.set_password(ext, config.realm, pw)
        routes = {num: exts.split(",") for num, exts in _pairs(route or [], "--route")}
        recordings.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

        async def main() -> None:
            switch = SipSwitch(config, cdr_sink=lambda c: typer.echo(f"CDR {c}"), credentials=creds)
            router = Router(
                switch,
                routes,
                recordings=recordings,
                trunk="gateway" if gateway else None,
                outside_allowed=frozenset(outside or []),
            )

            def sink(event: object) -> None:
                typer.echo(f"event {event}")
                router(event)  # type: ignore[arg-type]

            switch.sink = sink
            await switch.start()
            typer.echo(f"kefu switch on udp:{config.host}:{config.port}")
            try:
                await asyncio.Event().wait()
            finally:
                await switch.stop()

        with contextlib.suppress(KeyboardInterrupt):
            _run(main())

    run()


@switch_app.command("phone")
def phone(
    extension: str = typer.Argument(..., help="Extension to register as."),
    password: str = typer.Option(..., help="The extension's SIP password."),
    registrar: str = typer.Option("127.0.0.1:5060", help="HOST:PORT of the switch."),
    tone: float = typer.Option(1000.0, help="Tone (Hz) the phone sends when in a call."),
    dial: str = typer.Option(None, help="Call this number instead of waiting for calls."),
    seconds: float = typer.Option(10.0, help="With --dial: hang up after this long."),
) -> None:
    """A softphone that registers and auto-answers with a tone (or dials a number)."""
    from kefu.audio.tones import dominant_frequencies
    from kefu.telephony.sip.softphone import Softphone

    host, _, p = registrar.rpartition(":")
    addr = (host or "127.0.0.1", int(p))

    async def main() -> None:
        ph = Softphone(extension, password, addr, tone_hz=tone)
        await ph.start(register=dial is None)
        typer.echo(f"{extension} ready on udp:127.0.0.1:{ph.port}")
        try:
            if dial:
                await ph.dial(dial, addr)
                await asyncio.sleep(seconds)
                heard = ph.heard.between()
                typer.echo(
                    f"heard {len(heard) / 8000:.1f}s, peaks "
                    f"{[round(f) for f in dominant_frequencies(heard, 3)]} Hz"
                )
            else:
                await asyncio.Event().wait()
        finally:
            await ph.stop()

    with contextlib.suppress(KeyboardInterrupt):
        _run(main())


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (the media path is cheaper there)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def register(app: typer.Typer) -> None:
    """Add `kefu switch ...` to the root CLI."""
    app.add_typer(switch_app, name="switch")
