"""Ray Tune over a two-node loopback cluster: the driver of a search is killed with SIGKILL in
the middle of its trials, `Tuner.restore` resumes them from their `BackupAndRestore`
checkpoints, and every trial ends with weights bitwise equal to an uninterrupted fit.

Everything runs in subprocesses (cwd=tmp_path): one holds the cluster
(`ray.cluster_utils.Cluster`, a head and one more node with one CPU each, both on 127.0.0.1,
with their own temp dir so no other Ray on the machine is disturbed), two are drivers (the
killed one and the restoring one), one computes the reference without Ray.

Why RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: `ray.init(address=...)` rewrites a loopback address
to the machine's network address (`resolve_ip_for_localhost`), while the GCS of a head started
with node_ip_address=127.0.0.1 listens on loopback only, so the driver waited for GCS forever
(\"Failed to connect to GCS at address 192.0.2.2:...\"). With that variable at 0, Ray takes
127.0.0.1 as the node's address everywhere, as it does on macOS.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

pytest.importorskip("ray")

pytestmark = pytest.mark.slow
EPOCHS = 10
LRS = [1e-3, 1e-2]

CLUSTER = """
import sys
from ray.cluster_utils import Cluster

args = dict(num_cpus=1, object_store_memory=80 * 1024 * 1024, node_ip_address="127.0.0.1")
cluster = Cluster(initialize_head=True, head_node_args=dict(args, include_dashboard=False, temp_dir=sys.argv[1]))
cluster.add_node(**args)
cluster.wait_for_nodes()
print(cluster.address, flush=True)
sys.stdin.read()  # until the test closes our stdin
cluster.shutdown()
"""

DRIVER = """
import os, sys, tempfile, time
import numpy as np

EPOCHS = int(os.environ["PTC_EPOCHS"])


