"""What the arguments ask for, read without typer: the invoked command, and the URL whose tags
a `--remote` read will need (so the console script can start that read before its imports)."""

# The global options that may come before a command's name, and whether each takes a value.
GLOBAL_OPTIONS = {"-C": True, "--quiet": False, "-q": False, "--plain": False}
# The commands whose `--remote URL` reads the URL's tags with `git ls-remote`.
READ_REMOTE = frozenset({"list", "history", "show"})


def command_index(args: list[str]) -> int | None:
    """Where the command or group's name is in `args`, when only global options come before
    it; None when something else does (`--help`, `--version`, a typo)."""
    index = 0
    while index < len(args) and args[index] in GLOBAL_OPTIONS:
        index += 1 + GLOBAL_OPTIONS[args[index]]
    if index >= len(args) or args[index].startswith("-"):
        return None
    return index


def invoked(args: list[str]) -> str | None:
    """The command or group named in `args`, when only global options come before it; None
    when something else does: then click sees every command."""
    index = command_index(args)
    return None if index is None else args[index]


def remote_url(args: list[str]) -> str | None:
    """The URL a `list`, `history` or `show` with `--remote URL` will read, when it reads from
    the current directory (no global `-C`); None otherwise. A wrong guess costs nothing but
    the read: only a read of the same URL from the same directory is ever used."""
    index = command_index(args)
    if index is None or args[index] not in READ_REMOTE or "-C" in args[:index]:
        return None
    if "-h" in args or "--help" in args:  # help reads nothing: no host is to be contacted
        return None
    rest = args[index + 1 :]
    for position, arg in enumerate(rest):
        if arg == "--":
            return None
        if arg == "--remote":
            return rest[position + 1] if position + 1 < len(rest) else None
        if arg.startswith("--remote="):
            return arg.partition("=")[2]
    return None
