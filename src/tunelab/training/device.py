"""Where and in what precision to train: device choice, threads, autocast, memory layout."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from tunelab.errors import TunelabError


def choose_device(name: str = "auto") -> torch.device:
    """CUDA, then MPS, then the CPU for ``auto``; a clear error for one that is missing."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TunelabError(
            "device 'cuda' was asked for but PyTorch sees no CUDA GPU here. "
            "Use --device auto or --device cpu."
        )
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise TunelabError(
                "device 'mps' was asked for but this machine has no Apple GPU. "
                "Use --device auto or --device cpu."
            )
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX512-BF16 or AMX), where autocast pays."""
    try:
        isa = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # pragma: no cover - older torch
        return False
    if "AVX512" not in isa.upper():
        return False
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class Precision:
    """The resolved numeric mode: autocast dtype (or None for fp32) and memory layout."""

    name: str
    autocast_dtype: torch.dtype | None
    channels_last: bool
    grad_scaler: bool

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype)

    def for_model(self, model: nn.Module) -> Precision:
        """This precision in the fastest memory layout for ``model``: channels-last only
        pays for convolutions; for a model without any it would only add copies."""
        if self.channels_last and not any(isinstance(m, nn.Conv2d) for m in model.modules()):
            return replace(self, channels_last=False)
        return self


def resolve_precision(name: str, device: torch.device) -> Precision:
    """fp32 by default on the CPU; bf16 where asked; mixed on a GPU.

    Convolutions run channels-last on the CPU in every precision (oneDNN's convolution and
    max-pool kernels are faster there: 1.2-1.6x per training step for tunelab's conv
    models, fp32 and bf16 alike, measured on an AMX Xeon) and on a GPU in bf16/fp16
    (tensor cores); a model without convolutions is left as it is (see
    :func:`tunelab.training.setup.build_training`).
    """
    if name == "auto":
        if device.type == "cuda":
            name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            name = "fp32"
    if name == "fp32":
        return Precision("fp32", None, device.type == "cpu", False)
    if name == "bf16":
        return Precision("bf16", torch.bfloat16, device.type in {"cpu", "cuda"}, False)
    if name == "fp16":
        if device.type == "cpu":
            raise TunelabError(
                "precision 'fp16' is not supported for training on the CPU (got fp16 with "
                "device cpu). Use --precision bf16 or fp32 on the CPU; fp16 on a GPU."
            )
        return Precision("fp16", torch.float16, device.type == "cuda", device.type == "cuda")
    raise TunelabError(f"unknown precision {name!r}. Allowed: fp32, bf16, fp16, auto.")


def precision_warning(precision: Precision, device: torch.device) -> str | None:
    """The warning a run carries when its precision is slower than fp32 on this machine."""
    if precision.name == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
        return (
            "this CPU has no native bf16 arithmetic (AVX512-BF16 or AMX), so bf16 is emulated "
            "and slower than fp32 here; use --precision fp32 (or auto)."
        )
    return None


def set_threads(threads: int | None) -> None:
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
