"""Causes outside the five layers, said beside the verdict and never as a blocker, only where a
signal exists: through `wsltui check --from DIR --json` on the NAT demo's real Linux capture plus
hand-written records (tests/simulation/test_windows_scenarios.py's helpers), and the tables on their own."""

from __future__ import annotations

import json

import pytest

from tests.simulation.test_windows_scenarios import DUAL_STACK, case, check, ps
from wsltui.facts.windows import parse_firewall_products
from wsltui.simulation.caveats import REGRESSIONS, VPN_ADAPTERS, version_tuple

WIFI = {
    "alias": "Wi-Fi",
    "ifIndex": 12,
    "guid": "{6B1D2A10-0C3E-4F53-9A71-1B1C2D3E4F50}",
    "type": 71,
    "desc": "Intel(R) Wi-Fi 6 AX201 160MHz",
}


def adapter(alias: str, desc: str, index: int = 20) -> dict:
    return {
        "alias": alias,
        "ifIndex": index,
        "guid": "{0F2C4B7A-1D2E-4C3B-8A9F-00112233445" + str(index % 10) + "}",
        "type": 53,
        "desc": desc,
    }


def caveats_of(capsys, d, *extra) -> list[str]:
    code, t = check(capsys, d, 8080, *extra)
    assert code in (0, 1, 3)
    return t["caveats"]


def test_no_signal_no_caveat(capsys, tmp_path):
    # the healthy NAT case seen from Windows through the WSL IP: no VPN, no second path, nothing else
    code, t = check(capsys, case(tmp_path, powershell=ps(adapters=[WIFI])), 8080, "--scenario", "windows-to-wsl-ip")
    assert code in (0, 3) and t["caveats"] == []


def test_a_vpn_adapter(capsys, tmp_path):
    pangp = adapter("Ethernet 3", "PANGP Virtual Ethernet Adapter Secure")
    doc = ps(adapters=[WIFI, pangp], conn=ps()["conn"] + [{"alias": "Ethernet 3", "ifIndex": 20, "category": 0}])
    code, t = check(capsys, case(tmp_path, powershell=doc))
    vpn = [c for c in t["caveats"] if c.startswith("VPN adapter")]
    assert len(vpn) == 1 and "GlobalProtect ('Ethernet 3', connected)" in vpn[0] and "#4277" in vpn[0]
    assert code == 0 and t["reachable"] is True  # a caveat never blocks
    # mirrored: the mirrored-mode threads
    got = caveats_of(capsys, case(tmp_path / "m", mode="mirrored", powershell=doc))
    assert any("#10380" in c for c in got)
    # an adapter listed without a connection profile is only installed
    doc = ps(adapters=[WIFI, adapter("Tailscale", "Tailscale Tunnel", 21)])
    got = caveats_of(capsys, case(tmp_path / "ts", powershell=doc))
    assert any("Tailscale ('Tailscale')" in c for c in got)


@pytest.mark.parametrize(
    "desc,vpn",
    [
        ("Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter for Windows x64", "Cisco"),
        ("PANGP Virtual Ethernet Adapter Secure", "GlobalProtect"),
        ("Fortinet SSL VPN Virtual Ethernet Adapter", "FortiClient"),
        ("WireGuard Tunnel", "WireGuard"),
        ("TAP-Windows Adapter V9", "OpenVPN"),
        ("Wintun Userspace Tunnel", "Wintun"),
        ("Zscaler Network Adapter 1.0.2.0", "Zscaler"),
        ("NordLynx Tunnel", "NordVPN"),
        ("Tailscale Tunnel", "Tailscale"),
        ("Intel(R) Wi-Fi 6 AX201 160MHz", None),
        ("Hyper-V Virtual Ethernet Adapter", None),
        ("Realtek PCIe GbE Family Controller", None),
        ("Microsoft Wi-Fi Direct Virtual Adapter #2", None),
        ("Bluetooth Device (Personal Area Network)", None),
        ("Microsoft Teredo Tunneling Adapter", None),
        ("Microsoft ISATAP Adapter #2", None),
    ],
)
def test_vpn_descriptions(desc, vpn):
    import re

    found = next((name for name, pattern in VPN_ADAPTERS if re.search(pattern, desc.lower())), None)
    assert (found is None) == (vpn is None) and (vpn is None or vpn in found), (desc, found)


def test_a_third_party_firewall(capsys, tmp_path):
    got = caveats_of(capsys, case(tmp_path, powershell=ps(firewallProducts=["ZoneAlarm Free Firewall"])))
    assert any("ZoneAlarm Free Firewall" in c and "WFP" in c for c in got)
    # Windows Server has no Security Center: the section's error is no signal
    doc = ps(errors={"firewallProducts": "Invalid namespace"})
    assert not any("Third-party" in c for c in caveats_of(capsys, case(tmp_path / "srv", powershell=doc)))
    # a batch from before the section: no key, no signal
    assert not any("Third-party" in c for c in caveats_of(capsys, case(tmp_path / "old")))


def test_parse_firewall_products():
    assert parse_firewall_products(["Windows Firewall", "Norton Firewall", "Norton Firewall"]) == ["Norton Firewall"]
    assert parse_firewall_products({"displayName": "ESET Firewall"}) == ["ESET Firewall"]
    assert parse_firewall_products(None) == []


