"""Running `wsltui.cli.main` in-process, for the CLI and report tests."""

from __future__ import annotations

import pytest

from wsltui.cli import main


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    """Tests start from a plain environment: no colour forced or suppressed by the caller's shell."""
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """main(argv) -> (exit code, stdout, stderr); argparse's SystemExit becomes the exit code."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return int(code), out, err
