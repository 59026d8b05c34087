"""Code in the patterns of Keras 3's developer guides, written for these tests, each run with only
the import line changed (`import pytrainc as keras`). A snippet is one guide code block: it
builds, trains briefly on generated data, and checks what the guide prints or asserts.

test_keras_guides.py runs every snippet; the ones pytrainc cannot run yet are listed there as
strict expected failures, so the count of blocks that run unchanged is measured, not claimed.
"""

PRELUDE = """
import numpy as np
import pytrainc as keras
from pytrainc import layers, ops
rng = np.random.default_rng(0)
"""

SNIPPETS = {
    # -- the Sequential model guide
    "sequential_basic": """
model = keras.Sequential([
    layers.Dense(2, activation="relu", name="layer1"),
    layers.Dense(3, activation="relu", name="layer2"),
    layers.Dense(4, name="layer3"),
])
x = np.ones((3, 3), dtype="float32")
y = model(x)
assert y.shape == (3, 4)
""",
    "sequential_add_pop": """
model = keras.Sequential()
model.add(keras.Input(shape=(4,)))
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))
model.pop()
assert len(model.layers) == 2
model.summary()
""",
    "sequential_feature_extractor": """
initial_model = keras.Sequential([
    keras.Input(shape=(250, 250, 3)),
    layers.Conv2D(32, 5, strides=2, activation="relu"),
    layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
    layers.Conv2D(32, 3, activation="relu"),
])
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
features = feature_extractor(np.ones((1, 250, 250, 3), dtype="float32"))
assert features.shape == (1, 121, 121, 32)
""",
    "sequential_transfer_freeze": """
base = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(16, activation="relu")])
model = keras.Sequential([base, layers.Dense(1)])
base.trainable = False
model.compile(optimizer="adam", loss="mse")
before = base.get_weights()
model.fit(rng.normal(size=(32, 8)), rng.normal(size=(32, 1)), epochs=1, verbose=0)
assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
""",
    # -- the functional API guide
    "functional_mnist": """
inputs = keras.Input(shape=(784,))
x = layers.Dense(64, activation="relu")(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)
x_train = rng.random((256, 784)).astype("float32")
y_train = rng.integers(0, 10, 256)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
test_scores = model.evaluate(x_train, y_train, verbose=2)
assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
""",
    "functional_autoencoder_nested": """
encoder_input = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)
encoder = keras.Model(encoder_input, encoder_output, name="encoder")
x = layers.Reshape((4, 4, 1))(encoder_output)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
assert autoencoder.output_shape == (None, 28, 28, 1)
""",
    "functional_model_as_layer": """
inner = keras.Sequential([keras.Input((8,)), layers.Dense(4, activation="relu")])
inputs = keras.Input((8,))
outputs = layers.Dense(1)(inner(inputs))
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
model.fit(rng.normal(size=(16, 8)), rng.normal(size=(16, 1)), epochs=1, verbose=0)
""",
    "functional_ensemble": """
def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1)(inputs)
    return keras.Model(inputs, outputs)
model1, model2, model3 = get_model(), get_model(), get_model()
inputs = keras.Input(shape=(128,))
outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
assert ensemble_model.predict(np.ones((2, 128)), verbose=0).shape == (2, 1)
""",
    "functional_multi_io_tickets": """
num_tags, num_words, num_departments = 12, 100, 4
title_input = keras.Input(shape=(None,), name="title")
body_input = keras.Input(shape=(None,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.Embedding(num_words, 64)(title_input)
body_features = layers.Embedding(num_words, 64)(body_input)
title_features = layers.LSTM(128)(title_features)
body_features = layers.LSTM(32)(body_features)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, body_input, tags_input], outputs={"priority": priority_pred, "department": department_pred})
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
          "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
    loss_weights={"priority": 1.0, "department": 0.2},
)
title_data = rng.integers(num_words, size=(64, 10))
body_data = rng.integers(num_words, size=(64, 100))
tags_data = rng.integers(2, size=(64, num_tags)).astype("float32")
priority_targets = rng.random((64, 1))
dept_targets = rng.integers(2, size=(64, num_departments))
model.fit({"title": title_data, "body": body_data, "tags": tags_data},
          {"priority": priority_targets, "department": dept_targets}, epochs=1, batch_size=32, verbose=0)
""",
    "functional_multi_input_fixed": """
num_tags, num_words, num_departments = 12, 100, 4
title_input = keras.Input(shape=(10,), name="title")
tags_input = keras.Input(shape=(num_tags,), name="tags")
t = layers.GlobalAveragePooling1D()(layers.Embedding(num_words, 16)(title_input))
x = layers.concatenate([t, tags_input])
priority = layers.Dense(1, name="priority")(x)
department = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, tags_input], outputs=[priority, department])
model.compile(optimizer="rmsprop",
              loss=[keras.losses.BinaryCrossentropy(from_logits=True), keras.losses.CategoricalCrossentropy(from_logits=True)],
              loss_weights=[1.0, 0.2])
title = rng.integers(num_words, size=(64, 10))
tags = rng.integers(2, size=(64, num_tags)).astype("float32")
history = model.fit([title, tags], [rng.random((64, 1)), np.eye(num_departments)[rng.integers(0, 4, 64)]], epochs=1, verbose=0)
assert {"loss", "priority_loss", "department_loss"} <= set(history.history)
preds = model.predict([title, tags], verbose=0)
assert isinstance(preds, list) and preds[0].shape == (64, 1) and preds[1].shape == (64, 4)
""",
    "functional_toy_resnet": """
inputs = keras.Input(shape=(32, 32, 3), name="img")
x = layers.Conv2D(32, 3, activation="relu")(inputs)
x = layers.Conv2D(64, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
block_2_output = layers.add([x, block_1_output])
x = layers.Conv2D(64, 3, activation="relu")(block_2_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(256, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs, outputs, name="toy_resnet")
model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
              loss=keras.losses.CategoricalCrossentropy(from_logits=True), metrics=["acc"])
model.fit(rng.random((16, 32, 32, 3)).astype("float32"), np.eye(10)[rng.integers(0, 10, 16)], batch_size=8, epochs=1, verbose=0)
""",
    "functional_shared_embedding": """
shared_embedding = layers.Embedding(1000, 128)
text_input_a = keras.Input(shape=(None,), dtype="int32")
text_input_b = keras.Input(shape=(None,), dtype="int32")
encoded_input_a = shared_embedding(text_input_a)
encoded_input_b = shared_embedding(text_input_b)
""",
    "functional_custom_layer_in_graph": """
class CustomDense(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)
    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b
    def get_config(self):
        return {"units": self.units}
inputs = keras.Input((4,))
outputs = CustomDense(10)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
""",
    # -- training & evaluation with the built-in methods
    "train_eval_basic": """
def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
model = get_uncompiled_model()
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
x_train, y_train = rng.random((200, 784)).astype("float32"), rng.integers(0, 10, 200)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_train[:50], y_train[:50]), verbose=0)
results = model.evaluate(x_train, y_train, batch_size=128, verbose=0)
predictions = model.predict(x_train[:3], verbose=0)
assert predictions.shape == (3, 10)
""",
    "train_eval_custom_loss_fn": """
def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)
inputs = keras.Input(shape=(784,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Dense(64, activation="relu")(inputs)))
model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
y_train_one_hot = ops.one_hot(rng.integers(0, 10, 64), num_classes=10)
model.fit(rng.random((64, 784)).astype("float32"), y_train_one_hot, batch_size=64, epochs=1, verbose=0)
""",
    "train_eval_loss_subclass": """
class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor
    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
model.fit(rng.random((64, 20)).astype("float32"), np.eye(10)[rng.integers(0, 10, 64)], batch_size=32, epochs=1, verbose=0)
""",
    "train_eval_metric_subclass": """
class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))
    def result(self):
        return self.true_positives
    def reset_state(self):
        self.true_positives.assign(0)
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=[CategoricalTruePositives()])
history = model.fit(rng.random((64, 20)).astype("float32"), rng.integers(0, 10, (64, 1)), batch_size=32, epochs=2, verbose=0)
assert "categorical_true_positives" in history.history
""",
    "train_eval_add_loss_layer": """
class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs
inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = ActivityRegularizationLayer()(x)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64), batch_size=64, epochs=1, verbose=0)
""",
    "train_eval_class_and_sample_weight": """
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
x, y = rng.random((100, 20)).astype("float32"), rng.integers(0, 10, 100)
class_weight = {i: 1.0 for i in range(10)}
class_weight[5] = 2.0
model.fit(x, y, class_weight=class_weight, batch_size=64, epochs=1, verbose=0)
sample_weight = np.ones(shape=(len(y),))
sample_weight[y == 5] = 2.0
model.fit(x, y, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)
""",
    "train_eval_callbacks_schedule": """
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
lr_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=lr_schedule), loss="sparse_categorical_crossentropy")
callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)]
model.fit(rng.random((100, 20)).astype("float32"), rng.integers(0, 10, 100), epochs=20, batch_size=64,
          callbacks=callbacks, validation_split=0.2, verbose=0)
""",
    "train_eval_pydataset": """
class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))
    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
        return batch_x, batch_y
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
train = ExamplePyDataset(rng.random((100, 20)).astype("float32"), rng.integers(0, 10, 100), batch_size=32)
model.fit(train, epochs=2, verbose=0)
""",
    "train_eval_tf_data": """
import pytrainc as tf
inputs = keras.Input(shape=(20,))
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs))
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
train_dataset = tf.data.Dataset.from_tensor_slices((rng.random((100, 20)).astype("float32"), rng.integers(0, 10, 100)))
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)
model.fit(train_dataset, epochs=2, verbose=0)
model.evaluate(train_dataset.take(1), verbose=0)
""",
    "train_eval_multi_output_metrics": """
image_input = keras.Input(shape=(32, 32, 3), name="img_input")
timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(image_input))
x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(timeseries_input))
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)
model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={"score_output": keras.losses.MeanSquaredError(), "class_output": keras.losses.CategoricalCrossentropy()},
    metrics={"score_output": [keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
             "class_output": [keras.metrics.CategoricalAccuracy()]},
    loss_weights={"score_output": 2.0, "class_output": 1.0},
)
img_data = rng.random((32, 32, 32, 3)).astype("float32")
ts_data = rng.random((32, 20, 10)).astype("float32")
model.fit([img_data, ts_data], [rng.random((32, 1)), rng.random((32, 5))], batch_size=16, epochs=1, verbose=0)
""",
    # -- writing your own callbacks
    "custom_callback_hooks": """
seen = []
class CustomCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        seen.append("train_begin")
    def on_epoch_end(self, epoch, logs=None):
        seen.append(("epoch", epoch, sorted(logs)))
    def on_test_begin(self, logs=None):
        seen.append("test_begin")
    def on_train_batch_end(self, batch, logs=None):
        seen.append(("batch", batch))
    def on_predict_end(self, logs=None):
        seen.append("predict_end")
inputs = keras.Input(shape=(784,))
model = keras.Model(inputs, layers.Dense(1)(inputs))
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error", metrics=["mean_absolute_error"])
x, y = rng.random((100, 784)).astype("float32"), rng.random(100)
model.fit(x, y, batch_size=128, epochs=1, verbose=0, validation_split=0.5, callbacks=[CustomCallback()])
model.evaluate(x, y, batch_size=128, verbose=0, callbacks=[CustomCallback()])
model.predict(x, batch_size=128, callbacks=[CustomCallback()], verbose=0)
assert seen[0] == "train_begin" and "test_begin" in seen and seen[-1] == "predict_end"
""",
    "custom_callback_early_stopping_at_min_loss": """
class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None
    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf
    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)
inputs = keras.Input(shape=(784,))
model = keras.Model(inputs, layers.Dense(1)(inputs))
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error")
model.fit(rng.random((100, 784)).astype("float32"), rng.random(100), batch_size=64, epochs=30, verbose=0,
          callbacks=[EarlyStoppingAtMinLoss()])
""",
    "custom_callback_lr_scheduler": """
class CustomLearningRateScheduler(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
    def on_epoch_begin(self, epoch, logs=None):
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
def lr_schedule(epoch, lr):
    return lr * 0.5 if epoch > 1 else lr
inputs = keras.Input(shape=(8,))
model = keras.Model(inputs, layers.Dense(1)(inputs))
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
model.fit(rng.random((32, 8)), rng.random(32), epochs=4, verbose=0, callbacks=[CustomLearningRateScheduler(lr_schedule)])
assert abs(float(model.optimizer.learning_rate) - 0.025) < 1e-7
""",
    # -- making new layers and models via subclassing
    "subclass_linear_layer": """
class Linear(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b
linear_layer = Linear(32)
y = linear_layer(np.ones((2, 2), dtype="float32"))
assert y.shape == (2, 32) and len(linear_layer.weights) == 2
""",
    "subclass_nontrainable_weight": """
class ComputeSum(layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)
    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total
x = np.ones((2, 2), dtype="float32")
my_sum = ComputeSum(2)
y = my_sum(x)
y = my_sum(x)
assert np.allclose(np.asarray(y), [4.0, 4.0])
""",
    "subclass_mlp_block_model": """
class MLPBlock(keras.Model):
    def __init__(self):
        super().__init__()
        self.linear_1 = layers.Dense(32, activation="relu")
        self.linear_2 = layers.Dense(32, activation="relu")
        self.linear_3 = layers.Dense(1)
    def call(self, inputs):
        x = self.linear_1(inputs)
        x = self.linear_2(x)
        return self.linear_3(x)
mlp = MLPBlock()
y = mlp(np.ones(shape=(3, 64), dtype="float32"))
assert len(mlp.weights) == 6
mlp.compile(optimizer="adam", loss="mse")
mlp.fit(rng.random((32, 64)).astype("float32"), rng.random((32, 1)), epochs=1, verbose=0)
""",
    "subclass_dropout_training_arg": """
class CustomDropout(layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)
    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs
inputs = keras.Input((8,))
model = keras.Model(inputs, layers.Dense(1)(CustomDropout(0.5)(layers.Dense(8)(inputs))))
model.compile(optimizer="adam", loss="mse")
model.fit(rng.random((32, 8)), rng.random((32, 1)), epochs=1, verbose=0)
""",
    # -- save and load
    "save_load_keras_format": """
import os, tempfile
def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model
model = get_model()
test_input = rng.random((128, 32))
test_target = rng.random((128, 1))
model.fit(test_input, test_target, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "my_model.keras")
model.save(path)
reconstructed_model = keras.models.load_model(path)
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0))
""",
    "save_load_registered_custom_layer": """
import os, tempfile
@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
    def call(self, x):
        return x * self.factor
    def get_config(self):
        return {"factor": self.factor, **super().get_config()}
inputs = keras.Input((4,))
model = keras.Model(inputs, CustomLayer(0.5)(layers.Dense(3)(inputs)))
path = os.path.join(tempfile.mkdtemp(), "custom.keras")
model.save(path)
reloaded = keras.models.load_model(path)
x = rng.random((2, 4)).astype("float32")
np.testing.assert_allclose(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))
""",
    "save_load_weights_only": """
import os, tempfile
def make():
    return keras.Sequential([keras.Input((5,)), layers.Dense(3, activation="relu"), layers.Dense(1)])
model = make()
path = os.path.join(tempfile.mkdtemp(), "ckpt.weights.h5")
model.save_weights(path)
other = make()
other.load_weights(path)
x = rng.random((4, 5)).astype("float32")
np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))
""",
    # -- working with RNNs
    "rnn_lstm_classifier": """
model = keras.Sequential()
model.add(keras.Input(shape=(None,), dtype="int32"))
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.LSTM(128))
model.add(layers.Dense(10))
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(rng.integers(0, 1000, (16, 12)), rng.integers(0, 10, 16), epochs=1, verbose=0)
""",
    "rnn_gru_return_sequences_stack": """
model = keras.Sequential([
    keras.Input(shape=(20,), dtype="int32"),
    layers.Embedding(input_dim=1000, output_dim=64),
    layers.GRU(64, return_sequences=True),
    layers.SimpleRNN(32),
    layers.Dense(10),
])
assert model.output_shape == (None, 10)
""",
    "rnn_bidirectional": """
model = keras.Sequential()
model.add(keras.Input(shape=(5, 10)))
model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True)))
model.add(layers.Bidirectional(layers.LSTM(32)))
model.add(layers.Dense(10))
assert model.output_shape == (None, 10)
model.compile(optimizer="adam", loss="mse")
model.fit(rng.random((8, 5, 10)).astype("float32"), rng.random((8, 10)), epochs=1, verbose=0)
""",
    "rnn_masking": """
raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
model = keras.Sequential([keras.Input((6,)), embedding, layers.LSTM(8), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(padded_inputs, np.zeros((3, 1)), epochs=1, verbose=0)
""",
    "rnn_return_state": """
encoder_input = keras.Input(shape=(None,))
encoder_embedded = layers.Embedding(input_dim=1000, output_dim=64)(encoder_input)
output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
encoder_state = [state_h, state_c]
""",
    # -- transformer block, preprocessing
    "transformer_block": """
class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)
    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)
inputs = layers.Input(shape=(20,))
x = layers.Embedding(1000, 32)(inputs)
x = TransformerBlock(32, 2, 32)(x)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(rng.integers(0, 1000, (16, 20)), rng.integers(0, 2, 16), batch_size=8, epochs=1, verbose=0)
""",
    "preprocessing_normalization_adapt": """
data = rng.normal(5.0, 3.0, (100, 3)).astype("float32")
normalizer = layers.Normalization()
normalizer.adapt(data)
model = keras.Sequential([keras.Input((3,)), normalizer, layers.Dense(1)])
out = normalizer(data)
assert abs(float(np.mean(out))) < 1e-4 and abs(float(np.std(out)) - 1) < 1e-3
""",
    "preprocessing_rescaling_cnn": """
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Rescaling(1.0 / 255),
    layers.Conv2D(8, 3, activation="relu"),
    layers.MaxPooling2D(),
    layers.Flatten(),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(rng.integers(0, 256, (16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16), epochs=1, verbose=0)
""",
    "losses_and_optimizers_breadth": """
model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adamax(), loss=keras.losses.Huber(delta=1.0), metrics=[keras.metrics.R2Score()])
model.fit(rng.random((32, 4)), rng.random((32, 1)), epochs=1, verbose=0)
""",
    # -- the understanding-masking-and-padding guide
    "masking_pass_through_custom_layer": """
class MyActivation(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return keras.ops.relu(inputs)

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
x = MyActivation()(x)
outputs = layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
y = model(rng.integers(0, 5000, size=(32, 100)))
assert y.shape == (32, 32)
""",
    "masking_mask_consumer": """
class TemporalSoftmax(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
        inputs_exp = keras.ops.exp(inputs) * broadcast_float_mask
        inputs_sum = keras.ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
        return inputs_exp / inputs_sum

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = layers.Dense(1)(x)
outputs = TemporalSoftmax()(x)
model = keras.Model(inputs, outputs)
y = model(rng.integers(0, 10, size=(32, 100)))
assert y.shape == (32, 100, 1)
""",
    "masking_keras_mask_eagerly": """
raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)
print(masked_output._keras_mask)

masking_layer = layers.Masking()
# Simulate the embedding lookup by expanding the 2D input to 3D,
# with embedding dimension of 10.
unmasked_embedding = keras.ops.cast(
    keras.ops.tile(keras.ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), dtype="float32"
)
masked_embedding = masking_layer(unmasked_embedding)
print(masked_embedding._keras_mask)
""",
    "masking_mask_passed_directly": """
class MyLayer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        # Note that you could also prepare a `mask` tensor manually.
        # It only needs to be a boolean tensor
        # with the right shape, i.e. (batch_size, timesteps).
        mask = self.embedding.compute_mask(inputs)
        output = self.lstm(x, mask=mask)  # The layer will ignore the masked values
        return output


layer = MyLayer()
x = np.random.random((32, 10)) * 100
x = x.astype("int32")
y = layer(x)
assert y.shape == (32, 32)
""",
}
