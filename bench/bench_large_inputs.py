#!/usr/bin/env python3
"""Benchmark: ``wsltui report`` on large inputs — 5,000 listening sockets, a 50 MB iptables-save.

Not a test. Run from the repository root::

    python bench/bench_large_inputs.py                    # 5,000 listeners, 50 MB ruleset, 3 runs each
    python bench/bench_large_inputs.py --quick            # 1,000 listeners, 5 MB ruleset
    python bench/bench_large_inputs.py --before /tmp/old  # + the same runs on another source tree
    python bench/bench_large_inputs.py --keep /tmp/large  # keep the generated snapshot directories

Inputs (written once per run, as snapshot directories: the ``nat-healthy`` demo with one record
replaced, so every other layer is real-shaped data):

* ``listeners``: ``net.sockets`` with N lines as ``ss -H -l -n -t -u -p -e`` prints them (TCP and
  UDP; 0.0.0.0, dual-stack ``*``, v6-only ``[::]``, 127.0.0.1 and the eth0 address; owners,
  uid, inode, cgroup; one port in five shared by two sockets). Measured: ``wsltui report
  --format json`` (every listening port x the status scenarios, and the facts).
* ``iptables``: ``nf.iptables-nft`` of about M MB, the ruleset of bench_netfilter.py scaled up
  (about 14,000 rules per MB). Measured: ``wsltui report --format text`` (it parses the whole
  ruleset, compiles it, traces every listener; the JSON report also lists every rule, so its
  output alone is about 15x the input).

Each measurement runs the CLI in-process (``wsltui.cli.main``, output to a file) in a fresh
Python subprocess: wall and CPU time of ``main``, and the peak memory as ``ru_maxrss`` at the end
minus ``ru_maxrss`` after the imports ("peak over imports"). Medians of --runs runs. The output's
SHA-256 is printed, so ``--before`` shows the output did not change.

Floors, in the same run, on the same data:

* listeners: the same JSON document written by the C encoder of the standard library
  (``json.dumps`` without indent) — what serialising the answer costs at the least;
* iptables: ``iptables-nft-restore --test`` of the same file in a throw-away network namespace
  (as bench_netfilter.py does), when run as root and the tool is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BASE_DEMO = REPO / "wsltui" / "demos" / "nat-healthy"
RULES_PER_MB = 100_000 / 7.03  # bench_netfilter.generate: 100,000 rules are 7.03 MB

# --- inputs ------------------------------------------------------------------------------------

PROCESSES = ["node", "python3", "java", "nginx", "postgres", "redis-server", "main", "dotnet", "sshd", "dockerd"]


def ss_text(n: int, seed: int = 1) -> str:
    """``n`` listening sockets as ``ss -H -l -n -t -u -p -e`` prints them."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        port = 1024 + 7 * (i - 1 if i % 5 == 0 and i else i)  # every fifth socket shares the port before it
        kind = i % 6
        local, peer, v6only = {
            0: (f"0.0.0.0:{port}", "0.0.0.0:*", ""),
            1: (f"0.0.0.0:{port}", "0.0.0.0:*", ""),
            2: (f"*:{port}", "*:*", " v6only:0"),
            3: (f"[::]:{port}", "[::]:*", " v6only:1"),
            4: (f"127.0.0.1:{port}", "0.0.0.0:*", ""),
            5: (f"172.28.165.23:{port}", "0.0.0.0:*", ""),
        }[kind]
        proto, state = ("udp", "UNCONN") if i % 9 == 0 else ("tcp", "LISTEN")
        lines.append(
            f'{proto} {state} 0      511    {local} {peer} users:(("{rng.choice(PROCESSES)}",pid={1000 + i},'
            f"fd={3 + i % 50})) uid:1000 ino:{400000 + i} sk:{i:x} cgroup:/user.slice{v6only} <->"
        )
    return "\n".join(lines) + "\n"


def _snapshot_dir(directory: Path, record: str, text: str) -> Path:
    shutil.copytree(BASE_DEMO, directory, dirs_exist_ok=True)
    (directory / f"{record}.txt").write_text(text, encoding="utf-8")
    return directory


def listeners_snapshot(directory: str | os.PathLike, n: int):
    """The snapshot with ``n`` listeners, written to ``directory`` and loaded back."""
    from wsltui import snapshot

    return snapshot.load(_snapshot_dir(Path(directory), "net.sockets", ss_text(n)))


def iptables_text(megabytes: float) -> str:
    from bench_netfilter import generate

    return generate(max(1000, round(megabytes * RULES_PER_MB))).text


