"""The `kefu` command line. Each capability registers its commands here, in one place.

Errors that a user can fix are printed as one line on stderr with exit code 2, never as a
traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from kefu import __version__
from kefu.errors import KefuError

app = typer.Typer(
    name="kefu",
    help="kefu (客服): contact center with the service norms built in.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KefuError raised by a command into a one-line error and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KefuError as exc:
            raise fail(str(exc)) from None

    return wrapper


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


# Foundation commands (serve, db, admin) live below. Each other capability keeps its
# commands in its own package (`<package>/commands.py`, with `register(app)`) and adds one
# line to `_register`.
def _register() -> None:
    from kefu.telephony import commands as telephony_commands

    telephony_commands.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
