"""``create_app``: the FastAPI application, its pages, static files and error handling.

Every refusal is a 4xx with ``{"error": "<one line>"}``: what was wrong, the value given,
what is allowed and how to fix it. Nothing the user sends can produce a traceback.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from tunelab.errors import TunelabError
from tunelab.web.jobs import JobManager
from tunelab.web.security import BodyLimit, OriginGuard, WebError, check_token
from tunelab.web.settings import WebSettings

STATIC = Path(str(resources.files("tunelab.web") / "static"))
_log = logging.getLogger(__name__)


def create_app(
    *,
    data_roots: list[Path],
    runs_dir: Path | None = None,
    token: str | None = None,
    settings: WebSettings | None = None,
    allowed_hosts: tuple[str, ...] | None = (),
) -> FastAPI:
    """The app serving the workbench over ``data_roots`` and the run store ``runs_dir``.

    ``token=None`` turns authentication off; otherwise every API call and page must carry
    it (``Authorization: Bearer`` or ``?token=``). Requests must name a loopback host or
    one of ``allowed_hosts`` (``None``: any). ``settings`` overrides everything else
    (tests use it to lower the size limits).
    """
    from tunelab import __version__
    from tunelab.web.routes import (
        data,
        export,
        form,
        jobs,
        knobs,
        lr_find,
        review,
        runs,
        search,
        upload,
    )
    from tunelab.web.uploads import Uploads

    settings = settings or WebSettings.build(
        data_roots, runs_dir, token, allowed_hosts=allowed_hosts
    )
    app = FastAPI(
        title="tunelab",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.jobs = JobManager(settings)
    app.state.uploads = Uploads(settings)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(OriginGuard, settings=settings)  # added last: runs first
    _add_error_handlers(app)

    guarded = [Depends(check_token)]
    for module in (data, knobs, form, jobs, lr_find, review, runs, export, search, upload):
        app.include_router(module.router, prefix="/api", dependencies=guarded)

    @app.get("/api/health", dependencies=guarded)
    def health() -> dict[str, object]:
        return {
            "ok": True,
            "version": __version__,
            "data_roots": [str(root) for root in settings.data_roots],
            "runs_dir": str(settings.runs_dir),
            "auth": settings.token is not None,
            "one_job_at_a_time": True,
        }

    @app.get("/", dependencies=guarded, include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def static_page(name: str) -> FileResponse:
        page = STATIC / f"{name}.html"
        if not page.is_file():
            raise WebError(404, f"the {name} page is not installed in this version.")
        return FileResponse(page, media_type="text/html")

    @app.get("/playground", dependencies=guarded, include_in_schema=False)
    def playground() -> FileResponse:
        return static_page("playground")

    @app.get("/descent", dependencies=guarded, include_in_schema=False)
    def descent() -> FileResponse:
        """Gradient descent on a 2-parameter loss surface (the playground's second page)."""
        return static_page("descent")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.router.add_event_handler("shutdown", app.state.jobs.shutdown)
    return app


_PLOTLY: list[bytes] = []


def _plotly_js() -> bytes:
    """Plotly.js as bundled with the ``plotly`` Python package (read once, not vendored)."""
    if not _PLOTLY:
        try:
            bundle = resources.files("plotly") / "package_data" / "plotly.min.js"
            _PLOTLY.append(bundle.read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as err:
            raise WebError(
                404,
                f"plotly.min.js is not available ({err}). Install the web extra: "
                "pip install 'tunelab[web]'.",
            ) from None
    return _PLOTLY[0]


def _add_error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> JSONResponse:
        return JSONResponse({"error": exc.message, **exc.details}, status_code=exc.status)

    @app.exception_handler(TunelabError)
    async def tunelab_error(request: Request, exc: TunelabError) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"not found: {request.url.path}. The API lives under /api/."
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}."
        return error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error on %s", request.url.path)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return error(500, f"internal error ({type(exc).__name__}: {first[:200]}).")


def describe_validation(exc: RequestValidationError) -> str:
    """pydantic's first complaint about a request, as one line."""
    errors = exc.errors()
    if not errors:
        return "invalid request."
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    given = first.get("input")
    text = f"invalid request field {where or 'body'!r}: {first.get('msg', 'invalid value')}"
    if first.get("type") == "json_invalid":
        return "invalid request: the body is not valid JSON. Send a JSON object."
    if given is not None and first.get("type") != "missing":
        text += f" (got {given!r:.80})"
    return text + "."
