"""Quality guards: the accuracy fastmlp reaches, so that a speed-up that breaks learning shows in asv."""

import numpy as np

import fastmlp as fm


class Spirals:
    """The demo's problem: two interleaved spirals."""

    def setup(self):
        X, self.y = fm.make_spirals(2000, seed=0)
        X_test, self.y_test = fm.make_spirals(1000, seed=1)
        mean, std = X.mean(axis=0), X.std(axis=0)
        self.X, self.X_test = (X - mean) / std, (X_test - mean) / std

    def track_test_accuracy(self):
        model = fm.Model([2, 64, 64, 2], output="softmax", seed=0)
        model.fit(self.X, self.y, epochs=40, batch_size=8, optimizer=fm.SGD(lr=0.1), seed=0)
        return float(np.mean(model.predict(self.X_test).argmax(axis=1) == self.y_test))

    track_test_accuracy.unit = "accuracy"


class Digits:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), when scikit-learn is installed."""

    def setup(self):
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise NotImplementedError("scikit-learn is not installed") from None
        X, y = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(X))
        X, y = X[order] / 16.0, y[order]
        self.X, self.y, self.X_test, self.y_test = X[:1400], y[:1400], X[1400:], y[1400:]

    def track_test_accuracy(self):
        model = fm.Model([64, 128, 10], output="softmax", seed=0)
        model.fit(self.X, self.y, epochs=30, batch_size=32, optimizer=fm.Adam(lr=1e-3), seed=0)
        return float(np.mean(model.predict(self.X_test).argmax(axis=1) == self.y_test))

    track_test_accuracy.unit = "accuracy"
