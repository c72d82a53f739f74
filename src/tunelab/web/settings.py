"""What one server is allowed to do: its data roots, run store, token and size limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunelab.errors import TunelabError

MAX_JSON_BYTES = 256 * 1024  # a form of knobs is a few kilobytes
MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # one config file, or one chunk of an uploaded file


@dataclass(frozen=True)
class WebSettings:
    """Settings of one app instance; tests build their own and pass them to ``create_app``.

    ``data_roots`` are resolved once here: every data path a request names must lie under
    one of them (after symlinks are followed). ``token=None`` turns authentication off
    (only sensible on 127.0.0.1; ``tunelab serve`` insists on a token anywhere else).
    """

    data_roots: tuple[Path, ...]
    runs_dir: Path
    token: str | None = None
    max_json_bytes: int = MAX_JSON_BYTES
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    thumbnails_per_class: int = 6
    allow_digits: bool = True
    upload_paths: tuple[str, ...] = field(default=("/api/config/parse", "/api/uploads/"))
    # Host names requests may name besides loopback ones; None: any (a wildcard bind).
    allowed_hosts: tuple[str, ...] | None = ()

    @classmethod
    def build(
        cls,
        data_roots: list[Path],
        runs_dir: Path | None = None,
        token: str | None = None,
        allowed_hosts: tuple[str, ...] | None = (),
        **limits: int,
    ) -> WebSettings:
        from tunelab.runs.store import default_root

        roots = []
        for root in data_roots:
            resolved = Path(root).expanduser().resolve()
            if not resolved.is_dir():
                raise TunelabError(
                    f"data root {str(root)!r} is not a folder. Give an existing folder with "
                    "--data-root DIR (one per folder the app may read images from)."
                )
            roots.append(resolved)
        if token is not None and not token.strip():
            raise TunelabError("the token is empty. Give a non-empty --token or leave it out.")
        runs = Path(runs_dir) if runs_dir is not None else default_root()
        return cls(
            data_roots=tuple(dict.fromkeys(roots)),
            runs_dir=runs.expanduser().resolve(),
            token=token,
            allowed_hosts=allowed_hosts,
            **limits,  # type: ignore[arg-type]
        )
