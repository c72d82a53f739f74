"""PNG plots of runs: learning curves, run-against-run overlays, confusion matrices.

matplotlib is imported inside the functions (Agg, no pyplot), so importing this package
is cheap and plotting works without a display.
"""

from tunelab.report.confusion import plot_confusion
from tunelab.report.curves import plot_run, plot_runs

__all__ = ["plot_confusion", "plot_run", "plot_runs"]
