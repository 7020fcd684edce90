"""Train the model into model.pkl before packing: `python train.py`, then `axon deploy . --api iris-sklearn`."""

import pickle
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

X, y = load_iris(return_X_y=True)
model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
(Path(__file__).parent / "model.pkl").write_bytes(pickle.dumps(model))
print(f"trained: accuracy on the training set {model.score(X, y):.3f}")
