"""The one error type for user mistakes: reported as a single line, exit code 2."""


class UsageError(Exception):
    """Bad input. ``field`` names the flag or config key; the message says what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # Ray copies and pickles exceptions raised inside trials
        return type(self), (self.field, self.message)


def one_line(text: str) -> str:
    """Control characters (a newline in a YAML key, say) escaped: the error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def fail(prog: str, err: BaseException, flags: set[str]) -> int:
    """Print the one line a CLI shows for a usage error (exit 2) or an interruption (130).

    ``flags`` are the settings that came from the command line: they are named as flags
    (``--num-samples``), the others as config keys (``stages[1].top_k``).
    """
    import sys

    if isinstance(err, UsageError):
        field = "--" + err.field.replace("_", "-") if err.field in flags else err.field
        print(one_line(f"{prog}: error: {field}: {err.message}"), file=sys.stderr)
        return 2
    print(f"{prog}: interrupted" + (f": {err}" if str(err) else ""), file=sys.stderr)
    return 130