@pytest.mark.parametrize(
    "mode,stdout,exit_code,said",
    [
        ("mirrored", "active\n", 0, True),
        ("mirrored", "inactive\n", 3, False),
        ("nat", "active\n", 0, False),  # NAT does not mind NetworkManager
        ("mirrored", "", 1, False),  # no systemd: unknown, no signal
    ],
)
def test_networkmanager_in_mirrored_mode(capsys, tmp_path, mode, stdout, exit_code, said):
    d = case(tmp_path, mode=mode)
    (d / "systemd.networkmanager.txt").write_text(stdout)
    (d / "systemd.networkmanager.meta.json").write_text(
        json.dumps(
            {
                "argv": ["systemctl", "is-active", "NetworkManager"],
                "exit_code": exit_code,
                "stderr": ""
                if stdout
                else "System has not been booted with systemd as init system (PID 1). Can't operate.\n",
            }
        )
    )
    got = caveats_of(capsys, d)
    assert any("NetworkManager" in c and "#10632" in c for c in got) == said


def test_network_manager_fact(tmp_path):
    from wsltui.facts.base import Unknown
    from wsltui.facts.wsl import parse_unit_state
    from wsltui.snapshot import Record

    def rec(out, code, err=""):
        return Record("systemd.networkmanager", ("systemctl", "is-active", "NetworkManager"), out, code, err)

    assert parse_unit_state(rec("active\n", 0), "systemd.networkmanager") == "active"
    assert parse_unit_state(rec("inactive\n", 3), "systemd.networkmanager") == "inactive"
    none = parse_unit_state(rec("", 1, "System has not been booted with systemd"), "systemd.networkmanager")
    assert isinstance(none, Unknown) and "systemd" in none.reason
    assert isinstance(parse_unit_state(None, "systemd.networkmanager"), Unknown)


@pytest.mark.parametrize(
    "version,source",
    [
        ("2.7.8", "#41137"),
        ("2.8.0.0", "#41137"),
        ("2.9.4", "#41137"),
        ("2.9.5", None),
        ("2.7.7", None),
        ("1.2.0", "#9969"),
        ("0.65.1", "#8679"),
        ("2.3.26", None),
    ],
)
def test_wsl_versions_with_known_regressions(capsys, tmp_path, version, source):
    d = case(tmp_path)
    (d / "wsl.version.txt").write_text(version + "\n")
    got = [c for c in caveats_of(capsys, d) if c.startswith("WSL ")]
    assert (len(got) == 1 and f"(microsoft/WSL{source})" in got[0]) if source else got == [], got


def test_regression_table():
    for first, last, what, source in REGRESSIONS:
        assert first <= last and source.startswith("microsoft/WSL#") and what
    assert version_tuple("2.4.13.0") == (2, 4, 13) and version_tuple("2.4") == (2, 4, 0) and version_tuple("x") is None


def test_idle_timeouts(capsys, tmp_path):
    got = caveats_of(
        capsys, case(tmp_path, wslconfig="[wsl2]\nvmIdleTimeout=60000\n[general]\ninstanceIdleTimeout=15000\n")
    )
    assert any("vmIdleTimeout=60000" in c and "60 s" in c for c in got)
    assert any("instanceIdleTimeout=15000" in c and "the distro" in c for c in got)
    assert not any("IdleTimeout" in c for c in caveats_of(capsys, case(tmp_path / "none", wslconfig="[wsl2]\n")))


def test_localhost_meaning_two_paths(capsys, tmp_path):
    # a dual-stack [::] listener gets only an IPv6 relay in NAT: [::1] connects, 127.0.0.1 is refused
    d = case(
        tmp_path,
        sockets=DUAL_STACK,
        powershell=ps(listeners=[{"addr": "::1", "port": 8080, "pid": 5120, "process": "wslrelay"}]),
    )
    code, t = check(capsys, d)
    said = [c for c in t["caveats"] if c.startswith("'localhost'")]
    assert code == 1 and len(said) == 1
    assert "[::1]:8080 connects, 127.0.0.1:8080 does not (refused)" in said[0] and "Node 17" in said[0]
    code, t6 = check(capsys, d, 8080, "--scenario", "windows-localhost-v6")
    assert code == 0 and [c for c in t6["caveats"] if c.startswith("'localhost'")] == said
    # other scenarios do not say it
    _, t = check(capsys, d, 8080, "--scenario", "windows-to-wsl-ip")
    assert not any(c.startswith("'localhost'") for c in t["caveats"])


def test_caveats_in_the_text_and_markdown(capsys, tmp_path):
    from wsltui.cli import main

    d = case(tmp_path, powershell=ps(firewallProducts=["ZoneAlarm Free Firewall"]))
    main(["check", "8080", "--from", str(d)])
    assert "caveat: Third-party firewall" in capsys.readouterr().out
    main(["report", "--from", str(d), "--format", "md", "--port", "8080"])
    md = capsys.readouterr().out
    assert "### Caveats" in md and "> caveat: Third-party firewall" in md
