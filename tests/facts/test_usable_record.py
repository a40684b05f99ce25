"""facts.base.usable_record: a record is used, or the reason it cannot be, with the command
that would tell; never both, never neither."""

from __future__ import annotations

import pytest

from wsltui.facts.base import Unknown, usable_record
from wsltui.snapshot import Record

FALLBACK = "ss -Hltunp"


def record(**fields) -> Record:
    return Record(**{"name": "net.sockets", "argv": ("ss", "-Hltunp"), "stdout": "LISTEN 0 4096 *:22", **fields})


def test_a_record_that_ran_well_is_returned_as_it_is():
    rec = record()
    assert usable_record(rec, FALLBACK) is rec


def test_a_missing_record_names_the_command_a_person_would_run():
    assert usable_record(None, FALLBACK) == Unknown("not captured in this snapshot", FALLBACK)


def test_an_error_is_the_reason_and_the_command_is_the_one_that_ran():
    got = usable_record(record(argv=("sudo", "ss", "-Hltunp"), error="needs root"), FALLBACK)
    assert got == Unknown("needs root", "sudo ss -Hltunp")


@pytest.mark.parametrize(
    "stderr,stdout,detail",
    [
        ("ss: permission denied\nmore", "", ": ss: permission denied"),
        ("", "  \nhalf an answer", ": half an answer"),  # no stderr: the first line it printed
        ("", "", ""),
    ],
)
def test_an_unexpected_exit_code_says_what_the_command_printed(stderr, stdout, detail):
    got = usable_record(record(exit_code=2, stderr=stderr, stdout=stdout), FALLBACK)
    assert got == Unknown(f"exit code 2{detail}", "ss -Hltunp")


def test_exit_codes_that_carry_an_answer_are_accepted_when_told():
    inactive = record(name="svc.systemd-networkd", argv=("systemctl", "is-active", "x"), exit_code=3, stdout="inactive")
    assert usable_record(inactive, "systemctl is-active x", accept_exit_codes=(0, 3, 4)) is inactive
    assert isinstance(usable_record(inactive, "systemctl is-active x"), Unknown)
