"""The command-line failure `qopt` reports as `qopt: error: message` (no location)."""


class QoptError(Exception):
    """A command-line level failure (bad pass name or option, unreadable input)."""
