"""Shared request helpers: the settings and job manager of the app serving the request."""

from __future__ import annotations

from fastapi import Request

from tunelab.web.jobs import JobManager
from tunelab.web.settings import WebSettings


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def jobs_of(request: Request) -> JobManager:
    jobs: JobManager = request.app.state.jobs
    return jobs
