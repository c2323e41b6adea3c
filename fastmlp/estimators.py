"""scikit-learn estimators: ``MLPRegressor`` and ``MLPClassifier``, drop-in replacements for scikit-learn's.

Same constructor parameters, defaults and meanings as ``sklearn.neural_network.MLPRegressor``/``MLPClassifier``;
the fitted attributes have the same names. Training runs on :class:`fastmlp.Model`, so each epoch is one compiled
call. scikit-learn itself is needed (``pip install "fastmlp[sklearn]"``); ``import fastmlp`` works without it.

Differences from scikit-learn, all deliberate:

- ``partial_fit`` exists only for the stochastic solvers, for both estimators (scikit-learn's regressor offers it
  for "lbfgs" too, then fails).
- The early-stopping validation score is not weighted by ``sample_weight``.
- ``loss_`` and ``loss_curve_`` of a multi-output regressor are ``1/2 * sum over outputs`` of the squared error
  (the loss whose gradient both libraries follow); scikit-learn reports the mean over outputs instead.
- Extras: ``dtype`` (None follows ``X``: float32 stays float32, anything else becomes float64, as scikit-learn
  does), ``activation`` may list one activation per hidden layer, "leaky_relu" is accepted, and ``save``/``load``
  keep a fitted estimator in a model file.

Everything else follows scikit-learn, to the draws from ``random_state``: the initial weights, the epoch orders
(the draws ``sklearn.utils.shuffle`` makes from the estimator's ``RandomState``), the early-stopping split,
scikit-learn's Adam (the bias corrections folded into the step size, unlike :class:`fastmlp.Adam`) and its
stopping rule, so that float64 fits reproduce scikit-learn's weights.
"""

import inspect
import math
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _validation as v
from ._engine import Engine
from ._estimator_files import EstimatorFileMixin
from ._plateau import Plateau
from ._sklearn_rules import ScikitLearnAdam, ScikitLearnRate, ScikitLearnStop, scikit_learn_order
from .model import Model
from .optimizers import SGD
from .training import TrainingDivergedError

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names, mapped to fastmlp's.
_ACTIVATIONS = {
    "identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
}  # fmt: skip
_OUT_ACTIVATION_NAMES = {"identity": "identity", "sigmoid": "logistic", "softmax": "softmax", "exp": "exp"}


def _signature_with(init, **extra):
    """``init``'s signature with keyword-only parameters ``extra`` (name=default) added before ``dtype``."""
    signature = inspect.signature(init)
    params = list(signature.parameters.values())
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d) for name, d in extra.items()]
    return signature.replace(parameters=params[:-1] + added + params[-1:])


