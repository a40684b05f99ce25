from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # for `check`: reachable
    BLOCKED = 1  # for `check`: something on the path stops the packet
    USAGE = 2  # bad arguments or an unreadable snapshot
    UNKNOWN = 3  # for `check`: not enough facts to say
    INTERRUPTED = 130
