"""The one error type for user mistakes: reported as a single line, exit code 2."""


class UsageError(Exception):
    """Bad input. ``field`` names the flag or config key; the message says what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
