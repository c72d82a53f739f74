"""The web app: a FastAPI server over the same Python API as the CLI (``tunelab serve``).

>>> from tunelab.web.app import create_app
>>> app = create_app(data_roots=[Path("images")], runs_dir=Path("tunelab-runs"))  # doctest: +SKIP

The front end is plain static files in ``static/`` (no build step), served under
``/static/``; ``/`` is the workbench (data sets, train, runs, sweep and tune) and
``/playground`` the playground. Plotly.js is served at ``/static/plotly.min.js`` from the
``plotly`` Python package. ``static/tunelab.js`` holds the shared helpers every page uses
(``tunelab.api``, ``tunelab.events``: they carry the ``?token=`` of the page's address).

Every JSON endpoint lives under ``/api/`` (see :mod:`tunelab.web.routes`); an error is a
4xx status with one line in ``{"error": "..."}``. Importing this package imports nothing
heavy; :mod:`tunelab.web.app` imports FastAPI.
"""
