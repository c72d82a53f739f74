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


def skipped_summary(
    skipped: list[tuple[str, str]] | list[list[str]], where: str | None, first: int = 3
) -> str:
    """One line for files left out with ``skip_bad``: how many, the first few, where all are
    (``where`` may be None when every file fits on the line).

    >>> print(skipped_summary([("a.png", "truncated"), ("b.txt", "not an image")], "x.json"))
    skipped 2 bad files: a.png (truncated); b.txt (not an image). Full list: x.json.
    """
    shown = "; ".join(f"{Path(path).name} ({reason})" for path, reason in skipped[:first])
    more = f"; and {len(skipped) - first} more" if len(skipped) > first else ""
    noun = "file" if len(skipped) == 1 else "files"
    full = f" Full list: {where}." if where else ""
    return f"skipped {len(skipped)} bad {noun}: {shown}{more}.{full}"
