"""The network, shared by train.py and predictor.py: 4 features -> 3 classes (iris-like measurements)."""

import torch
from torch import nn

FEATURES = 4
CLASSES = 3
HIDDEN = 64


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
