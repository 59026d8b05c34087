"""A catalogue of bad calls across the public API (issue 13): each must raise
the documented exception with a message that names what was expected and what
was received, and none may crash, hang or blow up memory.

The cases run in child processes, about 20 per child, each child capped at
2 GB of address space (RLIMIT_AS) and 60 s. Inside a child every case runs in
its own try/except and reports the exception's type and message as JSON; a
crash of the child (a segfault, an abort, a MemoryError from the cap) fails
its batch with the child's exit code and the cases it had reached.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs resource.setrlimit")

MEMORY_CAP = 2 * 1024**3
TIMEOUT = 60
MARK = "@@case "
BATCH = 20

# Run in each child before its cases: names the cases use.
PRELUDE = textwrap.dedent('''
    import math
    import numpy as np
    import pytrainc
    from pytrainc import _C, activations, initializers as I, losses, metrics, models, optimizers as O
    from pytrainc import regularizers as R, utils
    from pytrainc import callbacks as C
    from pytrainc import layers as L
    from pytrainc.optimizers import schedules as S

    nan, inf = float("nan"), float("inf")
    NO_KIND = 999  # an id that no registry table (_C.LOSSES, _C.ACTIVATIONS, ...) holds
    X = np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4)
    Y = np.linspace(0, 1, 8, dtype=np.float32).reshape(8, 1)
    Y2 = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    LABELS = np.arange(8) % 3

    def mlp(units=1, activation=None, loss="mse", metrics=None, optimizer="sgd"):
        model = models.Sequential([L.Input((4,)), L.Dense(units, activation=activation)])
        if loss is not None:
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        return model

    def plan_args():
        """A valid Plan(...) argument tuple for a one-dense model, to break one at a time."""
        m = mlp()
        m._ensure_plan(4)
        return m
''')

# The child: reads [(name, code), ...] as JSON on stdin, prints one JSON line per case.
CHILD = textwrap.dedent("""
    import json, resource, sys, traceback
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    MARK = {mark!r}  # progress bars of fit also print to stdout
    cases = json.load(sys.stdin)
    ns = {{}}
    exec(compile({prelude!r}, "<prelude>", "exec"), ns)
    for name, code in cases:
        print(MARK + json.dumps({{"name": name, "started": True}}), flush=True)
        try:
            exec(compile(code, name, "exec"), dict(ns))
        except BaseException as exc:
            result = {{"name": name, "type": type(exc).__name__,
                      "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}}
        else:
            result = {{"name": name, "type": None}}
        print(MARK + json.dumps(result), flush=True)
""").format(cap=MEMORY_CAP, prelude=PRELUDE, mark=MARK)


def case(name, code, exc, match):
    return (name, textwrap.dedent(code).strip(), exc, match)


V = ValueError
T = TypeError

CASES = [
    # -- layers: Dense and the base Layer's arguments
    case("dense_units_zero", "L.Dense(0)", V, r"`units`.*positive integer.*Received: units=0"),
    case("dense_units_negative", "L.Dense(-3)", V, r"positive integer.*Received: units=-3"),
    case("dense_units_float", "L.Dense(2.5)", V, r"positive integer.*Received: units=2\.5"),
    case("dense_units_str", "L.Dense('8')", V, r"positive integer.*Received: units='8'"),
    case("dense_units_bool", "L.Dense(True)", V, r"positive integer.*Received: units=True"),
    case(
        "dense_activation_unknown", "L.Dense(4, activation='nope')", V, r"Unknown activation: 'nope'\. Expected one of"
    ),
    case(
        "dense_activation_callable",
        "L.Dense(4, activation=len)",
        V,
        r"Unknown activation: <built-in function len>\. Expected",
    ),
    case(
        "dense_initializer_unknown",
        "L.Dense(4, kernel_initializer='nope')",
        V,
        r"Unknown initializer: 'nope'\. Expected one of",
    ),
    case(
        "dense_regularizer_unknown",
        "L.Dense(4, kernel_regularizer='nope')",
        V,
        r"Unknown regularizer: 'nope'\. Expected one of",
    ),
    case(
        "dense_input_shape_zero",
        "L.Dense(4, input_shape=(0,))",
        V,
        r"input_shape must be a tuple of positive ints.*Received: \(0,\)",
    ),
    case(
        "dense_input_shape_str",
        "L.Dense(4, input_shape='ab')",
        V,
        r"input_shape must be a tuple of positive ints.*Received: \('a', 'b'\)",
    ),
    case(
        "dense_input_shape_negative_entry",  # None is a variable-length axis, as in Keras
        "L.Dense(4, input_shape=(-1, 3))",
        V,
        r"input_shape must be a tuple of positive ints or None.*Received: \(-1, 3\)",
    ),
    case(
        "dense_input_dim_and_shape",
        "L.Dense(4, input_dim=3, input_shape=(3,))",
        V,
        r"either input_shape or input_dim.*Received: input_shape=\(3,\), input_dim=3",
    ),
    case("dense_unknown_kwarg", "L.Dense(4, foo=1)", T, r"unexpected keyword argument.*\['foo'\]"),
    case("dense_dtype", "L.Dense(4, dtype='float64')", V, r"float32\. Received: dtype='float64'"),
    case("dense_name_int", "L.Dense(4, name=3)", T, r"name must be a string\. Received: 3"),
    case(
        "concatenate_on_a_tensor_and_an_array",
        "a = L.Input((4,)); L.Concatenate()([a, np.ones((2, 4))])",
        T,
        r"must be called on the output of.*Input.*Received: ndarray",
    ),
    case(
        "dense_call_on_strings",
        "L.Dense(3)(np.array([['a', 'b']]))",
        V,
        r"numeric arrays with a batch axis.*Received: dtype=<U1, shape=\(1, 2\)",
    ),
    case(
        "dense_call_on_array_bad_mask",
        "L.Dense(3)(np.ones((2, 4)), mask=np.ones((2, 3)))",
        V,
        r"takes a mask of shape \(2,\), one value per step of its input \(2, 4\)\. Received: mask of shape \(2, 3\)",
    ),
    case("dense_call_on_list", "a = L.Input((4,)); L.Dense(3)([a, a])", V, r"takes one input\. Received: 2 inputs"),
    case(
        "dense_reused_other_shape",
        "d = L.Dense(2); d(L.Input((3,))); d(L.Input((4,)))",
        V,
        r"was built for input shape \(None, 3\)\. Received: \(None, 4\)",
    ),
    case("activation_layer_unknown", "L.Activation('nope')", V, r"Unknown activation: 'nope'\. Expected one of"),
    # -- layers: activation layers' parameters (issue 13.5)
    case(
        "leaky_relu_nan",
        "L.LeakyReLU(negative_slope=nan)",
        V,
        r"`negative_slope` must be a finite number >= 0\. Received: negative_slope=nan",
    ),
    case(
        "leaky_relu_inf",
        "L.LeakyReLU(negative_slope=inf)",
        V,
        r"`negative_slope` must be a finite number >= 0\. Received: negative_slope=inf",
    ),
    case(
        "leaky_relu_negative",
        "L.LeakyReLU(negative_slope=-1)",
        V,
        r"`negative_slope` must be a finite number >= 0\. Received: negative_slope=-1",
    ),
    case(
        "leaky_relu_str",
        "L.LeakyReLU(negative_slope='a')",
        T,
        r"`negative_slope` must be a number\. Received: negative_slope='a'",
    ),
    case(
        "relu_slope_nan",
        "L.ReLU(negative_slope=nan)",
        V,
        r"`negative_slope` must be a finite number >= 0\. Received: negative_slope=nan",
    ),
    case(
        "relu_max_value",
        "L.ReLU(max_value=-6)",
        V,
        r"`max_value` must be a finite number >= 0\. Received: max_value=-6",
    ),
    case(
        "relu_threshold",
        "L.ReLU(threshold=-1.0)",
        V,
        r"`threshold` must be a finite number >= 0\. Received: threshold=-1\.0",
    ),
    case("elu_alpha_inf", "L.ELU(alpha=inf)", V, r"`alpha` must be a finite number\. Received: alpha=inf"),
    case("elu_alpha_nan", "L.ELU(alpha=nan)", V, r"`alpha` must be a finite number\. Received: alpha=nan"),
    case("elu_alpha_str", "L.ELU(alpha='x')", T, r"`alpha` must be a number\. Received: alpha='x'"),
    case("softmax_axis", "L.Softmax(axis=1.5)", V, r"Softmax's axis must be an integer\. Received: axis=1\.5"),
    # -- layers: Dropout, BatchNormalization, ActivityRegularization
    case("dropout_rate_one", "L.Dropout(1.0)", V, r"`rate`.*between 0 and 1 \(1 excluded\)\. Received: rate=1\.0"),
    case("dropout_rate_negative", "L.Dropout(-0.1)", V, r"between 0 and 1.*Received: rate=-0\.1"),
    case("dropout_rate_nan", "L.Dropout(nan)", V, r"between 0 and 1.*Received: rate=nan"),
    case("dropout_rate_inf", "L.Dropout(inf)", V, r"between 0 and 1.*Received: rate=inf"),
    case("dropout_rate_str", "L.Dropout('0.5')", V, r"between 0 and 1.*Received: rate='0\.5'"),
    case("dropout_noise_shape", "L.Dropout(0.5, noise_shape=(1,))", V, r"noise_shape.*Received: noise_shape=\(1,\)"),
    case("dropout_seed_negative", "L.Dropout(0.5, seed=-1)", V, r"seed must be in \[0, 2\*\*64\)\. Received: seed=-1"),
    case("dropout_seed_str", "L.Dropout(0.5, seed='a')", T, r"seed must be an int\. Received: seed='a'"),
    case(
        "batchnorm_momentum_nan",
        "L.BatchNormalization(momentum=nan)",
        V,
        r"`momentum` must be a finite number in \[0, 1\]\. Received: momentum=nan",
    ),
    case(
        "batchnorm_momentum_big",
        "L.BatchNormalization(momentum=1.5)",
        V,
        r"`momentum` must be a finite number in \[0, 1\]\. Received: momentum=1\.5",
    ),
    case(
        "batchnorm_momentum_str",
        "L.BatchNormalization(momentum='x')",
        T,
        r"`momentum` must be a number\. Received: momentum='x'",
    ),
    case(
        "batchnorm_epsilon_zero",
        "L.BatchNormalization(epsilon=0)",
        V,
        r"`epsilon` must be a finite number > 0\. Received: epsilon=0",
    ),
    case(
        "batchnorm_epsilon_inf",
        "L.BatchNormalization(epsilon=inf)",
        V,
        r"`epsilon` must be a finite number > 0\. Received: epsilon=inf",
    ),
    case(
        "batchnorm_epsilon_nan",
        "L.BatchNormalization(epsilon=nan)",
        V,
        r"`epsilon` must be a finite number > 0\. Received: epsilon=nan",
    ),
    case("batchnorm_axis", "L.BatchNormalization(axis='x')", V, r"axis must be one integer axis\. Received: axis='x'"),
    case(
        "activity_reg_l1_nan",
        "L.ActivityRegularization(l1=nan)",
        V,
        r"`l1` must be a finite number >= 0\. Received: l1=nan",
    ),
    case(
        "activity_reg_l2_negative",
        "L.ActivityRegularization(l2=-1)",
        V,
        r"`l2` must be a finite number >= 0\. Received: l2=-1",
    ),
    # -- layers: convolutions, pooling, reshaping, merging, Input
    case(
        "conv_filters_zero", "L.Conv2D(0, 3)", V, r"`filters`\. Expected a strictly positive value\. Received filters=0"
    ),
    case("conv_kernel_zero", "L.Conv2D(8, 0)", V, r"kernel_size.*positive.*Received: .*0"),
    case(
        "conv_kernel_rank",
        "L.Conv2D(8, (3, 3, 3))",
        V,
        r"`kernel_size` must be a positive int or a tuple of 2 positive ints\. Received: kernel_size=\(3, 3, 3\)",
    ),
    case("conv_strides_zero", "L.Conv2D(8, 3, strides=0)", V, r"strides.*positive.*Received: .*0"),
    case("conv_padding", "L.Conv2D(8, 3, padding='full')", V, r"padding.*'valid'.*'same'.*Received: padding='full'"),
    case("conv_dilation_zero", "L.Conv2D(8, 3, dilation_rate=0)", V, r"dilation_rate.*positive.*Received: .*0"),
    case(
        "conv_data_format",
        "L.Conv2D(8, 3, data_format='channels_first')",
        V,
        r"channels_last.*Received: .*'channels_first'",
    ),
    case(
        "conv_input_rank",
        "L.Conv2D(8, 3)(L.Input((4,)))",
        V,
        r"expects inputs of rank 4.*Received: input_shape=\(None, 4\)",
    ),
    case("conv_kernel_too_big", "L.Conv2D(8, 5)(L.Input((3, 3, 1)))", V, r"kernel.*5.*input.*3|input.*3.*kernel.*5"),
    case(
        "conv1d_input_rank",
        "L.Conv1D(8, 3)(L.Input((4, 4, 4)))",
        V,
        r"expects inputs of rank 3.*Received: input_shape=\(None, 4, 4, 4\)",
    ),
    case("pool_size_zero", "L.MaxPooling2D(0)", V, r"pool_size.*positive.*Received: .*0"),
    case(
        "pool_padding",
        "L.MaxPooling2D(2, padding='x')",
        V,
        r"`padding` must be 'valid' or 'same'\. Received: padding='x'",
    ),
    case(
        "pool_input_rank",
        "L.MaxPooling2D(2)(L.Input((4,)))",
        V,
        r"expects inputs of rank 4.*Received: input_shape=\(None, 4\)",
    ),
    case(
        "global_pool_rank",
        "L.GlobalAveragePooling2D()(L.Input((4,)))",
        V,
        r"expects inputs with spatial axes.*Received: input_shape=\(None, 4\)",
    ),
    case("reshape_zero", "L.Reshape((0,))", V, r"positive ints and at most one -1\. Received: \(0,\)"),
    case("reshape_two_unknown", "L.Reshape((-1, -1))", V, r"at most one -1\. Received: \(-1, -1\)"),
    case("reshape_str", "L.Reshape('ab')", T, r"target_shape must be a tuple of ints\. Received: 'ab'"),
    case(
        "reshape_size_mismatch",
        "L.Reshape((3,))(L.Input((4,)))",
        V,
        r"total size of the new shape \(3,\) \(3\) must equal the input's \(4,\) \(4\)",
    ),
    case(
        "flatten_data_format",
        "L.Flatten(data_format='channels_first')",
        V,
        r"channels_last.*Received: 'channels_first'",
    ),
    case(
        "add_shape_mismatch",
        "L.Add()([L.Input((4,)), L.Input((5,))])",
        V,
        r"same shape\. Received: \[\(None, 4\), \(None, 5\)\]",
    ),
    case("add_single_input", "L.Add()(L.Input((4,)))", V, r"takes a list of inputs.*Received: KerasTensor"),
    case("add_too_many", "a = L.Input((4,)); L.Add()([a] * 9)", V, r"takes 2 to 8 inputs\. Received: 9"),
    case("subtract_three", "a = L.Input((4,)); L.Subtract()([a, a, a])", V, r"takes exactly 2 inputs\. Received: 3"),
    case("concat_axis_zero", "L.Concatenate(axis=0)", V, r"not 0, the batch\)\. Received: axis=0"),
    case(
        "concat_axis_range",
        "a = L.Input((4,)); L.Concatenate(axis=5)([a, a])",
        V,
        r"axis 5 is out of range for inputs of rank 2",
    ),
    case(
        "concat_shape_mismatch",
        "L.Concatenate(axis=1)([L.Input((2, 3)), L.Input((2, 4))])",
        V,
        r"match except on the concatenation axis\. Received: \[\(None, 2, 3\), \(None, 2, 4\)\]",
    ),
    case("input_shape_zero", "L.Input(shape=(0,))", V, r"shape must be a tuple of positive ints.*Received: \(0,\)"),
    case("input_shape_negative", "L.Input(shape=(-1, 4))", V, r"positive ints.*Received: \(-1, 4\)"),
    case("input_shape_missing", "L.Input()", V, r"needs a shape.*Received: shape=None"),
    case(
        "input_dtype",
        "L.Input(shape=(4,), dtype='float16')",
        V,
        r"float32 or an integer type.*Received: dtype='float16'",
    ),
    # -- models
    case("model_no_args", "models.Model()", V, r"needs inputs and outputs.*Received: inputs=None, outputs=None"),
    case("model_arrays", "models.Model(inputs=np.zeros(1), outputs=np.zeros(1))", T, r"KerasTensor.*Received: ndarray"),
    case(
        "model_disconnected",
        "a, b = L.Input((4,)), L.Input((4,)); models.Model(a, L.Dense(1)(b))",
        V,
        r"Graph disconnected.*Received inputs=",
    ),
    case(
        "model_repeated_input",
        "a = L.Input((4,)); models.Model([a, a], L.Dense(1)(a))",
        V,
        r"distinct tensors: one is listed more than once",
    ),
    case(
        "model_two_inputs_one_array",
        "a, b = L.Input((4,), name='a'), L.Input((4,), name='b'); models.Model([a, b], L.Add()([a, b])).predict(X)",
        V,
        r"2 inputs \['a', 'b'\]; expected a list of 2 arrays or a dict keyed by input name\. Received: ndarray",
    ),
    case("sequential_not_layer", "models.Sequential([3])", T, r"expects a pytrainc layer\. Received: int"),
    case(
        "sequential_same_layer",
        "d = L.Dense(1); models.Sequential([L.Input((4,)), d, d])",
        V,
        r"is already in this model",
    ),
    case(
        "sequential_input_not_first",
        "models.Sequential([L.Dense(1, input_dim=4), L.InputLayer(shape=(4,))])",
        V,
        r"InputLayer must come first",
    ),
    case("sequential_pop_empty", "models.Sequential().pop()", T, r"There are no layers in the model"),
    case(
        "unbuilt_count_params",
        "models.Sequential([L.Dense(1)]).count_params()",
        V,
        r"count_params: the model has no input shape",
    ),
    case("fit_before_compile", "mlp(loss=None).fit(X, Y)", RuntimeError, r"must call compile\(\) before fit"),
    case(
        "evaluate_before_compile",
        "mlp(loss=None).evaluate(X, Y)",
        RuntimeError,
        r"must call compile\(\) before evaluate",
    ),
    case("model_call_empty", "mlp()(X[:0])", V, r"at least one sample\. Received: dtype=float32, shape=\(0, 4\)"),
    case("save_weights_keras", "mlp().save_weights('w.keras')", V, r"\.keras"),
    # -- compile
    case("compile_no_loss", "mlp(loss=None).compile(optimizer='sgd')", V, r"needs a loss.*Received: loss=None"),
    case("compile_loss_unknown", "mlp(loss='nope')", V, r"Unknown loss: 'nope'\. Expected one of"),
    case("compile_loss_int", "mlp(loss=3)", V, r"Could not interpret loss: 3\. Expected a name"),
    case("compile_optimizer_unknown", "mlp(optimizer='nope')", V, r"Unknown optimizer: 'nope'\. Expected one of"),
    case("compile_optimizer_int", "mlp(optimizer=3)", V, r"Could not interpret optimizer: 3\. Expected"),
    case("compile_metric_unknown", "mlp(metrics=['nope'])", V, r"Unknown metric: 'nope'\. Expected one of"),
    case(
        "compile_metric_flat_list_two_outputs",
        "a = L.Input((4,)); models.Model(a, [L.Dense(1, name='p')(a), L.Dense(1, name='q')(a)]).compile(loss='mse', "
        "metrics=['mae'])",
        V,
        r"several outputs takes a list of lists of metrics.*\['p', 'q'\]",
    ),
    case(
        "compile_metric_loss_name",
        "mlp(metrics=[metrics.MeanSquaredError(name='loss')])",
        V,
        r"not \['loss'\]\. Received: \['loss'\]",
    ),
    case(
        "compile_too_many_metrics",
        "mlp(metrics=[metrics.MeanSquaredError(name=f'm{i}') for i in range(100)])",
        V,
        r"At most \d+ metrics\. Received: 100",
    ),
    case(
        "compile_logits_mse",
        "m = mlp(loss=losses.MeanSquaredError()); m.loss.from_logits = True; m.fit(X, Y, verbose=0)",
        V,
        r"does not take logits",
    ),
    # -- fit: data
    case("fit_x_none", "mlp().fit(None, Y)", V, r"x is required\. Received: None"),
    case("fit_y_none", "mlp().fit(X, None)", V, r"y is required\. Received: None"),
    case("fit_x_ragged", "mlp().fit([[1, 2], [3]], Y)", V, r"x must be a rectangular array\. Received a ragged list"),
    case("fit_x_strings", "mlp().fit(np.array([['a'] * 4] * 8), Y)", T, r"x must hold numbers.*Received: dtype=<U1"),
    case("fit_x_object", "mlp().fit(object(), Y)", T, r"x must be a NumPy array or a list\. Received: object"),
    case("fit_x_scalar", "mlp().fit(np.float32(1), Y)", V, r"x must have a batch axis\. Received a scalar"),
    case(
        "fit_x_empty",
        "mlp().fit(np.zeros((0, 4)), np.zeros((0, 1)))",
        V,
        r"x is empty: expected at least one sample\. Received: shape=\(0, 4\)",
    ),
    case(
        "fit_x_wrong_features",
        "mlp().fit(np.ones((8, 5)), Y)",
        V,
        r"expects input of shape \(None, 4\)\. Received: x\.shape=\(8, 5\)",
    ),
    case("fit_y_wrong_samples", "mlp().fit(X, Y[:5])", V, r"same number of samples\. Received: x has 8, y has 5"),
    case(
        "fit_y_wrong_shape",  # (8, 3) against (None, 1) broadcasts, as in Keras; against (None, 2) it cannot
        "mlp(units=2).fit(X, np.ones((8, 3)))",
        V,
        r"y must have shape \(None, 2\).*Received: y\.shape=\(8, 3\).*do not broadcast",
    ),
    case(
        "fit_x_nan",
        "x = X.copy(); x[0, 0] = nan; mlp().fit(x, Y)",
        V,
        r"x contains 1 NaN or infinite value\(s\); expected finite",
    ),
    case(
        "fit_x_inf",
        "x = X.copy(); x[1, 1] = -inf; mlp().fit(x, Y)",
        V,
        r"x contains 1 NaN or infinite value\(s\); expected finite",
    ),
    case(
        "fit_y_nan",
        "y = Y.copy(); y[2] = nan; mlp().fit(X, y)",
        V,
        r"y contains 1 NaN or infinite value\(s\); expected finite",
    ),
    case(
        "fit_x_float32_overflow",
        "mlp().fit(X.astype(np.float64) * 1e300, Y)",
        V,
        r"x holds values outside the float32 range",
    ),
    case(
        "fit_bce_target_above_one",
        "mlp(activation='sigmoid', loss='binary_crossentropy').fit(X, Y * 2, verbose=0)",
        V,
        r"binary_crossentropy expects targets in \[0, 1\]\. Received: y with values in \[0(\.0)?, 2(\.0)?\]",
    ),
    case(
        "fit_bce_target_negative",
        "mlp(activation='sigmoid', loss='binary_crossentropy').fit(X, Y - 0.5, verbose=0)",
        V,
        r"binary_crossentropy expects targets in \[0, 1\]\. Received: y with values in \[-0\.5, 0\.5\]",
    ),
    case(
        "fit_cce_target_above_one",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2 * 3, verbose=0)",
        V,
        r"categorical_crossentropy expects targets in \[0, 1\]\. Received: y with values in \[0(\.0)?, 3(\.0)?\]",
    ),
    case(
        "fit_cce_logits_target_negative",
        "mlp(2, None, losses.CategoricalCrossentropy(from_logits=True)).fit(X, Y2 - 1, verbose=0)",
        V,
        r"categorical_crossentropy expects targets in \[0, 1\]\. Received: y with values in \[-1(\.0)?, 0(\.0)?\]",
    ),
    case(
        "evaluate_bce_target",
        "mlp(activation='sigmoid', loss='binary_crossentropy').evaluate(X, Y + 1, verbose=0)",
        V,
        r"binary_crossentropy expects targets in \[0, 1\]\. Received: y with values in",
    ),
    case(
        "fit_val_bce_target",
        "mlp(activation='sigmoid', loss='binary_crossentropy').fit(X, Y, validation_data=(X, Y * 5), verbose=0)",
        V,
        r"binary_crossentropy expects targets in \[0, 1\]\. Received: y_val with values in",
    ),
    case(
        "train_on_batch_bce_target",
        "mlp(activation='sigmoid', loss='binary_crossentropy').train_on_batch(X, -Y)",
        V,
        r"binary_crossentropy expects targets in \[0, 1\]\. Received: y with values in",
    ),
    case(
        "fit_sparse_out_of_range",
        "mlp(3, 'softmax', 'sparse_categorical_crossentropy').fit(X, LABELS + 1, verbose=0)",
        V,
        r"expects class ids in \[0, 3\)\. Received values in \[1, 3\]",
    ),
    case(
        "fit_sparse_negative",
        "mlp(3, 'softmax', 'sparse_categorical_crossentropy').fit(X, LABELS - 1, verbose=0)",
        V,
        r"expects class ids in \[0, 3\)\. Received values in \[-1, 1\]",
    ),
    case(
        "fit_sparse_non_integer",
        "mlp(3, 'softmax', 'sparse_categorical_crossentropy').fit(X, LABELS + 0.5, verbose=0)",
        V,
        r"expects integer class ids in y\. Received non-integer values",
    ),
    case(
        "fit_sparse_shape",
        "mlp(3, 'softmax', 'sparse_categorical_crossentropy').fit(X, np.zeros((8, 3)), verbose=0)",
        V,
        r"expects integer labels of shape \(None,\).*Received: y\.shape=\(8, 3\)",
    ),
    case(
        "fit_cce_integer_labels",
        "mlp(3, 'softmax', 'categorical_crossentropy').fit(X, LABELS, verbose=0)",
        V,
        r"y must have shape \(None, 3\).*Received: y\.shape=\(8,\).*sparse_categorical_crossentropy",
    ),
    # -- fit: arguments
    case(
        "fit_batch_size_zero",
        "mlp().fit(X, Y, batch_size=0)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=0",
    ),
    case(
        "fit_batch_size_negative",
        "mlp().fit(X, Y, batch_size=-1)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=-1",
    ),
    case(
        "fit_batch_size_float",
        "mlp().fit(X, Y, batch_size=2.5)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=2\.5",
    ),
    case(
        "fit_batch_size_str",
        "mlp().fit(X, Y, batch_size='32')",
        V,
        r"batch_size must be a positive int\. Received: batch_size='32'",
    ),
    case(
        "fit_batch_size_bool",
        "mlp().fit(X, Y, batch_size=True)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=True",
    ),
    case(
        "fit_epochs_negative",
        "mlp().fit(X, Y, epochs=-1)",
        V,
        r"epochs must be a non-negative int\. Received: epochs=-1",
    ),
    case(
        "fit_epochs_float",
        "mlp().fit(X, Y, epochs=1.5)",
        V,
        r"epochs must be a non-negative int\. Received: epochs=1\.5",
    ),
    case(
        "fit_initial_epoch_negative",
        "mlp().fit(X, Y, initial_epoch=-1)",
        V,
        r"initial_epoch must be a non-negative int\. Received: initial_epoch=-1",
    ),
    case(
        "fit_initial_epoch_str",
        "mlp().fit(X, Y, initial_epoch='0')",
        V,
        r"initial_epoch must be a non-negative int\. Received: initial_epoch='0'",
    ),
    case(
        "fit_verbose_three", "mlp().fit(X, Y, verbose=3)", V, r"verbose must be 'auto', 0, 1 or 2\. Received: verbose=3"
    ),
    case(
        "fit_verbose_str",
        "mlp().fit(X, Y, verbose='loud')",
        V,
        r"verbose must be 'auto', 0, 1 or 2\. Received: verbose='loud'",
    ),
    case(
        "fit_shuffle_str",
        "mlp().fit(X, Y, shuffle='yes', verbose=0)",
        V,
        r"shuffle must be True or False\. Received: shuffle='yes'",
    ),
    case(
        "fit_validation_split_one",
        "mlp().fit(X, Y, validation_split=1.0)",
        V,
        r"validation_split must be in \[0, 1\), a fraction of the samples\. Received: validation_split=1\.0",
    ),
    case(
        "fit_validation_split_negative",
        "mlp().fit(X, Y, validation_split=-0.1)",
        V,
        r"validation_split must be in \[0, 1\), a fraction of the samples\. Received: validation_split=-0\.1",
    ),
    case(
        "fit_validation_split_str",
        "mlp().fit(X, Y, validation_split='abc')",
        V,
        r"validation_split must be in \[0, 1\), a fraction of the samples\. Received: validation_split='abc'",
    ),
    case(
        "fit_validation_split_nan",
        "mlp().fit(X, Y, validation_split=nan)",
        V,
        r"validation_split must be in \[0, 1\), a fraction of the samples\. Received: validation_split=nan",
    ),
    case(
        "fit_validation_split_none_left",
        "mlp().fit(X, Y, validation_split=0.9, verbose=0)",
        V,
        r"validation_split=0\.9 leaves no training or no validation samples out of 8",
    ),
    case(
        "fit_validation_data_short",
        "mlp().fit(X, Y, validation_data=(X,))",
        V,
        r"validation_data must be a tuple \(x_val, y_val\).*Received: tuple of length 1",
    ),
    case(
        "fit_validation_data_int",
        "mlp().fit(X, Y, validation_data=5)",
        V,
        r"validation_data must be a tuple.*Received: int of length \?",
    ),
    case(
        "fit_validation_data_shape",
        "mlp().fit(X, Y, validation_data=(X[:, :3], Y), verbose=0)",
        V,
        r"expects input of shape \(None, 4\)\. Received: x_val\.shape=\(8, 3\)",
    ),
    case(
        "fit_validation_data_samples",
        "mlp().fit(X, Y, validation_data=(X, Y[:3]), verbose=0)",
        V,
        r"x_val and y_val must have the same number of samples\. Received: x_val has 8, y_val has 3",
    ),
    case(
        "fit_sample_weight_shape",
        "mlp().fit(X, Y, sample_weight=np.ones(5))",
        V,
        r"sample_weight must have shape \(8,\).*Received: shape=\(5,\)",
    ),
    case(
        "fit_sample_weight_negative",
        "mlp().fit(X, Y, sample_weight=-np.ones(8))",
        V,
        r"sample_weight must be >= 0\. Received a minimum of -1",
    ),
    case(
        "fit_sample_weight_nan",
        "w = np.ones(8); w[3] = nan; mlp().fit(X, Y, sample_weight=w)",
        V,
        r"sample_weight contains 1 NaN or infinite",
    ),
    case(
        "fit_class_weight_list",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight=[1, 2])",
        T,
        r"class_weight must be a dict \{class index: weight\}\. Received: list",
    ),
    case(
        "fit_class_weight_str_key",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight={'a': 1})",
        V,
        r"class_weight keys must be class indices \(ints\)\. Received: 'a'",
    ),
    case(
        "fit_class_weight_bool_key",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight={True: 1})",
        V,
        r"class_weight keys must be class indices \(ints\)\. Received: True",
    ),
    case(
        "fit_class_weight_negative",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight={0: -1})",
        V,
        r"class_weight values must be finite and >= 0\. Received: 0: -1",
    ),
    case(
        "fit_class_weight_nan",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight={0: nan})",
        V,
        r"class_weight values must be finite and >= 0\. Received: 0: nan",
    ),
    case(
        "fit_class_weight_str_value",
        "mlp(2, 'softmax', 'categorical_crossentropy').fit(X, Y2, class_weight={0: 'x'})",
        V,
        r"class_weight values must be finite and >= 0\. Received: 0: 'x'",
    ),
    case(
        "fit_class_weight_regression",
        "mlp().fit(X, Y * 3 - 1.7, class_weight={0: 1.0, 1: 2.0})",
        V,
        r"class_weight needs class targets.*Received: y with non-integer values",
    ),
    case(
        "fit_class_weight_negative_ids",
        "mlp().fit(X, -np.ones((8, 1)), class_weight={0: 2.0})",
        V,
        r"class_weight needs class targets.*class ids >= 0.*Received: y with values in \[-1(\.0)?, -1(\.0)?\]",
    ),
    case("fit_callbacks_int", "mlp().fit(X, Y, callbacks=[3], verbose=0)", T, r"Callback.*Received.*int"),
    # -- evaluate / predict / batch methods
    case(
        "evaluate_batch_size_zero",
        "mlp().evaluate(X, Y, batch_size=0)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=0",
    ),
    case(
        "evaluate_x_shape",
        "mlp().evaluate(np.ones((8, 2)), Y)",
        V,
        r"expects input of shape \(None, 4\)\. Received: x\.shape=\(8, 2\)",
    ),
    case(
        "evaluate_verbose",
        "mlp().evaluate(X, Y, verbose=9)",
        V,
        r"verbose must be 'auto', 0, 1 or 2\. Received: verbose=9",
    ),
    case(
        "evaluate_sample_weight_shape",
        "mlp().evaluate(X, Y, sample_weight=np.ones((8, 2)))",
        V,
        r"sample_weight must have shape \(8,\).*Received: shape=\(8, 2\)",
    ),
    case(
        "predict_x_shape",
        "mlp().predict(np.ones((3, 7)))",
        V,
        r"expects input of shape \(None, 4\)\. Received: x\.shape=\(3, 7\)",
    ),
    case("predict_x_none", "mlp().predict(None)", V, r"x is required\. Received: None"),
    case(
        "predict_x_nan", "x = X.copy(); x[0, 0] = nan; mlp().predict(x)", V, r"x contains 1 NaN or infinite value\(s\)"
    ),
    case(
        "predict_batch_size",
        "mlp().predict(X, batch_size=-5)",
        V,
        r"batch_size must be a positive int\. Received: batch_size=-5",
    ),
    case(
        "predict_verbose", "mlp().predict(X, verbose=7)", V, r"verbose must be 'auto', 0, 1 or 2\. Received: verbose=7"
    ),
    case(
        "train_on_batch_y_shape",
        "mlp(units=2).train_on_batch(X, np.ones((8, 3)))",  # (8, 2) would broadcast against (None, 1)
        V,
        r"y must have shape \(None, 2\).*Received: y\.shape=\(8, 3\)",
    ),
    case(
        "test_on_batch_samples",
        "mlp().test_on_batch(X, Y[:2])",
        V,
        r"same number of samples\. Received: x has 8, y has 2",
    ),
    # -- weights and state dicts
    case(
        "set_weights_count",
        "mlp().set_weights([np.ones((4, 1))])",
        V,
        r"set_weights expects a list of 2 arrays\. Received: 1",
    ),
    case(
        "set_weights_shape",
        "mlp().set_weights([np.ones((4, 2)), np.ones(1)])",
        V,
        r"has shape \(4, 1\)\. Received: shape=\(4, 2\)",
    ),
    case(
        "set_weights_strings",
        "mlp().set_weights([np.full((4, 1), 'a'), np.ones(1)])",
        T,
        r"must hold numbers\. Received: dtype=<U1",
    ),
    case(
        "layer_set_weights_count", "m = mlp(); m.layers[0].set_weights([])", V, r"expects 2 weight arrays\. Received: 0"
    ),
    case(
        "variable_assign_shape",
        "m = mlp(); m.layers[0].kernel.assign(np.ones(3))",
        V,
        r"has shape \(4, 1\)\. Received: shape=\(3,\)",
    ),
    case(
        "load_state_dict_list",
        "mlp().load_state_dict([1, 2])",
        T,
        r"expects a mapping of name -> array\. Received: list",
    ),
    case(
        "load_state_dict_missing",
        "m = mlp(); sd = m.state_dict(); del sd['0.bias']; m.load_state_dict(sd)",
        V,
        r"Missing key\(s\) in state_dict: '0\.bias'",
    ),
    case(
        "load_state_dict_unexpected",
        "m = mlp(); sd = m.state_dict(); sd['9.kernel'] = np.ones(1); m.load_state_dict(sd)",
        V,
        r"Unexpected key\(s\) in state_dict: '9\.kernel'",
    ),
    case(
        "load_state_dict_shape",
        "m = mlp(); sd = m.state_dict(); sd['0.kernel'] = np.ones((5, 1)); m.load_state_dict(sd)",
        V,
        r"size mismatch for 0\.kernel: the model has shape \(4, 1\), the state dict has shape \(5, 1\)",
    ),
    case(
        "load_state_dict_nan",
        "m = mlp(); sd = m.state_dict(); sd['0.kernel'][0, 0] = nan; m.load_state_dict(sd)",
        V,
        r"0\.kernel holds 1 NaN or infinite value\(s\); expected finite numbers",
    ),
    case(
        "load_state_dict_inf",
        "m = mlp(); sd = m.state_dict(); sd['0.bias'][:] = inf; m.load_state_dict(sd)",
        V,
        r"0\.bias holds 1 NaN or infinite value\(s\); expected finite numbers",
    ),
    case(
        "load_state_dict_float32_overflow",
        "m = mlp(); sd = m.state_dict(); sd['0.bias'] = np.array([1e300]); m.load_state_dict(sd)",
        V,
        r"0\.bias holds 1 value\(s\) outside the float32 range",
    ),
    case(
        "load_state_dict_strings",
        "m = mlp(); sd = m.state_dict(); sd['0.bias'] = np.array(['a']); m.load_state_dict(sd)",
        V,
        r"0\.bias has dtype <U1; expected numbers",
    ),
    # -- optimizers
    case(
        "sgd_lr_negative",
        "O.SGD(learning_rate=-1)",
        V,
        r"`learning_rate` must be a finite number >= 0\. Received: learning_rate=-1",
    ),
    case(
        "sgd_lr_nan",
        "O.SGD(learning_rate=nan)",
        V,
        r"`learning_rate` must be a finite number >= 0\. Received: learning_rate=nan",
    ),
    case(
        "sgd_lr_str",
        "O.SGD(learning_rate='fast')",
        T,
        r"`learning_rate` should be a float, an instance of LearningRateSchedule or a callable\. "
        r"Received: learning_rate='fast'",
    ),
    case(
        "sgd_momentum",
        "O.SGD(momentum=1.5)",
        V,
        r"`momentum` must be a finite number in \[0, 1\]\. Received: momentum=1\.5",
    ),
    case(
        "adam_beta_1", "O.Adam(beta_1=1.0)", V, r"`beta_1` must be a finite number in \[0, 1\)\. Received: beta_1=1\.0"
    ),
    case(
        "adam_beta_2",
        "O.Adam(beta_2=-0.1)",
        V,
        r"`beta_2` must be a finite number in \[0, 1\)\. Received: beta_2=-0\.1",
    ),
    case("adam_epsilon", "O.Adam(epsilon=-1)", V, r"`epsilon` must be a finite number >= 0\. Received: epsilon=-1"),
    case(
        "adam_clipnorm_zero", "O.Adam(clipnorm=0)", V, r"`clipnorm` must be a finite number > 0\. Received: clipnorm=0"
    ),
    case("adam_two_clips", "O.Adam(clipnorm=1, clipvalue=1)", V, r"Only one of.*Received: clipnorm=1, clipvalue=1"),
    case(
        "adam_weight_decay_str",
        "O.Adam(weight_decay='x')",
        T,
        r"`weight_decay` must be a number or None\. Received: weight_decay='x'",
    ),
    case(
        "adamw_no_decay",
        "O.AdamW(weight_decay=None)",
        V,
        r"`weight_decay` must be a float\. Received: weight_decay=None",
    ),
    case("rmsprop_rho", "O.RMSprop(rho=1)", V, r"`rho` must be a finite number in \[0, 1\)\. Received: rho=1"),
    case(
        "adagrad_initial",
        "O.Adagrad(initial_accumulator_value=-1)",
        V,
        r"`initial_accumulator_value` must be a finite number >= 0\. Received",
    ),
    case(
        "nadam_beta_inf",
        "O.Nadam(beta_1=inf)",
        V,
        r"`beta_1` must be a finite number in \[0, 1\)\. Received: beta_1=inf",
    ),
    case("optimizers_get_unknown", "O.get('nope')", V, r"Unknown optimizer: 'nope'\. Expected one of"),
    case(
        "optimizers_get_class", "O.get({'class_name': 'Nope'})", V, r"Unknown optimizer class: 'Nope'\. Expected one of"
    ),
    case(
        "optimizer_lr_setter",
        "o = O.SGD(); o.learning_rate = -1",
        V,
        r"`learning_rate` must be a finite number >= 0\. Received: learning_rate=-1",
    ),
    case(
        "optimizer_schedule_lr_setter",
        "o = O.SGD(S.ExponentialDecay(0.1, 10, 0.9)); o.learning_rate = 0.1",
        T,
        r"learning rate is not settable",
    ),
    # -- schedules
    case(
        "schedule_decay_steps_zero",
        "S.ExponentialDecay(0.1, 0, 0.9)",
        V,
        r"`decay_steps` must be > 0\. Received: decay_steps=0",
    ),
    case(
        "schedule_lr_nan",
        "S.ExponentialDecay(nan, 10, 0.9)",
        V,
        r"`initial_learning_rate` must be finite\. Received: initial_learning_rate=nan",
    ),
    case(
        "schedule_rate_negative",
        "S.ExponentialDecay(0.1, 10, -0.9)",
        V,
        r"`decay_rate` must be >= 0\. Received: decay_rate=-0\.9",
    ),
    case(
        "schedule_lr_str",
        "S.ExponentialDecay('a', 10, 0.9)",
        T,
        r"`initial_learning_rate` must be a number\. Received: initial_learning_rate='a'",
    ),
    case(
        "piecewise_lengths",
        "S.PiecewiseConstantDecay([1, 2], [0.1])",
        V,
        r"1 less than the length of values\. Received: boundaries=\[1\.0, 2\.0\], values=\[0\.1\]",
    ),
    case(
        "piecewise_order",
        "S.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3])",
        V,
        r"strictly increasing\. Received: \[2\.0, 1\.0\]",
    ),
    case(
        "polynomial_decay_steps",
        "S.PolynomialDecay(0.1, -1)",
        V,
        r"`decay_steps` must be > 0\. Received: decay_steps=-1",
    ),
    case("cosine_decay_steps", "S.CosineDecay(0.1, 0)", V, r"`decay_steps` must be > 0\. Received: decay_steps=0"),
    case(
        "cosine_warmup_negative",
        "S.CosineDecay(0.1, 10, warmup_steps=-1)",
        V,
        r"`warmup_steps` must be >= 0\. Received: warmup_steps=-1",
    ),
    case("restarts_t_mul", "S.CosineDecayRestarts(0.1, 10, t_mul=0)", V, r"`t_mul` must be > 0\. Received: t_mul=0"),
    case(
        "schedule_deserialize",
        "S.deserialize({'class_name': 'Nope'})",
        V,
        r"Unknown learning rate schedule: 'Nope'\. Known:",
    ),
    # -- losses, metrics, activations
    case("losses_get_unknown", "losses.get('nope')", V, r"Unknown loss: 'nope'\. Expected one of"),
    case("top_k_zero", "metrics.TopKCategoricalAccuracy(k=0)", V, r"k must be a positive int\. Received: k=0"),
    case(
        "precision_threshold",
        "metrics.Precision(thresholds=1.5)",
        V,
        r"Threshold values must be in \[0, 1\]\. Received: \[1\.5\]",
    ),
    case(
        "precision_threshold_nan",
        "metrics.Precision(thresholds=nan)",
        V,
        r"Threshold values must be in \[0, 1\]\. Received: \[nan\]",
    ),
    case(
        "precision_threshold_list",
        "metrics.Precision(thresholds=[0.1, 1.2])",
        V,
        r"Threshold values must be in \[0, 1\]\. Received: \[1\.2\]",
    ),
    case(
        "precision_top_k", "metrics.Precision(top_k=0)", V, r"top_k must be a positive int or None\. Received: top_k=0"
    ),
    case("f1_average", "metrics.F1Score(average='avg')", V, r"Invalid `average`.*Received: average='avg'"),
    case(
        "auc_thresholds", "metrics.AUC(num_thresholds=1)", V, r"`num_thresholds` must be an integer > 1\. Received: 1"
    ),
    case(
        "auc_curve", "metrics.AUC(curve='XY')", V, r'Invalid AUC curve value: "XY"\. Expected values are \["PR", "ROC"'
    ),
    case(
        "binary_accuracy_threshold_nan",
        "metrics.BinaryAccuracy(threshold=nan)",
        V,
        r"`threshold` must be a finite number in \[0, 1\]\. Received: threshold=nan",
    ),
    case("metrics_get_int", "metrics.get(3)", V, r"Could not interpret metric: 3\. Expected"),
    case("activations_get_unknown", "activations.get('nope')", V, r"Unknown activation: 'nope'\. Expected one of"),
    # -- initializers and regularizers
    case("initializers_get_unknown", "I.get('nope')", V, r"Unknown initializer: 'nope'\. Expected one of"),
    case(
        "initializers_function_wrong_shape",
        "I.get(lambda shape, dtype=None: 0)((2, 3))",
        V,
        r"Initializer function '<lambda>' must return an array of shape \(2, 3\)\. Received: shape \(\)",
    ),
    case(
        "initializers_function_nan",
        "I.get(lambda shape, dtype=None: np.full(shape, np.nan))((2,))",
        V,
        r"Initializer function '<lambda>' must return finite numbers",
    ),
    case(
        "identity_initializer_rank",
        "I.Identity()((2, 2, 2))",
        V,
        r"only be used for 2D matrices\. Received: shape=\(2, 2, 2\) of rank 3",
    ),
    case(
        "initializers_get_class",
        "I.get({'class_name': 'Nope'})",
        V,
        r"Unknown initializer class: 'Nope'\. Expected one of",
    ),
    case(
        "variance_scaling_zero",
        "I.VarianceScaling(scale=0)",
        V,
        r"`scale` must be a finite number > 0\. Received: scale=0",
    ),
    case(
        "variance_scaling_nan",
        "I.VarianceScaling(scale=nan)",
        V,
        r"`scale` must be a finite number > 0\. Received: scale=nan",
    ),
    case(
        "variance_scaling_mode",
        "I.VarianceScaling(mode='x')",
        V,
        r"mode must be 'fan_in', 'fan_out' or 'fan_avg'\. Received: mode='x'",
    ),
    case(
        "variance_scaling_distribution",
        "I.VarianceScaling(distribution='x')",
        V,
        r"distribution must be.*Received: distribution='x'",
    ),
    case("random_uniform_seed", "I.RandomUniform(seed=-1)", V, r"seed must be in \[0, 2\*\*64\)\. Received: seed=-1"),
    case(
        "random_uniform_inf",
        "I.RandomUniform(maxval=inf)",
        V,
        r"`maxval` must be a finite number\. Received: maxval=inf",
    ),
    case(
        "random_normal_stddev_nan",
        "I.RandomNormal(stddev=nan)",
        V,
        r"`stddev` must be a finite number >= 0\. Received: stddev=nan",
    ),
    case(
        "random_normal_stddev_negative",
        "I.TruncatedNormal(stddev=-1)",
        V,
        r"`stddev` must be a finite number >= 0\. Received: stddev=-1",
    ),
    case("constant_nan", "I.Constant(nan)", V, r"`value` must be a finite number\. Received: value=nan"),
    case("constant_str", "I.Constant('a')", T, r"`value` must be a number\. Received: value='a'"),
    case("orthogonal_gain_inf", "I.Orthogonal(gain=inf)", V, r"`gain` must be a finite number\. Received: gain=inf"),
    case("orthogonal_vector", "I.Orthogonal()((4,))", V, r"at least two-dimensional\. Received: shape=\(4,\)"),
    case("regularizer_l1_inf", "R.L1(inf)", V, r"`l1` must be a finite number >= 0\. Received: l1=inf"),
    case("regularizer_l2_nan", "R.L2(nan)", V, r"`l2` must be a finite number >= 0\. Received: l2=nan"),
    case("regularizer_l1l2_negative", "R.L1L2(l1=-0.1)", V, r"`l1` must be a finite number >= 0\. Received: l1=-0\.1"),
    case("regularizer_l2_str", "R.L2('abc')", T, r"`l2` must be a number\. Received: l2='abc'"),
    case("regularizers_get_unknown", "R.get('nope')", V, r"Unknown regularizer: 'nope'\. Expected one of"),
    case("regularizers_get_float", "R.get(3.0)", V, r"Could not interpret regularizer: 3\.0\. Expected"),
    # -- callbacks
    case("backup_empty_dir", "C.BackupAndRestore('')", V, r"Empty `backup_dir`"),
    case(
        "backup_save_freq",
        "C.BackupAndRestore('d', save_freq=0)",
        V,
        r"Expected 'epoch' or a positive integer\. Received: save_freq=0",
    ),
    case(
        "early_stopping_patience",
        "C.EarlyStopping(patience=-1)",
        V,
        r"`patience` to be a non-negative integer\. Received: patience=-1",
    ),
    case(
        "early_stopping_monitor",
        "C.EarlyStopping(monitor=3)",
        T,
        r"`monitor` to be the name of a logged metric.*Received: monitor=3 of type int",
    ),
    case(
        "early_stopping_min_delta",
        "C.EarlyStopping(min_delta='x')",
        T,
        r"`min_delta` to be a real number\. Received: min_delta='x'",
    ),
    case(
        "early_stopping_baseline",
        "C.EarlyStopping(baseline='x')",
        T,
        r"`baseline` to be a real number\. Received: baseline='x'",
    ),
    case(
        "checkpoint_empty_path",
        "C.ModelCheckpoint('')",
        T,
        r"`filepath` to be a non-empty str or os\.PathLike\. Received: filepath=''",
    ),
    case(
        "checkpoint_save_freq",
        "C.ModelCheckpoint('a.ptc', save_freq=0)",
        V,
        r"Unrecognized save_freq: 0\. Expected save_freq are 'epoch' or a positive integer",
    ),
    case(
        "checkpoint_monitor_unknown",
        "mlp().fit(X, Y, verbose=0, callbacks=[C.ModelCheckpoint('c.ptc', monitor='val_nope', save_best_only=True)])",
        V,
        r"cannot tell whether monitor='val_nope' should be minimized or maximized",
    ),
    case("reduce_lr_factor", "C.ReduceLROnPlateau(factor=1.0)", V, r"factor >= 1\.0\. Received factor=1\.0"),
    case(
        "reduce_lr_patience",
        "C.ReduceLROnPlateau(patience=-2)",
        V,
        r"`patience` to be a non-negative integer\. Received: patience=-2",
    ),
    case(
        "lr_scheduler_not_callable",
        "C.LearningRateScheduler(3)",
        T,
        r"`schedule` to be a function.*Received: schedule=3 of type int",
    ),
    case(
        "lr_scheduler_returns_nan",
        "mlp().fit(X, Y, verbose=0, callbacks=[C.LearningRateScheduler(lambda e, lr: nan)])",
        V,
        r"cannot set the learning rate to nan.*finite number >= 0\. Received: learning_rate=nan",
    ),
    case(
        "lr_scheduler_returns_str",
        "mlp().fit(X, Y, verbose=0, callbacks=[C.LearningRateScheduler(lambda e, lr: 'x')])",
        V,
        r"should be a float\. Got: 'x' of type str",
    ),
    case(
        "batch_size_scheduler_not_callable",
        "C.BatchSizeScheduler(3)",
        T,
        r"`schedule` to be a function.*Received: schedule=3 of type int",
    ),
    case(
        "batch_size_scheduler_zero",
        "mlp().fit(X, Y, verbose=0, callbacks=[C.BatchSizeScheduler(lambda e, b: 0)])",
        V,
        r"`schedule` to return a positive integer\. Received: 0 at epoch 0",
    ),
    case(
        "csv_logger_separator",
        "C.CSVLogger('a.csv', separator='')",
        V,
        r"`separator` to be a one-character string\. Received: separator=''",
    ),
    case(
        "csv_logger_filename",
        "C.CSVLogger(3)",
        T,
        r"`filename` to be a non-empty str or os\.PathLike\. Received: filename=3",
    ),
    case(
        "lambda_callback_not_callable",
        "C.LambdaCallback(on_epoch_end=3)",
        T,
        r"`on_epoch_end` to be a function\. Received: 3 of type int",
    ),
    case(
        "lambda_callback_unknown_hook",
        "C.LambdaCallback(on_foo=print)",
        T,
        r"unexpected hook 'on_foo'\. Expected one of",
    ),
    case(
        "tensorboard_update_freq",
        "C.TensorBoard(update_freq='x')",
        V,
        r"`update_freq` to be 'epoch', 'batch' or a positive integer.*Received: update_freq='x'",
    ),
    case(
        "callback_list_int",
        "C.CallbackList([3])",
        T,
        r"every callback to be an instance of pytrainc\.callbacks\.Callback, or an object with Keras's callback "
        r"methods .*Received: 3 of type int",
    ),
    # -- files (the loaders' own checks are the saving tests'; here, only the path)
    case(
        "load_missing_file",
        "pytrainc.load('missing.ptc')",
        FileNotFoundError,
        r"No such file or directory: 'missing\.ptc'",
    ),
    case(
        "load_model_missing_file",
        "models.load_model('missing.ptc')",
        FileNotFoundError,
        r"No such file or directory: 'missing\.ptc'",
    ),
    case(
        "save_missing_directory",
        "pytrainc.save({'a': np.ones(2)}, '/nonexistent/dir/x.ptc')",
        FileNotFoundError,
        r"No such file or directory.*'/nonexistent/dir/x\.ptc'",
    ),
    case(
        "save_string_array",
        "pytrainc.save({'a': 'str'}, 'x.safetensors')",
        T,
        r"to be an array of float64.*Received: dtype=<U3",
    ),
    # -- utils and process settings
    case("seed_negative", "utils.set_random_seed(-1)", V, r"seed must be in \[0, 2\*\*64\)\. Received: seed=-1"),
    case(
        "seed_huge",
        "utils.set_random_seed(2**64)",
        V,
        r"seed must be in \[0, 2\*\*64\)\. Received: seed=18446744073709551616",
    ),
    case("seed_float", "utils.set_random_seed(1.5)", T, r"seed must be an int\. Received: seed=1\.5"),
    case("to_categorical_float", "utils.to_categorical([0.5])", V, r"integer class ids\. Received non-integer values"),
    case("to_categorical_negative", "utils.to_categorical([-1])", V, r"class ids >= 0\. Received: min=-1"),
    case("to_categorical_too_big", "utils.to_categorical([3], num_classes=2)", V, r"class id 3 with num_classes=2"),
    case(
        "num_threads_zero",
        "pytrainc.set_num_threads(0)",
        V,
        r"num_threads must be an int in \[1, 2147483647\]\. Received: 0",
    ),
    case(
        "num_threads_huge",
        "pytrainc.set_num_threads(2**40)",
        V,
        r"num_threads must be an int in \[1, 2147483647\]\. Received: 1099511627776",
    ),
    case(
        "num_threads_very_negative",
        "pytrainc.set_num_threads(-2**70)",
        V,
        r"num_threads must be an int in \[1, 2147483647\]\. Received: -1180591620717411303424",
    ),
    case("num_threads_float", "pytrainc.set_num_threads(1.5)", T, r"set_num_threads expects an int\. Received: 1\.5"),
    # -- _C entry points, called directly
    case("c_dense_list", "_C.dense_forward([1.0], X, X, 0)", T, r"must be a numpy array\. Received: list"),
    case(
        "c_dense_float64",
        "_C.dense_forward(X.astype(np.float64), np.ones((4, 2), np.float32), None, 0)",
        T,
        r"must have dtype float32\. Received: dtype=float64",
    ),
    case(
        "c_dense_shapes",
        "_C.dense_forward(X, np.ones((3, 2), np.float32), None, 0)",
        V,
        r"weight must be \(IN, OUT\) with IN = 4, inp's columns\. Received: weight \(3, 2\)",
    ),
    case(
        "c_dense_not_contiguous",
        "_C.dense_forward(np.ones((4, 8), np.float32)[:, ::2], np.ones((4, 2), np.float32), None, 0)",
        V,
        r"C-contiguous",
    ),
    case(
        "c_rng_seed_size",
        "_C.rng_seed(np.zeros(3, np.uint64), 1)",
        V,
        r"rng state must hold 4 uint64 words\. Received: 3",
    ),
    case(
        "c_rng_fill_zero_state",
        "_C.rng_fill(np.zeros(4, np.uint64), np.zeros(3, np.float32), 0, 0.0, 1.0)",
        V,
        r"all zeros",
    ),
    case(
        "c_rng_fill_dist",
        "_C.rng_fill(utils.make_rng(1), np.zeros(3, np.float32), 7, 0.0, 1.0)",
        V,
        r"unknown distribution 7",
    ),
    case(
        "c_permutation_negative", "_C.permutation(utils.make_rng(1), -1)", V, r"n must be non-negative\. Received: -1"
    ),
    case("c_act_kind", "_C.act_forward(NO_KIND, X)", V, r"activation kind.*999"),
    case("c_loss_kind", "_C.loss(NO_KIND, X, X)", V, r"unknown loss kind 999: expected one of _C\.LOSSES"),
    case("c_set_num_threads", "_C.set_num_threads(0)", V, r"num_threads must be >= 1 and <= 2147483647\. Received: 0"),
    case(
        "c_schedule_kind",
        "_C.schedule_value(NO_KIND, np.zeros(8), np.zeros(0), np.zeros(1, np.int64))",
        V,
        r"unknown schedule kind 999",
    ),
    case("c_run_op_unknown", "_C.run_op('nope')", (TypeError, ValueError), r"nope|argument"),
    case(
        "c_plan_ops_shape",
        "_C.Plan(np.zeros((1, 3), np.int64), np.zeros((1, 8)), np.zeros(1, np.int64), 0, 0, np.zeros(1, np.float32), np.zeros(1, np.float32), 1, 0)",
        V,
        r"ops must be \(n, \d+\) and fargs \(n, 8\)",
    ),
    case(
        "c_plan_n_trainable",
        """
         from pytrainc._plan import PlanBuilder
         b = PlanBuilder({}); i, o = b.buffer(4), b.buffer(4)
         _C.Plan(*b.tables(), i, o, np.zeros(4, np.float32), np.zeros(4, np.float32), 1, 9)
         """,
        V,
        r"n_trainable must be in \[0, 4\]\. Received: 9",
    ),
    case(
        "c_plan_train_perm",
        "m = plan_args(); m._plan.train(X, Y, np.full(8, 99, np.int64), 4, 0, 2, False)",
        V,
        r"perm\[0\] = 99 is out of range \[0, 8\)",
    ),
    case(
        "c_plan_batch",
        "m = plan_args(); m._plan.predict(X, 0, False)",
        V,
        r"batch_size must be in \[1, \d+\]\. Received: 0",
    ),
    case(
        "c_plan_x_features",
        "m = plan_args(); m._plan.predict(np.ones((2, 3), np.float32), 1, False)",
        V,
        r"x must have 4 features per sample\. Received: 3",
    ),
    case(
        "c_plan_rngs_zero",
        "m = plan_args(); m._plan.set_rngs(np.zeros((1, 4), np.uint64))",
        V,
        r"rng state 0 is all zeros",
    ),
    case(
        "c_optimizer_kind",
        "m = plan_args(); z = np.zeros(0, np.float32); m._plan.set_optimizer(NO_KIND, np.zeros(8), z, z, z, np.zeros(1, np.int64))",
        V,
        r"unknown optimizer kind 999",
    ),
    case(
        "c_optimizer_lr_nan",
        "m = plan_args(); z = np.zeros(0, np.float32); h = np.zeros(8); h[0] = nan; m._plan.set_optimizer(_C.OPTIMIZERS['sgd'], h, z, z, z, np.zeros(1, np.int64))",
        V,
        r"optimizer learning_rate must be finite and >= 0\. Received: learning_rate=nan",
    ),
]


def _batches():
    return [CASES[i : i + BATCH] for i in range(0, len(CASES), BATCH)]


def _run_batch(cases, cwd):
    payload = json.dumps([(name, code) for name, code, _, _ in cases])
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    return subprocess.run(
        [sys.executable, "-c", CHILD], input=payload, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env
    )


def test_catalogue_is_large_and_distinct():
    names = [c[0] for c in CASES]
    codes = [c[1] for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    assert len(set(codes)) == len(codes), "duplicate case code"
    assert len(CASES) >= 150


@pytest.mark.parametrize("index", range(len(_batches())))
def test_bad_calls_raise_clear_errors(index, tmp_path):
    cases = _batches()[index]
    proc = _run_batch(cases, tmp_path)
    results, started = {}, []
    for line in proc.stdout.splitlines():
        if not line.startswith(MARK):
            continue
        row = json.loads(line[len(MARK) :])
        if row.get("started"):
            started.append(row["name"])
        else:
            results[row["name"]] = row
    if proc.returncode != 0:
        pytest.fail(
            f"the child exited with code {proc.returncode} during case {started[-1] if started else None}; "
            f"stderr:\n{proc.stderr[-3000:]}"
        )
    problems = []
    for name, _, exc, pattern in cases:
        row = results.get(name)
        wanted = exc if isinstance(exc, tuple) else (exc,)
        if row is None:
            problems.append(f"{name}: no result")
        elif row["type"] is None:
            problems.append(f"{name}: no exception; expected {'/'.join(e.__name__ for e in wanted)}")
        elif not any(e.__name__ in row["mro"] for e in wanted):
            problems.append(
                f"{name}: {row['type']}: {row['message']!r}; expected {'/'.join(e.__name__ for e in wanted)}"
            )
        elif not re.search(pattern, row["message"]):
            problems.append(f"{name}: {row['type']}: {row['message']!r} does not match {pattern!r}")
    assert not problems, "\n".join(problems)
