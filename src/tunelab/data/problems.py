"""The one error type for a single unusable input file.

Loading either raises it or, with ``skip_bad=True``, records ``(path, reason)`` in
``ImageDataset.skipped`` and carries on. Problems with the data set as a whole (one
class, images that disagree in channel count) are plain :class:`TunelabError`\\ s and
are never skipped.
"""

from __future__ import annotations

from pathlib import Path

from tunelab.errors import TunelabError

SKIP_HINT = (
    "Or skip bad files with --skip-bad (skip_bad=True in Python; they are listed in "
    "ImageDataset.skipped)."
)


class BadFileError(TunelabError):
    """One file (or manifest row) that cannot be used, with a short ``reason``."""

    def __init__(self, path: str | Path, reason: str, fix: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot use {self.path!r}: {reason}. {fix} {SKIP_HINT}")
