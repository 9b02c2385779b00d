"""User-facing errors of latentzoo.

Every mistake a user can make (a missing data folder, a bad noise spec, an unknown model, a bad
number) raises a `LatentzooError` with a one-line message. The command line prints that line to
stderr and exits with `exit_code` (2 for user mistakes); it never shows a traceback for them.
"""


class LatentzooError(Exception):
    """A problem the user can fix; the message is one line (line breaks and control characters that
    came in with a value the user typed are escaped here, once for every error)."""

    exit_code = 2

    def __init__(self, message: str = ""):
        super().__init__(
            "".join(
                c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                for c in str(message)
            )
        )


class DataError(LatentzooError):
    """Data set missing, unreadable, corrupted or failing its checksum."""


class ConfigError(LatentzooError):
    """An option or configuration value that makes no sense."""


class RunError(LatentzooError):
    """A run folder that is missing, incomplete, or would be overwritten."""


class TrainingDiverged(LatentzooError):
    """The loss became NaN or infinite; nothing non-finite was saved."""

    exit_code = 1


class Interrupted(LatentzooError):
    """Training stopped by SIGINT or SIGTERM after finishing its step and writing a checkpoint."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum  # the shell's convention for a death by that signal


class CodecError(LatentzooError):
    """A compressed file that is truncated, corrupted, of another format version or of another
    model, or whose decoded codes fail their checksum."""
