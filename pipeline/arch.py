"""The architecture search space of the image tasks: block type, depth, width.

``search_space: arch`` (and the default of a multi-objective run on an image task)
tunes the network's shape beside the training hyperparameters, so a search can trade
accuracy for size and speed. The block type is a conditional choice; each branch
carries only its own parameters:

* ``plain``: 3x3 convolution, batch norm, ReLU (VGG-style);
* ``bottleneck``: ResNet bottleneck residual, 1x1 down to ``width_ratio`` of the
  output channels, 3x3, 1x1 back up, plus the shortcut;
* ``inverted``: MobileNetV2 inverted residual, 1x1 up by ``expansion``, depthwise
  ``kernel_size`` x ``kernel_size``, linear 1x1 down, residual when the shape allows.

``blocks`` of the chosen type follow a 3x3 stem; block ``i`` has ``BASE_WIDTHS[i]`` x
``width_mult`` channels (rounded to a multiple of 4) and halves the image while it is at
least 8 pixels wide (the rule of :class:`pipeline.models.SmallCNN`, so a low-resolution
fidelity keeps the architecture). Global average pooling before the classifier keeps the
parameter count independent of the input resolution; FLOPs and latency are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pipeline import hparams
from pipeline.hparams import HyperparameterError

BLOCK_TYPES = ("plain", "bottleneck", "inverted")
#: channels of block i at width_mult 1
BASE_WIDTHS = (16, 24, 32, 48, 64, 96)
MAX_BLOCKS = len(BASE_WIDTHS)
#: hyperparameters of the architecture space (a config with any of them builds an ArchNet)
KEYS = ("block", "blocks", "width_mult")
#: per-branch keys of ``block`` and their defaults
BRANCH_KEYS = {"bottleneck": {"width_ratio": 0.25}, "inverted": {"expansion": 6, "kernel_size": 3}}
BRANCH_RULES = {
    "width_ratio": (float, lambda v: 0 < v <= 4, "a number in (0, 4]"),
    "expansion": (int, lambda v: 1 <= v <= 8, "an integer in [1, 8]"),
    "kernel_size": (int, lambda v: v in (3, 5, 7), "3, 5 or 7"),
    "blocks": (int, lambda v: 1 <= v <= MAX_BLOCKS, f"an integer in [1, {MAX_BLOCKS}]"),
    "width_mult": (float, lambda v: 0.05 <= v <= 4, "a number in [0.05, 4]"),
}
DEFAULTS: dict[str, Any] = {"block": "plain", "blocks": 2, "width_mult": 1.0}


def arch_space(optimizer: dict[str, Any], batch_sizes: list[int]) -> dict[str, Any]:
    """The YAML tree of ``search_space: arch``: the architecture plus the training knobs."""
    return {
        "optimizer": optimizer,
        "batch_size": {"type": "categorical", "choices": batch_sizes},
        "block": {
            "type": "categorical",
            "choices": [
                {"name": "plain"},
                {"name": "bottleneck", "width_ratio": {"type": "float", "low": 0.25, "high": 1.0}},
                {
                    "name": "inverted",
                    "expansion": {"type": "int", "low": 1, "high": 6},
                    "kernel_size": {"type": "categorical", "choices": [3, 5]},
                },
            ],
        },
        "blocks": {"type": "int", "low": 1, "high": 4},
        "width_mult": {"type": "float", "low": 0.25, "high": 2.0, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }


def is_arch(config: Mapping[str, Any]) -> bool:
    return any(k in config for k in KEYS)


def parse(config: Mapping[str, Any]) -> dict[str, Any]:
    """An arch-space configuration with defaults filled in: the training keys through
    :func:`pipeline.hparams.parse`, the architecture here. ``block`` is a name or a branch
    dict ``{name, width_ratio}`` / ``{name, expansion, kernel_size}``; a key of another
    branch is an error, not silently ignored."""
    config = dict(config)
    arch = {k: config.pop(k, DEFAULTS[k]) for k in KEYS}
    block = arch["block"]
    branch: dict[str, Any] = {}
    if isinstance(block, Mapping):
        if "name" not in block:
            raise HyperparameterError("block", f"a branch needs 'name' ({', '.join(BLOCK_TYPES)})")
        branch = {k: v for k, v in block.items() if k != "name"}
        block = block["name"]
    if block not in BLOCK_TYPES:
        raise HyperparameterError("block", f"must be one of {', '.join(BLOCK_TYPES)}, got {block!r}")
    allowed = BRANCH_KEYS.get(block, {})
    for key in sorted(branch):
        if key not in allowed:
            keys = ", ".join(allowed) or "none"
            raise HyperparameterError(f"block/{key}", f"not a parameter of block {block}; it takes: {keys}")
    out = {**hparams.parse(config, ("dropout",)), "arch": True, "block": block}
    for key, default in allowed.items():
        out[key] = _coerce(key, branch.get(key, default))
    out["blocks"] = _coerce("blocks", arch["blocks"])
    out["width_mult"] = _coerce("width_mult", arch["width_mult"])
    return out


def _coerce(key: str, value: Any) -> Any:
    kind, ok, allowed = BRANCH_RULES[key]
    if isinstance(value, bool):
        raise HyperparameterError(key, f"must be {allowed}, got {value!r}")
    try:
        v = kind(value)
    except (TypeError, ValueError):
        raise HyperparameterError(key, f"must be {allowed}, got {value!r}") from None
    if (kind is int and float(value) != v) or not ok(v):
        raise HyperparameterError(key, f"must be {allowed}, got {value!r}")
    return v


def channels(i: int, width_mult: float) -> int:
    """Channels of block ``i``: the base width scaled, a multiple of 4, at least 4."""
    return max(4, int(BASE_WIDTHS[i] * width_mult + 2) // 4 * 4)


class PlainBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class BottleneckBlock(nn.Module):
    """ResNet bottleneck: 1x1 to ``mid`` = width_ratio x c_out, 3x3 (strided), 1x1 to c_out, + shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, width_ratio: float):
        super().__init__()
        mid = max(1, round(c_out * width_ratio))
        self.body = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class InvertedResidual(nn.Module):
    """MobileNetV2: 1x1 expansion (skipped at expansion 1), depthwise k x k, linear 1x1
    projection; the input is added back when stride 1 keeps the shape."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int, kernel_size: int):
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class ArchNet(nn.Module):
    """Stem, ``blocks`` blocks of one type, global average pooling, dropout, linear head."""

    def __init__(self, resolution: int, n_classes: int, hp: Mapping[str, Any], in_channels: int = 1):
        super().__init__()
        width = hp["width_mult"]
        c = channels(0, width)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        size = resolution
        for i in range(hp["blocks"]):
            c_out = channels(i, width)
            stride = 2 if size >= 8 else 1
            size = (size + 1) // 2 if stride == 2 else size
            layers.append(_block(hp, c, c_out, stride))
            c = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(hp["dropout"]), nn.Linear(c, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _block(hp: Mapping[str, Any], c_in: int, c_out: int, stride: int) -> nn.Module:
    if hp["block"] == "bottleneck":
        return BottleneckBlock(c_in, c_out, stride, hp["width_ratio"])
    if hp["block"] == "inverted":
        return InvertedResidual(c_in, c_out, stride, hp["expansion"], hp["kernel_size"])
    return PlainBlock(c_in, c_out, stride)