# --- one measurement (in a fresh subprocess) ---------------------------------------------------


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(source: str, fmt: str, out: str, floor: bool) -> dict:
    from wsltui.cli import main  # noqa: F401 - imports first, so "peak over imports" is the work

    import wsltui

    base = _maxrss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as devnull:
        stderr, sys.stderr = sys.stderr, devnull
        try:
            code = main(["report", "--format", fmt, "--from", source, "-o", out])
        finally:
            sys.stderr = stderr
    result = {
        "code": code,
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "peak": _maxrss_mib() - base,
        "maxrss": _maxrss_mib(),
        "imports": base,
        "bytes": os.path.getsize(out),
        "sha256": hashlib.sha256(Path(out).read_bytes()).hexdigest()[:16],
        "code_from": str(Path(wsltui.__file__).parent.parent),
    }
    if floor:  # the same document through the C encoder: the least that writing it can cost
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        t0, c0 = time.perf_counter(), time.process_time()
        json.dumps(doc, ensure_ascii=False)
        result["floor_wall"], result["floor_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    return result


def measure(source: Path, fmt: str, code_tree: Path, runs: int, floor: bool = False) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(code_tree))
    results = []
    with tempfile.TemporaryDirectory(prefix="wtlarge-out-") as tmp:
        for _ in range(runs):
            argv = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                str(source),
                fmt,
                str(Path(tmp) / f"report.{fmt}"),
            ] + (["--floor"] if floor else [])
            p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp)
            if p.returncode != 0:
                raise SystemExit(f"worker failed ({code_tree}):\n{p.stderr[-2000:]}")
            results.append(json.loads(p.stdout.splitlines()[-1]))
            if Path(results[-1]["code_from"]) != code_tree:
                raise SystemExit(f"the worker ran {results[-1]['code_from']}, not {code_tree}")
    return results


def restore_floor(path: Path, runs: int) -> dict | None:
    """``iptables-nft-restore --test`` of the file (root, in a throw-away namespace), or None."""
    if os.geteuid() != 0 or shutil.which("iptables-nft-restore") is None or shutil.which("ip") is None:
        return None
    from bench_netfilter import Netns, restore_once

    samples = []
    with Netns() as ns:
        for _ in range(runs):
            wall, peak, rc, err, cpu = restore_once(ns, str(path), "iptables-nft-restore")
            if rc != 0:
                print(f"iptables-nft-restore --test exited {rc}: {err}", file=sys.stderr)
                return None
            samples.append({"wall": wall, "cpu": cpu, "peak": peak})
    return {k: statistics.median(s[k] for s in samples) for k in ("wall", "cpu", "peak")}


# --- the table -----------------------------------------------------------------------------------


def _median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def _row(label: str, results: list[dict]) -> str:
    sha = {r["sha256"] for r in results}
    return (
        f"  {label:34} {_median(results, 'wall'):9.2f} {_median(results, 'cpu'):9.2f} "
        f"{_median(results, 'peak'):9.1f} {_median(results, 'maxrss'):9.1f} {results[0]['bytes'] / 1e6:9.1f}  "
        f"{'/'.join(sorted(sha))}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 listeners and a 5 MB ruleset")
    ap.add_argument("--listeners", type=int, help="listening sockets (default 5000, --quick 1000)")
    ap.add_argument("--megabytes", type=float, help="iptables-save size in MB (default 50, --quick 5)")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median; default 3)")
    ap.add_argument(
        "--before", type=Path, help="another source tree (e.g. `git archive` of an older commit) to run too"
    )
    ap.add_argument("--only", choices=("listeners", "iptables"), help="run one of the two inputs")
    ap.add_argument("--keep", type=Path, help="write the generated snapshot directories here and keep them")
    ap.add_argument("--worker", nargs=3, metavar=("SOURCE", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:  # wsltui comes from PYTHONPATH: this tree or --before
        print(json.dumps(worker(*args.worker, floor=args.floor)))
        return 0
    sys.path[:0] = [str(REPO), str(BENCH)]
    n = args.listeners or (1000 if args.quick else 5000)
    mb = args.megabytes or (5.0 if args.quick else 50.0)
    trees = [("now", REPO)] + ([("before", args.before.resolve())] if args.before else [])
    where = args.keep or Path(tempfile.mkdtemp(prefix="wtlarge-"))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"medians of {args.runs} runs\n"
    )
    print(f"  {'':34} {'wall s':>9} {'CPU s':>9} {'peak MiB':>9} {'maxrss':>9} {'out MB':>9}  output sha256")
    try:
        if args.only in (None, "listeners"):
            source = _snapshot_dir(where / f"listeners-{n}", "net.sockets", ss_text(n))
            print(f"{n:,} listeners: wsltui report --format json")
            print(f"  (code: {', '.join(f'{label} {tree}' for label, tree in trees)})")
            now = None
            for label, tree in trees:
                results = measure(source, "json", tree, args.runs, floor=label == "now")
                print(_row(label, results))
                now = now or results
            print(
                f"  {'floor: json.dumps, C encoder':34} {_median(now, 'floor_wall'):9.2f} {_median(now, 'floor_cpu'):9.2f}"
            )
        if args.only in (None, "iptables"):
            text = iptables_text(mb)
            source = _snapshot_dir(where / f"iptables-{mb:g}MB", "nf.iptables-nft", text)
            size = len(text.encode()) / 2**20
            print(f"{size:.1f} MiB iptables-save ({text.count(chr(10) + '-A '):,} rules): wsltui report --format text")
            del text
            for label, tree in trees:
                results = measure(source, "text", tree, args.runs)
                print(_row(label, results) + f"  (peak / input {_median(results, 'peak') / size:.1f}x)")
            restore = restore_floor(source / "nf.iptables-nft.txt", args.runs)
            if restore:
                print(
                    f"  {'floor: iptables-nft-restore --test':34} {restore['wall']:9.2f} {restore['cpu']:9.2f} "
                    f"{restore['peak']:9.1f}"
                )
            else:
                print("  floor: iptables-nft-restore --test not run (needs root, ip and iptables-nft-restore)")
    finally:
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)
    print(
        "\npeak = ru_maxrss after the report minus ru_maxrss after the imports (MiB); maxrss = the absolute figure;"
        "\nCPU = user+sys of the report; the restore floor's peak is its own ru_maxrss."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
