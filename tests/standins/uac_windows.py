#!/usr/bin/env python3
"""Stand-in Windows tools for wsltui's elevated actions, chosen by the name it is called by (the
tests put symlinks named powershell.exe, cmd.exe, wslpath and clip.exe on PATH):

  powershell.exe -NoProfile -NonInteractive -EncodedCommand B64
      decodes the outer script (UTF-16LE base64), checks it starts an elevated PowerShell with
      Start-Process -Verb RunAs -Wait, decodes the inner script from its -EncodedCommand, records
      both, then, per STANDIN_UAC:
        ok        runs the inner script's firewall command against a model of the rules
                  (STANDIN_UAC_RULES, JSON {name: {"enabled": 1|2}}) and writes the result file
                  the inner script names, as Windows would
        declined  exits 1223, as the outer script does when Start-Process throws (UAC "No")
        hang      never returns (nobody answers the prompt)
        denied    the elevated script fails with "Access is denied." in its result file
        noresult  exits 0 and writes nothing
  cmd.exe /d /c echo %TEMP%      prints STANDIN_TEMP
  cmd.exe /d /c echo %LOCALAPPDATA%  prints STANDIN_LOCALAPPDATA
  wslpath -u 'C:\\...'           maps C:\\ to STANDIN_C_ROOT
  clip.exe                       saves stdin (bytes) to STANDIN_CLIP

STANDIN_UAC_LOG (JSON lines) records every launch: the tool, its argv, and the decoded scripts.
"""

import base64
import json
import os
import re
import sys
import time

TEMP = r"C:\Users\tester\AppData\Local\Temp"
LOCALAPPDATA = r"C:\Users\tester\AppData\Local"
QUOTED = r"'((?:[^']|'')*)'"


def log(entry: dict) -> None:
    path = os.environ.get("STANDIN_UAC_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def to_linux(win: str) -> str:
    if not re.match(r"^[Cc]:\\", win):
        sys.exit(1)
    return os.path.join(os.environ["STANDIN_C_ROOT"], *[p for p in win[3:].split("\\") if p])


def decode(b64: str) -> str:
    return base64.b64decode(b64, validate=True).decode("utf-16-le")


def unquote(s: str) -> str:
    return s.replace("''", "'")


def model(inner: str) -> dict:
    """What the elevated script would report, against the rules model (updated in place)."""
    path = os.environ.get("STANDIN_UAC_RULES")
    rules = json.load(open(path, encoding="utf-8")) if path and os.path.exists(path) else {}
    m = re.search(
        r"^\s*(?:\$null = )?(Enable|Disable|New|Remove)-NetFirewall(HyperV)?Rule -Name " + QUOTED, inner, re.M
    )
    if not m:
        return {"ok": False, "error": "the stand-in does not know this script"}
    verb, name = m.group(1), unquote(m.group(3))
    missing = {"ok": False, "error": f"No MSFT_NetFirewallRule objects found with property 'Name' equal to '{name}'."}
    result = {"ok": True}
    if verb in ("Enable", "Disable"):
        if name not in rules:
            return missing
        want = 1 if verb == "Enable" else 2
        result["before"] = rules[name]["enabled"]
        if rules[name]["enabled"] == want:
            return {"ok": False, "error": f"the rule is already {verb.lower()}d", "before": result["before"]}
        rules[name]["enabled"] = want
        result["after"] = want
    elif verb == "New":
        if name in rules:
            return {"ok": False, "error": f"a rule named {name} already exists"}
        rules[name] = {"enabled": 1, "hyperv": bool(m.group(2)), "script": inner[m.start() :].splitlines()[0].strip()}
        result.update(before=0, after=1)
    else:
        if name not in rules:
            return missing
        result.update(before=rules.pop(name)["enabled"], after=0)
    if path:
        json.dump(rules, open(path, "w", encoding="utf-8"), ensure_ascii=False)
    return result


def powershell(args: list[str]) -> None:
    if len(args) != 4 or args[:3] != ["-NoProfile", "-NonInteractive", "-EncodedCommand"]:
        log({"tool": "powershell.exe", "argv": args, "error": "bad arguments"})
        sys.exit(64)
    outer = decode(args[3])
    m = re.search(r"Start-Process -FilePath powershell\.exe -Verb RunAs -Wait .*-ArgumentList " + QUOTED, outer)
    inner_b64 = re.search(r"-EncodedCommand ([A-Za-z0-9+/=]+)$", unquote(m.group(1))) if m else None
    if not inner_b64:
        log({"tool": "powershell.exe", "argv": args, "outer": outer, "error": "not an elevated launch"})
        sys.exit(65)
    inner = decode(inner_b64.group(1))
    log({"tool": "powershell.exe", "argv": args, "outer": outer, "inner": inner})
    mode = os.environ.get("STANDIN_UAC", "ok")
    if mode == "hang":
        time.sleep(600)
    if mode == "declined":
        sys.exit(1223)
    if mode == "noresult":
        sys.exit(0)
    where = re.search(r"\[IO\.File\]::WriteAllText\(" + QUOTED, inner)
    result = {"ok": False, "error": "Access is denied.", "code": -2147024891} if mode == "denied" else model(inner)
    with open(to_linux(unquote(where.group(1))), "w", encoding="utf-8") as f:
        json.dump(result, f)
    sys.exit(0)


def main() -> None:
    tool = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    if tool == "powershell.exe":
        powershell(args)
    elif tool == "cmd.exe":
        log({"tool": tool, "argv": args})
        answers = {
            "echo %TEMP%": os.environ.get("STANDIN_TEMP", TEMP),
            "echo %LOCALAPPDATA%": os.environ.get("STANDIN_LOCALAPPDATA", LOCALAPPDATA),
        }
        if args[:2] != ["/d", "/c"] or len(args) != 3 or args[2] not in answers:
            sys.exit(1)
        sys.stdout.buffer.write((answers[args[2]] + "\r\n").encode())
    elif tool == "wslpath":
        if len(args) != 2 or args[0] != "-u":
            sys.exit(1)
        print(to_linux(args[1]))
    elif tool == "clip.exe":
        data = sys.stdin.buffer.read()
        log({"tool": tool, "bytes": len(data)})
        with open(os.environ["STANDIN_CLIP"], "wb") as f:
            f.write(data)
    else:
        sys.exit(127)


if __name__ == "__main__":
    main()
