"""Apply a Plan safely, and undo it.

apply: back up -> journal "pending" -> run each argv through the runner -> verify (probe again
and re-trace) -> journal "applied". Any failed step, or a verification that still finds a fixed
blocker, rolls back: the undo of every step that ran, then, where the rules still differ from the
backup, the backup itself is restored (iptables-*-restore, ``nft -f`` of the saved tables, ufw's
rules files + ``ufw reload``, firewalld's zone XML + ``--reload``). undo: the recorded undo argv
(with the nft handles the apply printed), then a comparison with the backup.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wsltui.actions import state as st
from wsltui.actions.plan import Plan
from wsltui.probes.runner import Job, run
from wsltui.simulation.trace import placeholder_step

STEP_TIMEOUT = 60.0
_HANDLE_OUT = re.compile(r"#\s*handle\s+(\d+)")

Verifier = Callable[[], tuple[bool, str]]


class ActionError(Exception):
    """Refused before anything changed (read-only, a plan that needs a person, no backup)."""


@dataclass
class Result:
    ok: bool
    result: str  # applied | rolled-back | rollback-incomplete | undone | undo-failed
    message: str
    id: str = ""
    backup: str = ""
    steps: list[dict] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # what still differs from the backup


def _step_record(rec) -> dict:
    return {"argv": list(rec.argv), "exit_code": rec.exit_code, "error": rec.error,
            "stdout": rec.stdout[-2000:], "stderr": rec.stderr[-2000:], "seconds": rec.seconds}


def _failed(rec) -> str | None:
    if rec.error:
        return rec.error
    if rec.exit_code != 0:
        return (rec.stderr.strip() or rec.stdout.strip() or f"exit code {rec.exit_code}").splitlines()[-1]
    return None


def _resolve(argv: list[str], handles: dict[int, str]) -> list[str] | None:
    out = []
    for a in argv:
        n = placeholder_step(a)
        if n is None:
            out.append(a)
        elif n in handles:
            out.append(handles[n])
        else:
            return None
    return out


def apply(plan: Plan, *, verify: Verifier | None = None, base: Path | None = None, read_only: bool = False,
          runner=run) -> Result:
    """Apply every fix of ``plan``. Raises ActionError when it refuses before changing anything."""
    if read_only or st.read_only():
        raise ActionError("read-only: wsltui makes no changes (--read-only or WSLTUI_READ_ONLY)")
    if plan.manual:
        raise ActionError("this plan needs a person for: " + "; ".join(f"{m.blocker} ({m.why})" for m in plan.manual))
    if not plan.fixes:
        raise ActionError("nothing to apply: the plan has no fixes")
    journal = st.Journal(base)
    entry_id = st.new_id()
    backup = journal.base / "backups" / entry_id
    as_root = plan.needs_root
    before = st.capture_state(plan.backup_targets(), as_root)
    needed = _needed_targets(plan)
    missing = [f"{k}: {s.error}" for k, s in before.items() if s.error and k in needed]
    if missing:
        raise ActionError("could not back up the state this plan changes, so nothing was changed: " + "; ".join(missing))
    st.write_backup(backup, before, plan.to_json())
    entry = {"id": entry_id, "action": "fix", "time": st.now(), "started": st.now(), "plan": plan.to_json(),
             "backup": str(backup), "result": "pending", "steps": [], "undo": []}
    journal.append(entry)

    undo_stack: list[list[str]] = []  # resolved undo argv of every step that ran, in apply order
    failure = None
    for fi, fix in enumerate(plan.fixes):
        handles: dict[int, str] = {}
        for si, argv in enumerate(fix.argv):
            rec = runner(Job(f"fix.{fi}.{si}", tuple(argv), STEP_TIMEOUT, as_root=fix.needs_root))
            entry["steps"].append(_step_record(rec))
            why = _failed(rec)
            if why:
                failure = f"step failed: {' '.join(argv)}: {why}"
                break
            if "--handle" in argv and "--echo" in argv:
                m = _HANDLE_OUT.search(rec.stdout)
                if m:
                    handles[si] = m.group(1)
            if si < len(fix.undo_argv):
                resolved = _resolve(fix.undo_argv[si], handles)
                if resolved is None:
                    failure = f"the command printed no rule handle, so its undo would not be exact: {' '.join(argv)}"
                    undo_stack.append(["nft", "-a", "list", "ruleset"])  # harmless; the backup restore follows
                    break
                undo_stack.append(resolved)
        if failure:
            break
    entry["undo"] = undo_stack
    if failure is None and verify is not None:
        ok, why = verify()
        entry["verify"] = why
        if not ok:
            failure = f"verification failed: {why}"
    if failure is None:
        after = st.capture_state(plan.backup_targets(), as_root)
        entry["after"] = {k: st.normalise(k, s.text) for k, s in after.items()}
        entry.update(result="applied", message="applied" + (f"; verified: {entry['verify']}" if verify else ""),
                     time=st.now())
        journal.append(entry)
        return Result(True, "applied", entry["message"], entry_id, str(backup), entry["steps"])
    diff = _roll_back(plan, undo_stack, before, backup, entry, as_root, runner)
    result = "rolled-back" if not diff else "rollback-incomplete"
    message = failure + ("; rolled back: the rules are as before" if not diff else
                         f"; rollback incomplete, still different: {', '.join(diff)} (backup in {backup})")
    entry.update(result=result, message=message, time=st.now(), differences=diff)
    journal.append(entry)
    return Result(False, result, message, entry_id, str(backup), entry["steps"], diff)


def _needed_targets(plan: Plan) -> set[str]:
    need: set[str] = set()
    for fe in plan.front_ends:
        if fe in ("iptables-legacy", "iptables-nft"):
            need.add(f"{fe}-4")
        elif fe in ("ip6tables-legacy", "ip6tables-nft"):
            need.add(f"ip{fe[3:]}-6")  # ip6tables-nft -> iptables-nft-6
        elif fe == "nft":
            need.add("nft")
        elif fe == "firewalld":
            need |= {"firewalld-runtime", "firewalld-permanent"}
        elif fe == "ufw":
            need |= {f"ufw:{path}" for path in st.UFW_FILES}
    return need


def _roll_back(plan: Plan, undo_stack: list[list[str]], before: dict, backup: Path, entry: dict, as_root: bool,
               runner) -> list[str]:
    for argv in reversed(undo_stack):
        rec = runner(Job("rollback", tuple(argv), STEP_TIMEOUT, as_root=as_root))
        entry.setdefault("rollback", []).append(_step_record(rec))
    if "firewalld" in plan.front_ends:
        _firewalld_tidy(before, entry.setdefault("rollback", []), as_root, runner)
    now = st.capture_state(plan.backup_targets(), as_root)
    diff = st.differences(before, now)
    if diff:
        _restore(plan, before, backup, diff, entry, as_root, runner)
        diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root))
    return diff


def _restore(plan: Plan, before: dict, backup: Path, diff: list[str], entry: dict, as_root: bool, runner) -> None:
    """Put the saved state back, for what still differs."""
    log = entry.setdefault("restore", [])

    def go(name: str, argv: tuple[str, ...], stdin: bytes | None = None) -> None:
        rec = runner(Job(name, argv, STEP_TIMEOUT, as_root=as_root, stdin=stdin))
        log.append(_step_record(rec))

    current = st.capture_state([t for t in st.RESTORERS if t in diff], as_root)
    for target, restorer in st.RESTORERS.items():
        saved = before.get(target)
        if target in diff and saved is not None and not saved.error and saved.text.strip():
            # Only the chains that differ, so every other chain (and, for iptables-nft, the nf_tables
            # objects behind it) stays exactly as it is; the full restore if that fails.
            script = iptables_delta(saved.text, current[target].text if target in current else "")
            if script is not None:
                go(f"restore.{target}", (*restorer, "--noflush"), script.encode())
                if not log[-1]["exit_code"] and not log[-1]["error"]:
                    continue
            go(f"restore.{target}", restorer, saved.text.encode())
    if "nft" in diff and not before["nft"].error:
        script = ""
        for fam, name in plan.nft_tables():
            block = nft_table_block(before["nft"].text, fam, name)
            if block:
                script += f"flush table {fam} {name}\n{block}\n"
        if script:
            go("restore.nft", ("nft", "-f", "-"), script.encode())
    ufw_changed = [k for k in diff if k.startswith("ufw:")]
    for key in ufw_changed:
        src = backup / (re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".txt")
        go(f"restore.{key}", ("cp", str(src), key[len("ufw:"):]))
    if ufw_changed:
        go("restore.ufw-reload", ("ufw", "reload"))
    zones = [k for k in diff if k.startswith("firewalld-zone")]
    if zones:
        for key in zones:
            if key == "firewalld-zones":
                continue
            name = key.split(":", 1)[1]
            src = backup / (re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".txt")
            go(f"restore.{key}", ("cp", str(src), f"{st.FIREWALLD_ZONES}/{name}"))
        saved_names = set(before.get("firewalld-zones", st.Saved("", "")).text.split())
        for p in Path(st.FIREWALLD_ZONES).glob("*.xml"):
            if p.name not in saved_names:
                go(f"restore.rm.{p.name}", ("rm", "-f", str(p)))
        go("restore.firewalld-reload", ("firewall-cmd", "--reload"))


def _firewalld_tidy(before: dict, log: list, as_root: bool, runner) -> None:
    """``firewall-cmd --permanent`` writes a zone to /etc/firewalld/zones the first time it changes
    (and keeps a .xml.old copy); removing the port again leaves that file. Where the file was not
    there before, give the zone back to its shipped defaults and drop the copy, so the
    configuration is file-for-file what it was."""
    saved = before.get("firewalld-zones")
    if saved is None:
        return
    had = set(saved.text.split())
    for name in st.zone_files():
        if name not in had and name.endswith(".xml"):
            rec = runner(Job("tidy.firewalld", ("firewall-cmd", "--permanent", f"--load-zone-defaults={name[:-4]}"),
                             STEP_TIMEOUT, as_root=as_root))
            log.append(_step_record(rec))
    for name in st.zone_files():
        if name not in had and name.endswith(".xml.old"):
            rec = runner(Job("tidy.firewalld", ("rm", "-f", f"{st.FIREWALLD_ZONES}/{name}"), STEP_TIMEOUT, as_root=as_root))
            log.append(_step_record(rec))


def _parse_save(text: str) -> dict:
    tables: dict = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("*"):
            cur = tables.setdefault(line[1:].strip(), {"chains": {}, "policy": {}})
        elif cur is None or not line.strip() or line.startswith("#") or line.strip() == "COMMIT":
            continue
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            cur["chains"].setdefault(name, [])
            cur["policy"][name] = policy
        elif line.startswith("-A "):
            chain = line.split()[1]
            cur["chains"].setdefault(chain, []).append(line)
    return tables


def iptables_delta(saved: str, current: str) -> str | None:
    """An ``iptables-restore --noflush`` script that turns ``current`` back into ``saved`` chain by
    chain (only the chains whose rules or policy differ), or None when that cannot be done."""
    want, have = _parse_save(saved), _parse_save(current)
    out = []
    for table, w in want.items():
        h = have.get(table)
        if h is None:
            return None
        lines = []
        for chain in w["chains"]:
            if chain not in h["chains"]:
                lines.append(f":{chain} - [0:0]")
            elif w["policy"][chain] != "-" and w["policy"][chain] != h["policy"].get(chain):
                lines.append(f":{chain} {w['policy'][chain]} [0:0]")
        gone = [c for c in h["chains"] if c not in w["chains"]]
        for chain, rules in w["chains"].items():
            if chain in h["chains"] and h["chains"][chain] != rules:
                lines.append(f"-F {chain}")
                lines += rules
            elif chain not in h["chains"]:
                lines += rules
        for chain in gone:
            lines.append(f"-F {chain}")
        lines += [f"-X {chain}" for chain in gone]
        if lines:
            out += [f"*{table}", *lines, "COMMIT"]
    return "\n".join(out) + "\n" if out else None


def nft_table_block(ruleset: str, family: str, name: str) -> str:
    """The ``table FAMILY NAME { ... }`` block of an ``nft list ruleset`` listing."""
    lines = ruleset.splitlines()
    head = f"table {family} {name} {{"
    for i, line in enumerate(lines):
        if line.strip() == head or line.startswith(head + " "):
            for j in range(i + 1, len(lines)):
                if lines[j] == "}":
                    return "\n".join(lines[i:j + 1])
    return ""


def undo(*, base: Path | None = None, entry_id: str | None = None, read_only: bool = False, runner=run) -> Result:
    """Undo the last applied change (or ``entry_id``): its recorded undo commands, then a
    comparison with the backup taken before it. Raises ActionError when there is nothing to undo."""
    if read_only or st.read_only():
        raise ActionError("read-only: wsltui makes no changes (--read-only or WSLTUI_READ_ONLY)")
    journal = st.Journal(base)
    if entry_id:
        entry = next((e for e in journal.entries() if e["id"] == entry_id), None)
        if entry is None:
            raise ActionError(f"no journal entry {entry_id!r} (see wsltui undo --list)")
        if entry.get("action") != "fix" or entry.get("result") not in ("applied", "pending"):
            raise ActionError(f"entry {entry_id} is {entry.get('result')}: there is nothing to undo")
    else:
        entry = journal.last_undoable()
        if entry is None:
            raise ActionError(f"nothing to undo: no applied change in {journal.path}")
    plan = Plan.from_json(entry["plan"])
    backup = Path(entry["backup"])
    try:
        before = st.read_backup(backup)
    except (OSError, ValueError) as e:
        raise ActionError(f"cannot read the backup {backup}: {e}") from None
    as_root = plan.needs_root
    current = st.capture_state(plan.backup_targets(), as_root)
    after = entry.get("after")
    drifted = after is not None and any(st.normalise(k, s.text) != after.get(k) for k, s in current.items())
    uid = st.new_id()
    rec_entry = {"id": uid, "action": "undo", "undoes": entry["id"], "time": st.now(), "started": st.now(),
                 "backup": str(backup), "steps": [], "result": "pending"}
    journal.append(rec_entry)
    t0 = time.monotonic()
    failures = []
    if entry.get("result") == "pending":  # interrupted mid-apply: only the backup knows the state
        _restore(plan, before, backup, st.differences(before, current), rec_entry, as_root, runner)
    else:
        for argv in reversed(entry.get("undo", [])):
            rec = runner(Job("undo", tuple(argv), STEP_TIMEOUT, as_root=as_root))
            rec_entry["steps"].append(_step_record(rec))
            why = _failed(rec)
            if why:
                failures.append(f"{' '.join(argv)}: {why}")
        if "firewalld" in plan.front_ends:
            _firewalld_tidy(before, rec_entry["steps"], as_root, runner)
    diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root))
    if diff and not drifted:
        # Nothing else changed since the fix, so the backup is exactly what to go back to (a
        # failed undo step, or a front end that does not give back exactly what it had: ufw
        # rewrites all its chains on every change, and may fill in rules its enable left out).
        _restore(plan, before, backup, diff, rec_entry, as_root, runner)
        diff = st.differences(before, st.capture_state(plan.backup_targets(), as_root))
    ok = not diff  # a failed undo step whose effect the backup restore made good is fine
    if ok:
        message = f"undone {entry['id']}: the rules are identical to before the change ({st.seconds_since(t0)} s)"
        result = "undone"
    else:
        message = (f"undo of {entry['id']} incomplete: " + "; ".join(failures)
                   + (f"; differs from the backup: {', '.join(diff)}" if diff else "")
                   + ("; the rules were changed by something else after the fix" if drifted else "")
                   + f" (backup in {backup})")
        result = "undo-failed"
    rec_entry.update(result=result, message=message, time=st.now(), differences=diff)
    journal.append(rec_entry)
    if ok:
        journal.append({**entry, "result": "undone", "undone_by": uid, "time": st.now()})
    return Result(ok, result, message, uid, str(backup), rec_entry["steps"], diff)


def trace_verifier(plan: Plan) -> Verifier:
    """Probe the live system again, trace the same packet, and check the fixed blockers are gone."""

    def verify() -> tuple[bool, str]:
        import ipaddress

        from wsltui.facts import build_facts
        from wsltui.probes.capture import capture
        from wsltui.simulation.simulate import Scenario, World, simulate

        sc = plan.scenario
        addr = lambda v: ipaddress.ip_address(v) if v else None  # noqa: E731
        scenario = Scenario(sc.get("name", "custom"), plan.port, plan.proto, addr(sc.get("src")), addr(sc.get("dst")),
                            sc.get("in_iface"))
        trace = simulate(World.from_facts(build_facts(capture())), scenario)
        fixed = [(b["layer"], b["owner"], b["rule"]) for b in plan.blockers]
        still = [b for b in trace.blockers if (b.layer, b.owner, b.rule) in fixed]
        new = [b for b in trace.blockers if b.layer == "netfilter" and (b.layer, b.owner, b.rule) not in fixed]
        if still:
            return False, "still blocked by " + "; ".join(f"{b.location}: {b.rule}" for b in still)
        if new:
            return False, "now blocked by " + "; ".join(f"{b.location}: {b.rule}" for b in new)
        return True, ("the packet now gets through" if trace.reachable else
                      "the fixed blockers are gone" + (f" (still: {trace.first_blocker.layer})" if trace.first_blocker else ""))

    return verify
