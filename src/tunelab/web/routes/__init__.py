"""The JSON API, one router per page: data sets, knobs, jobs (train), runs, search.

All are mounted under ``/api`` behind the token check (see :func:`tunelab.web.app.create_app`).
"""
