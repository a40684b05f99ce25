"""Windows: the Windows and Hyper-V firewall, portproxy and excluded ports, once the facts carry
them (``facts.windows``); until then, what is unknown and the command that would tell."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from wsltui.tui.panels.base import Panel, VimTree
from wsltui.tui.render import unknown_text

COMMANDS = (
    "powershell.exe Get-NetFirewallProfile; Get-NetFirewallRule",
    "powershell.exe Get-NetFirewallHyperVVMSetting -PolicyStore ActiveStore",
    "netsh.exe interface portproxy show all",
    "netsh.exe int ipv4 show excludedportrange protocol=tcp",
)


class WindowsPanel(Panel):
    TITLE = "Windows"
    KEY = "windows"

    def compose_body(self):
        yield Static(id="windows-note")
        tree = VimTree("windows", id="windows-tree")
        tree.show_root = False
        yield tree

    def main_widget(self):
        return self.query_one("#windows-tree")

    def show(self, a) -> None:
        win = getattr(a.facts, "windows", None)
        note = self.query_one("#windows-note", Static)
        tree = self.query_one("#windows-tree", VimTree)
        tree.clear()
        if win is None:
            text = unknown_text(f"unknown: no Windows data (run: {COMMANDS[0]})")
            text.append("\nwsltui does not read the Windows side yet. These would tell:\n", style="dim")
            for c in COMMANDS:
                text.append(f"  $ {c}\n")
            note.update(text)
            tree.display = False
            return
        from wsltui.facts import to_jsonable

        note.update(Text("What wsltui read on the Windows side (space/enter opens a branch)", style="bold"))
        tree.display = True
        _add(tree.root, to_jsonable(win), depth=0)


def _add(node, value, depth: int) -> None:
    """A generic view of whatever ``facts.windows`` holds (dicts and lists become branches)."""
    if isinstance(value, dict):
        if set(value) == {"reason", "command"}:
            node.add_leaf(_unknown(value))
            return
        for k, v in value.items():
            if isinstance(v, dict) and set(v) == {"reason", "command"}:
                node.add_leaf(Text.assemble((f"{k}: ", "bold"), _unknown(v)))
            elif isinstance(v, (dict, list)) and v:
                child = node.add(Text(str(k), style="bold"), expand=depth < 1)
                _add(child, v, depth + 1)
            else:
                node.add_leaf(Text.assemble((f"{k}: ", "bold"), str(v)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                label = v.get("display_name") or v.get("name") if isinstance(v, dict) else None
                child = node.add(Text(str(label or f"[{i}]")), expand=False)
                _add(child, v, depth + 1)
            else:
                node.add_leaf(Text(str(v)))
    else:
        node.add_leaf(Text(str(value)))


def _unknown(value: dict) -> Text:
    return unknown_text(f"unknown: {value['reason']}" + (f" (run: {value['command']})" if value["command"] else ""))
