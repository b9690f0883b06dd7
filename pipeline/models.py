"""The model families the built-in tasks tune (torch)."""

from __future__ import annotations

import torch
from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks and an MLP head; the same family at every input resolution.

    A block halves the image only while it is at least 8 pixels wide, so 28 -> 14 -> 7,
    14 -> 7 -> 7, 8 -> 4 -> 4 and 4 -> 4 -> 4: low-resolution fidelities keep the
    architecture (and so the meaning of the hyperparameters) of the full one.
    """

    def __init__(
        self,
        resolution: int,
        n_classes: int,
        channels: int = 16,
        hidden: int = 64,
        dropout: float = 0.0,
        in_channels: int = 1,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        size, c_in = resolution, in_channels
        for c_out in (channels, 2 * channels):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            if size >= 8:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * size * size, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MLP(nn.Module):
    """``layers`` hidden layers of width ``hidden`` with ReLU and dropout."""

    def __init__(self, n_inputs: int, n_outputs: int, hidden: int = 64, layers: int = 2, dropout: float = 0.0):
        super().__init__()
        mods: list[nn.Module] = []
        width = n_inputs
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        mods.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