class _BaseMLP(EstimatorFileMixin, BaseEstimator):
    """What the regressor and the classifier share."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": [None, StrOptions({"float32", "float64"})],
    }

    def __init__(
        self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001, batch_size="auto",
        learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
        random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
        early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
        max_fun=15000, dtype=None,
    ):  # fmt: skip
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    # ----------------------------------------------------------------------------------------------------------
    # Fitted attributes that live in the Model
    @property
    def coefs_(self):
        """list of ndarray: ``coefs_[k]`` of shape (n_in, n_out), views into the model's parameters.

        Assigning a list of arrays of the same shapes copies them into the model. Before the first fit, an
        assigned list is kept as given and becomes the starting point of the next ``fit`` with ``warm_start`` or
        of ``partial_fit``, as in scikit-learn.
        """
        return self._layer_values("coefs_", lambda model: model.weights)

    @coefs_.setter
    def coefs_(self, values):
        self._assign_layers("coefs_", values, lambda model: model.weights)

    @property
    def intercepts_(self):
        """list of ndarray: ``intercepts_[k]`` of shape (n_out,), views into the model's parameters (see coefs_)."""
        return self._layer_values("intercepts_", lambda model: model.biases)

    @intercepts_.setter
    def intercepts_(self, values):
        self._assign_layers("intercepts_", values, lambda model: model.biases)

    def _layer_values(self, name, layers):
        if "model_" in self.__dict__:
            return list(layers(self.model_))
        if name in self._assigned:  # before any fit: the list the user assigned, itself
            return self._assigned[name]
        check_is_fitted(self, "model_")

    def _assign_layers(self, name, values, layers):
        if "model_" not in self.__dict__:
            self._assigned[name] = values
            return
        current = layers(self.model_)
        if not isinstance(values, list | tuple) or len(values) != len(current):
            raise ValueError(f"{name} must be a list of {len(current)} arrays, one per layer.")
        arrays = []
        for k, (value, target) in enumerate(zip(values, current, strict=True)):
            value = v.as_array(value, f"{name}[{k}]")
            if value.shape != target.shape:
                raise ValueError(f"{name}[{k}] must have shape {target.shape}; got {value.shape}.")
            v.assert_all_finite(value, f"{name}[{k}]")
            arrays.append(value)
        for value, target in zip(arrays, current, strict=True):
            target[...] = value

    @property
    def _assigned(self):
        # Layer values assigned before any fit (scikit-learn's tests set coefs_ by hand, then partial_fit).
        return self.__dict__.setdefault("_assigned_layers", {})

    # ----------------------------------------------------------------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(isinstance(s, bool | np.bool_) or not isinstance(s, numbers.Integral) for s in sizes):
            raise TypeError(f"hidden_layer_sizes must be integers (the width of each hidden layer), got {sizes}.")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _hidden_activations(self, n_hidden):
        if isinstance(self.activation, str):
            return [_ACTIVATIONS[self.activation]] * n_hidden
        if len(self.activation) != n_hidden:
            raise ValueError(
                f"activation lists {len(self.activation)} activations for {n_hidden} hidden layers; give one per "
                "hidden layer, or one name for all."
            )
        unknown = [a for a in self.activation if a not in _ACTIVATIONS]
        if unknown:
            raise ValueError(f"activation must name activations among {sorted(_ACTIVATIONS)}; got {unknown}.")
        return [_ACTIVATIONS[a] for a in self.activation]

    def _build_model(self, n_features, n_outputs, output, dtype):
        hidden = self._hidden_sizes()
        sizes = [n_features] + hidden + [n_outputs]
        # The model's own generator is not used: every random draw comes from the estimator's random state.
        activations = self._hidden_activations(len(hidden))
        self._adopt_model(Model(sizes, hidden=activations, output=output, dtype=dtype, seed=0))

    def _adopt_model(self, model):
        """Make ``model`` the estimator's network, with the fitted attributes that describe it."""
        self.model_ = model
        self.n_outputs_ = model.sizes[-1]
        self.n_layers_ = len(model.sizes)
        self.out_activation_ = _OUT_ACTIVATION_NAMES[model.output]

    def _adopt_assigned_layers(self, n_features, n_outputs, output, dtype):
        """Build the model from ``coefs_`` and ``intercepts_`` assigned before any fit."""
        coefs, intercepts = self._assigned.pop("coefs_", None), self._assigned.pop("intercepts_", None)
        if coefs is None or intercepts is None:
            raise ValueError("assign both coefs_ and intercepts_ before continuing a fit from them.")
        self._build_model(n_features, n_outputs, output, dtype)
        self.coefs_, self.intercepts_ = list(coefs), list(intercepts)

    def _initialize(self, n_features, n_outputs, output, dtype):
        self._assigned.clear()
        self._build_model(n_features, n_outputs, output, dtype)
        # scikit-learn's initialisation, in its order of draws from the estimator's random state: per layer, the
        # Glorot-uniform weights then biases, bound sqrt(6 / (fan_in + fan_out)) (sqrt(2 / ...) for the logistic).
        factor = 2.0 if self.activation == "logistic" else 6.0
        for W, b in zip(self.model_.weights, self.model_.biases, strict=True):
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            W[...] = self._random_state.uniform(-bound, bound, W.shape)
            b[...] = self._random_state.uniform(-bound, bound, b.shape)
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        if self.solver in ("sgd", "adam"):
            self.loss_curve_ = []
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _dtype_for(self, X):
        if self.dtype is not None:
            return self.dtype
        return "float32" if X.dtype == np.float32 else "float64"

    def _optimizer(self):
        if self.solver == "adam":
            return ScikitLearnAdam(
                lr=float(self.learning_rate_init), beta1=float(self.beta_1), beta2=float(self.beta_2),
                eps=float(self.epsilon),
            )
        momentum = min(float(self.momentum), np.nextafter(1.0, 0.0))  # scikit-learn allows 1; ours needs < 1
        return SGD(
            lr=float(self.learning_rate_init),
            momentum=momentum,
            nesterov=bool(self.nesterovs_momentum) and momentum > 0,
            schedule=ScikitLearnRate(self.learning_rate, float(self.power_t)),
        )

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (regressor), or class labels of any type or a multilabel indicator matrix (classifier).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        self._validate_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        started = "model_" in self.__dict__ or "coefs_" in self._assigned
        first_pass = not started or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = v.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        self._random_state = check_random_state(self.random_state)
        network = (X.shape[1], Y.shape[1], self._output_activation(Y), self._dtype_for(X))
        if first_pass:
            self._initialize(*network)
        elif "model_" not in self.__dict__:
            self._adopt_assigned_layers(*network)
        if self.model_.sizes[1:-1] != tuple(self._hidden_sizes()):
            raise ValueError(
                "warm_start and partial_fit need the same hidden_layer_sizes as the model being continued."
            )
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, sample_weight, incremental)
        if not v.all_finite_array(self.model_.params):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values and need to "
                "be preprocessed."
            )
        return self

    def _fit_lbfgs(self, X, Y, sample_weight):
        model = self.model_
        sparse = v.is_sparse(X)
        X = v.check_sparse_features(X, X.shape[1], model.dtype) if sparse else v.to_kernel_array(X, model.dtype)
        Y = v.to_kernel_array(Y, model.dtype)
        w = np.ones(X.shape[0], dtype=model.dtype) if sample_weight is None else sample_weight.astype(model.dtype)
        engine = Engine(model.sizes, model.hidden, model.output, model.bias)
        workspace = engine.workspace(X.shape[0], model.dtype)
        grads = np.empty_like(model.params)
        direct = model.dtype == np.float64
        alpha = float(self.alpha)

        def loss_and_gradient(x):
            # A float64 model computes on scipy's vector itself; a float32 one copies it in (one pass, no lists).
            if direct and x.flags.c_contiguous and x.flags.writeable:
                params = x
            else:
                np.copyto(model.params, x, casting="unsafe")
                params = model.params
            if sparse:
                loss = engine.sparse_loss_and_gradient(params, X, Y, w, alpha, workspace, grads)
            else:
                loss = engine.chunked_loss_and_gradient(params, X, Y, w, alpha, workspace, grads)
            return loss, grads.astype(np.float64)  # scipy keeps the returned gradient: hand it a fresh array

        result = scipy.optimize.minimize(
            loss_and_gradient,
            model.params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": int(self.max_fun), "maxiter": int(self.max_iter), "gtol": float(self.tol)},
        )
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
                f"{result.message}. Increase the number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        np.copyto(model.params, result.x, casting="unsafe")
        self.loss_ = float(result.fun)

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        self._start_plateau()
        model = self.model_
        validation = None
        if self.early_stopping:
            # As scikit-learn: a stratified split for binary targets only, on the boolean indicator column.
            stratify = Y.astype(bool) if is_classifier(self) and self.n_outputs_ == 1 else None
            parts = [X, Y] + ([] if sample_weight is None else [sample_weight])
            split = train_test_split(
                *parts, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
            )
            X, X_val, Y, Y_val = split[:4]
            sample_weight = None if sample_weight is None else split[4]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            validation = (X_val, Y_val)
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=4
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        order = scikit_learn_order(self._random_state, n_samples) if self.shuffle else False
        self.n_iter_ = 0
        if incremental:
            if getattr(self, "_optimizer_config", None) is None or model.training_summary is None:
                self._optimizer_config = self._optimizer()
                optimizer = self._optimizer_config
            else:
                optimizer = None  # keep the state of the previous call
            history = model.partial_fit(
                X, Y, batch_size=batch_size, optimizer=optimizer, sample_weight=sample_weight, alpha=float(self.alpha),
                shuffle=order,
            )  # fmt: skip
            # scikit-learn's end-of-epoch rule: the records, the count, and the adaptive rate's division (a single
            # pass ends anyway, so a request to stop changes nothing).
            ScikitLearnStop(self, self._optimizer_config, n_samples)(0, {"loss": history.loss[0], "lr": history.lr[0]})
            return

        optimizer = self._optimizer()
        self._optimizer_config = optimizer
        stopper = ScikitLearnStop(self, optimizer, n_samples)
        try:
            history = model.fit(
                X, Y, epochs=int(self.max_iter), batch_size=batch_size, optimizer=optimizer, shuffle=order,
                validation=validation, sample_weight=sample_weight, alpha=float(self.alpha), callbacks=stopper,
            )  # fmt: skip
        except TrainingDivergedError as exc:
            if not self.early_stopping:
                raise ValueError(
                    "Solver produced non-finite parameter weights. The input data may contain large values and need "
                    "to be preprocessed."
                ) from exc
            # scikit-learn goes on with a nan validation score and ends with the best weights: so does this.
            stopper.record(math.nan, math.nan)
            stopped = False
        else:
            stopped = history.stop_reason is not None
        if self.early_stopping and stopper.best_params is not None:
            np.copyto(model.params, stopper.best_params)
        if not stopped and self.n_iter_ <= self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _start_plateau(self):
        """scikit-learn's no-improvement count, continued, on this fit's ``tol`` and ``n_iter_no_change``.

        It counts on the validation score with early stopping (higher is better: the plateau sees its negative),
        else on the training loss; ``best_loss_``, ``best_validation_score_`` and ``_no_improvement_count`` carry
        it from one fit to the next, as in scikit-learn.
        """
        best = self.best_validation_score_ if self.early_stopping else self.best_loss_
        if best is None or not math.isfinite(best):
            best = math.inf
        elif self.early_stopping:
            best = -best
        # More than n_iter_no_change epochs without improvement stop (or decay): a plateau of patience + 1.
        self._plateau = Plateau(self.n_iter_no_change + 1, self.tol, best=best)
        self._plateau.count = getattr(self, "_no_improvement_count", 0)

    def _update_no_improvement_count(self, loss, val_score):
        """Count one epoch; return True when its validation score is the best so far (early stopping only)."""
        if self.early_stopping:
            improved = self._plateau.update(-val_score)  # higher scores are better
            self.best_validation_score_ = -self._plateau.best
        else:
            improved = False
            self._plateau.update(loss)
            self.best_loss_ = self._plateau.best
        self._no_improvement_count = self._plateau.count
        return improved

    def predict(self, X):
        """Predict with the fitted network: target values (regressor) or class labels (classifier).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_outputs) for several outputs or labels
        """
        out = self._predict_outputs(X)
        return self._decode(out.ravel() if out.shape[1] == 1 else out)

    def _predict_outputs(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return self.model_.predict(X)

    def _check_stochastic(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # Regression targets may have several columns; classifiers declare multilabel targets instead (their
        # classifier tags come from ClassifierMixin, after this). isinstance, as is_classifier reads these tags.
        tags.target_tags.multi_output = not isinstance(self, ClassifierMixin)
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, scikit-learn's ``MLPRegressor`` on fastmlp's compiled kernels.

    Minimises half the squared error (plus ``alpha`` times half the squared weights) with "adam", "sgd" or
    "lbfgs". See :mod:`fastmlp.estimators` for the few differences from scikit-learn.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu"} or list, default="relu"
        Hidden activation, one for all layers or one per hidden layer.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        Weight optimisation.
    alpha : float, default=0.0001
        L2 penalty on the weights.
    batch_size : int or "auto", default="auto"
        Minibatch size of the stochastic solvers; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule of "sgd".
    learning_rate_init : float, default=0.001
        Initial learning rate of "sgd" and "adam".
    power_t : float, default=0.5
        Exponent of "invscaling".
    max_iter : int, default=200
        Epochs of the stochastic solvers; iterations of "lbfgs".
    shuffle : bool, default=True
        Shuffle the samples each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the early-stopping split.
    tol : float, default=1e-4
        Improvement that resets the no-improvement count.
    verbose : bool, default=False
        Print progress.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov momentum for "sgd".
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` and stop when its score stops improving; keep the best weights.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates.
    epsilon : float, default=1e-8
        Adam's epsilon.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping (or an adaptive rate decay).
    max_fun : int, default=15000
        Loss evaluations allowed to "lbfgs".
    loss : {"squared_error", "poisson"}, default="squared_error"
        Half the squared error with an identity output, or half the Poisson deviance with an exp output (a log
        link; the targets must be >= 0).
    dtype : {"float32", "float64"} or None, default=None
        Computation dtype; None follows X (float32 stays float32, everything else is float64).

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, t_, n_iter_, coefs_,
    intercepts_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in scikit-learn. ``model_`` is the underlying :class:`fastmlp.Model`.
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints, "loss": [StrOptions({"squared_error", "poisson"})],
    }  # fmt: skip

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", **params):
        super().__init__(hidden_layer_sizes, activation, **params)
        self.loss = loss

    # scikit-learn reads an estimator's parameters from its __init__ signature: the shared ones and ``loss``.
    __init__.__signature__ = _signature_with(_BaseMLP.__init__, loss="squared_error")

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32), reset=reset,
            accept_sparse=["csr", "csc"],
        )  # fmt: skip
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if self.loss == "poisson" and (Y < 0).any():  # every solver: lbfgs does not pass through Model.fit
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression: y must be >= 0."
            )
        return X, Y

    def _output_activation(self, Y):
        return "exp" if self.loss == "poisson" else "identity"

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X and y, continuing the previous state (stochastic solvers only).

        The parameters are those of :meth:`fit`; returns ``self``.
        """
        if not hasattr(self, "model_"):
            self._validate_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _decode(self, outputs):
        return outputs


def _indicator_columns(binarizer, y, dtype):
    """``binarizer.transform(y)`` as ``dtype``: the 0/1 columns the network is trained on.

    A 1-D binary or multiclass ``y`` whose labels are all among the fitted classes is encoded here directly, the
    same columns in the same order: scikit-learn's transform checks the target's type again, which took about
    0.9 ms of a 150-row fit whose 200 epochs take 20 ms. Anything else (multilabel, a single class) goes through
    the binarizer.
    """
    classes = binarizer.classes_
    if y.ndim == 1 and binarizer.y_type_ in ("binary", "multiclass") and len(classes) >= 2:
        try:
            index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
            found = bool(np.all(classes[index] == y))
        except TypeError:  # labels that do not order: left to the binarizer
            found = False
        if found:
            if binarizer.y_type_ == "binary":
                return (index == 1).astype(dtype).reshape(-1, 1)
            Y = np.zeros((y.shape[0], len(classes)), dtype=dtype)
            Y[np.arange(y.shape[0]), index] = 1
            return Y
    return binarizer.transform(y).astype(dtype)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, scikit-learn's ``MLPClassifier`` on fastmlp's compiled kernels.

    Binary targets train one sigmoid output, multiclass targets a softmax, and multilabel indicator matrices one
    sigmoid per label; labels may be of any type. Parameters and attributes are those of :class:`MLPRegressor`
    (without ``loss``), plus ``classes_``.
    """

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset, accept_sparse=["csr", "csc"]
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                        f"Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = _indicator_columns(self._label_binarizer, y, X.dtype)
        return X, Y

    def _output_activation(self, Y):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X and y, continuing the previous state (stochastic solvers only).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call (for multilabel y, the label indices).

        Returns
        -------
        self
        """
        if _check_partial_fit_first_call(self, classes):
            self._validate_params()
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _decode(self, outputs):
        return self._label_binarizer.inverse_transform(outputs)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        out = self._predict_outputs(X)
        if out.shape[1] == 1:
            p = out.ravel()
            return np.vstack([1 - p, p]).T
        return out

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba` (same argument, same shape; ``-inf`` for a probability of 0)."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
