"""wsltui: why can't Windows (or the LAN) reach my WSL2 service, and what do I change?"""

__version__ = "0.1.0"
