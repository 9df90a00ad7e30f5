"""One exception type for every user-facing failure: its message is one sentence saying what and how to fix."""


class LbrError(Exception):
    """A problem the user can fix (bad config, missing file, corrupt download, diverged training)."""