def train(lr, backup_dir, out_dir, extra_callbacks=()):
    import pytrainc
    from pytrainc.callbacks import BackupAndRestore, LambdaCallback
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential
    from pytrainc.optimizers import Adam

    pytrainc.set_num_threads(1)
    r = np.random.default_rng(0)
    x = r.random((200, 8)).astype(np.float32)
    y = (x[:, :4].sum(1, keepdims=True) > 2).astype(np.float32)
    pytrainc.utils.set_random_seed(7)
    model = Sequential([Input((8,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(lr), loss="binary_crossentropy", metrics=["accuracy"])

    def progress(epoch, logs):  # a slow epoch, so that the driver dies between two of them
        open(os.path.join(out_dir, f"epoch_{lr}_{epoch}"), "w").close()
        time.sleep(0.5)

    callbacks = [LambdaCallback(on_epoch_end=progress), BackupAndRestore(backup_dir), *extra_callbacks]
    model.fit(x, y, batch_size=20, epochs=EPOCHS, validation_data=(x, y), verbose=0, callbacks=callbacks)
    np.save(os.path.join(out_dir, f"{lr}.npy"), np.concatenate([w.ravel() for w in model.get_weights()]))


def make_trainable(out_dir):
    def trainable(config):
        import ray
        from pytrainc.integrations.ray import ReportCallback, restore_checkpoint

        backup_dir = tempfile.mkdtemp()
        resumed = restore_checkpoint(backup_dir)
        tag = f"{config['lr']}_{os.getpid()}"
        with open(os.path.join(out_dir, f"node_{tag}"), "w") as f:
            f.write(f"{ray.get_runtime_context().get_node_id()} {int(resumed)}")
        train(config["lr"], backup_dir, out_dir, [ReportCallback()])

    return trainable


mode, out_dir = sys.argv[1], sys.argv[2]
if mode == "reference":
    for lr in [float(v) for v in sys.argv[3].split(",")]:
        train(lr, tempfile.mkdtemp(), out_dir)
    sys.exit()

import ray
from ray import tune

address, storage, lrs = sys.argv[3], sys.argv[4], [float(v) for v in sys.argv[5].split(",")]
ray.init(address=address, log_to_driver=False)
trainable = tune.with_resources(make_trainable(out_dir), {"cpu": 1})
if mode == "restore":
    tuner = tune.Tuner.restore(os.path.join(storage, "two_nodes"), trainable=trainable, resume_errored=True)
else:
    tuner = tune.Tuner(
        trainable,
        param_space={"lr": tune.grid_search(lrs)},
        tune_config=tune.TuneConfig(metric="val_loss", mode="min", reuse_actors=True),
        run_config=tune.RunConfig(
            name="two_nodes",
            storage_path=storage,
            verbose=0,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),  # keep every trial checkpoint
        ),
    )
results = tuner.fit()
print(json.dumps({"errors": len(results.errors), "epochs": sorted(r.metrics["epoch"] for r in results)}))
""".replace("import os, sys", "import json, os, sys")


def ray_env():
    env = dict(os.environ)
    env.update(
        RAY_USAGE_STATS_ENABLED="0",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # see the module docstring
        TUNE_GLOBAL_CHECKPOINT_S="1",  # the killed driver's experiment state is at most 1 s old
        PTC_EPOCHS=str(EPOCHS),
    )
    return env


@pytest.fixture
def cluster(tmp_path):
    temp_dir = tempfile.mkdtemp(prefix="ptc-ray-")  # short: Ray's socket paths must fit 107 bytes
    script = tmp_path / "cluster.py"
    script.write_text(CLUSTER)
    proc = subprocess.Popen(
        [sys.executable, str(script), temp_dir],
        cwd=tmp_path,
        env=ray_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "cluster.err").open("w"),
        text=True,
        start_new_session=True,
    )
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("127.0.0.1:"), (tmp_path / "cluster.err").read_text()[-3000:]
        yield address
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session: the cluster's processes only
            proc.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def run_driver(tmp_path, *args, timeout=600):
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), *map(str, args)],
        cwd=tmp_path,
        env=ray_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_a_killed_search_on_two_nodes_resumes_bitwise_with_tuner_restore(cluster, tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    storage, lrs = tmp_path / "ray_results", ",".join(map(str, LRS))
    reference, first, second = (tmp_path / d for d in ("reference", "first", "second"))
    for d in (reference, first, second):
        d.mkdir()
    run_driver(tmp_path, "reference", reference, lrs)

    # The first driver dies (SIGKILL) once both trials are past epoch 4 and have checkpoints.
    driver = subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), "fit", first, cluster, storage, lrs],
        cwd=tmp_path,
        env=ray_env(),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "first.err").open("w"),
    )
    deadline = time.monotonic() + 400
    try:
        while not all((first / f"epoch_{lr}_4").exists() for lr in LRS):
            assert driver.poll() is None, (tmp_path / "first.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the trials did not reach epoch 5"
            time.sleep(0.05)
        time.sleep(1.5)  # one experiment-state save (TUNE_GLOBAL_CHECKPOINT_S=1) after those checkpoints
        # Killed before any trial finished (its actors may run on for a moment, into `first`).
        assert not any((first / f"{lr}.npy").exists() for lr in LRS)
    finally:
        driver.kill()
        driver.wait()
    nodes = [(first / f).read_text().split()[0] for f in os.listdir(first) if f.startswith("node_")]
    assert len(set(nodes)) == 2  # the two trials ran on the two nodes, at once

    out = json.loads(run_driver(tmp_path, "restore", second, cluster, storage, lrs).splitlines()[-1])
    assert out == {"errors": 0, "epochs": [EPOCHS] * len(LRS)}
    starts = {lr: [f for f in os.listdir(second) if f.startswith(f"node_{lr}_")] for lr in LRS}
    for lr in LRS:
        assert len(starts[lr]) == 1 and (second / starts[lr][0]).read_text().endswith(" 1")  # from a checkpoint
        first_epoch = min(int(f.rsplit("_", 1)[1]) for f in os.listdir(second) if f.startswith(f"epoch_{lr}_"))
        assert 3 <= first_epoch < EPOCHS  # resumed near where the kill stopped it, not from scratch
        a, b = np.load(reference / f"{lr}.npy"), np.load(second / f"{lr}.npy")
        assert a.tobytes() == b.tobytes(), lr
