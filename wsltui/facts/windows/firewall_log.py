"""pfirewall.log (for completeness: the #Fields line decides the columns)."""

from __future__ import annotations


def parse_firewall_log(text: str) -> tuple[list[dict[str, str]], list[str]]:
    fields: list[str] = []
    rows, problems = [], []
    for n, line in enumerate((text or "").splitlines(), 1):
        if line.startswith("#Fields:"):
            fields = line[len("#Fields:") :].split()
            continue
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        if not fields or len(parts) != len(fields):
            problems.append(f"line {n}: {len(parts)} fields, expected {len(fields)}")
            continue
        rows.append(dict(zip(fields, parts)))
    return rows, problems
