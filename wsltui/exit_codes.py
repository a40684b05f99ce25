from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # for `check`: reachable
    BLOCKED = 1  # for `check`: something on the path stops the packet
    USAGE = 2  # bad arguments or an unreadable snapshot
    UNKNOWN = 3  # for `check`: not enough facts to say
    FAILED = 4  # `fix`/`undo`: a change failed (and was rolled back, or could not be)
    REFUSED = 5  # `fix`/`undo`: refused before changing anything (read-only, needs a person, no tty)
    INTERRUPTED = 130
