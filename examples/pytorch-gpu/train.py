"""Train the classifier into model/weights.pt before packing: `python train.py`, then
`axon deploy . --api pytorch-gpu`. Needs torch (any build: CPU is enough, it takes a few seconds).

The data is synthetic and fixed by a seed (no download): three Gaussian clusters around the mean iris
measurements of each species, so the smoke test's setosa flower is classified as setosa.
"""

from pathlib import Path

import torch
from network import CLASSES, Classifier
from torch import nn

# Mean sepal length, sepal width, petal length, petal width of setosa, versicolor, virginica (Fisher's iris).
CENTRES = torch.tensor([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
SPREAD = torch.tensor([0.35, 0.35, 0.45, 0.2])


def main() -> None:
    torch.manual_seed(0)
    labels = torch.arange(CLASSES).repeat_interleave(500)
    features = CENTRES[labels] + torch.randn(len(labels), 4) * SPREAD
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(features), labels)
        loss.backward()
        optimizer.step()
    accuracy = (model(features).argmax(dim=1) == labels).float().mean().item()
    target = Path(__file__).parent / "model" / "weights.pt"
    target.parent.mkdir(exist_ok=True)
    torch.save(model.state_dict(), target)
    print(f"wrote {target} ({target.stat().st_size} bytes); accuracy on the training set {accuracy:.3f}")


if __name__ == "__main__":
    main()
