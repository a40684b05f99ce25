"""wsltui: why can't Windows (or the LAN) reach my WSL2 service, and what do I change?"""

from importlib.metadata import PackageNotFoundError, version

try:  # pyproject.toml is the one place the version is written
    __version__ = version("wsltui")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
