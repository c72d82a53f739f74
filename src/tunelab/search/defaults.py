"""The library's defaults for a tune, shared by ``tunelab tune`` and the web app.

Neither shell chooses its own: both read these (importances have theirs beside the code
that ranks them, :data:`tunelab.report.importance.MIN_TRIALS`).
"""

from __future__ import annotations

#: Trials a tune runs when given neither a number of trials nor a time budget.
DEFAULT_TRIALS = 20
