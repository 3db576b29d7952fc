"""Display helpers shared by pages, the API and the admin (no Django imports)."""

from __future__ import annotations


def parameters_display(parameters: int | None) -> str:
    """134_515_008 -> "135M", 6_738_415_616 -> "6.7B", 175e9 -> "175B"; None -> ""."""
    if not parameters:
        return ""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if parameters >= scale:
            value = parameters / scale
            if value >= 100:
                return f"{value:.0f}{suffix}"
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(parameters)


def memory_bytes(parameters: int | None, bits: int) -> int | None:
    """Weights-only memory for a parameter count at a given precision (fp16=16, int8=8, int4=4)."""
    if not parameters:
        return None
    return parameters * bits // 8
