"""The search's directory: `tuner.json`, and one folder per trial with its record and checkpoint.

    <directory>/<project_name>/tuner.json               what the search is (tuner, objective, seed)
    <directory>/<project_name>/trial_0007/trial.json    the trial's record, written atomically
    <directory>/<project_name>/trial_0007/checkpoint.ptc  the model at the trial's best epoch
    <directory>/<project_name>/trial_0007/backup_0/     BackupAndRestore's file while it runs

A record whose status is COMPLETED or FAILED is final: a restarted search
never runs that trial again. Every file goes through
`pytrainc.saving.atomic_write_bytes`, so a kill -9 leaves the previous
version of a file or the new one, never a part.
"""

import json
import os
import re
import shutil

from pytrainc.saving import atomic_write_bytes

_KIND = "pytrainc.tuning"
_TUNER_FILE = "tuner.json"
_RECORD_FILE = "trial.json"
_TRIAL_DIR = re.compile(r"trial_(\d+)")
FINAL = ("COMPLETED", "FAILED")


def trial_dir(project_dir, trial_id):
    return os.path.join(project_dir, f"trial_{trial_id:04d}")


def checkpoint_path(project_dir, trial_id):
    return os.path.join(trial_dir(project_dir, trial_id), "checkpoint.ptc")


def _write_json(path, obj):
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def _read_json(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path} is damaged ({exc}); it is left as it is. Remove it to run that trial again, "
            "or pass overwrite=True to start the search afresh."
        ) from None


def write_record(directory, record):
    _write_json(os.path.join(directory, _RECORD_FILE), record)


def read_record(directory, missing_ok=False):
    path = os.path.join(directory, _RECORD_FILE)
    if missing_ok and not os.path.exists(path):
        return None
    record = _read_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("trial_id"), int):
        raise ValueError(f"{path} is not a trial record (expected a JSON object with an int 'trial_id')")
    return record


def open_project(directory, project_name, overwrite, config):
    """Creates or reopens the project; returns (its path, its stored config).

    Raises:
        ValueError: if a path is a file, the folder is not a search's (with
            overwrite=True it is never removed then), or it holds a search
            with another tuner or objective.
    """
    if not isinstance(project_name, str) or not project_name or os.sep in project_name or project_name in (".", ".."):
        raise ValueError(f"project_name must be a non-empty folder name. Received: project_name={project_name!r}")
    directory = os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(f"Expected `directory` to be a folder. Received a file: {directory!r}")
    path = os.path.join(directory, project_name)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"Expected {path!r} (directory/project_name) to be a folder. Received a file")
    tuner_file = os.path.join(path, _TUNER_FILE)
    if os.path.isdir(path) and os.listdir(path) and not os.path.isfile(tuner_file):
        raise ValueError(
            f"{path!r} exists and is not a pytrainc search (no {_TUNER_FILE}); "
            "choose another directory/project_name (overwrite=True never removes such a folder)"
        )
    if overwrite and os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)
    if os.path.isfile(tuner_file):
        stored = _read_json(tuner_file)
        if not isinstance(stored, dict) or stored.get("kind") != _KIND:
            raise ValueError(f"{tuner_file} is not a pytrainc search file")
        for key in ("tuner", "objective"):
            if stored.get(key) != config[key]:
                raise ValueError(
                    f"{path!r} holds a search with {key}={stored.get(key)!r}; this one has "
                    f"{key}={config[key]!r}. Pass overwrite=True to start afresh, or another "
                    "project_name."
                )
        if config.get("seed") is not None and stored.get("seed") != config["seed"]:
            raise ValueError(
                f"{path!r} holds a search with seed={stored.get('seed')}; this one has "
                f"seed={config['seed']}. Pass overwrite=True to start afresh, or another project_name."
            )
        return path, stored
    if config.get("seed") is None:  # a fresh search without a seed: draw one, and keep it for restarts
        config = {**config, "seed": int.from_bytes(os.urandom(4), "little")}
    _write_json(tuner_file, {"kind": _KIND, **config})
    return path, {"kind": _KIND, **config}


def load_records(project_dir):
    """The final records (COMPLETED or FAILED) in the project, by trial id."""
    records = {}
    for name in sorted(os.listdir(project_dir)):
        match = _TRIAL_DIR.fullmatch(name)
        if not match:
            continue
        record = read_record(os.path.join(project_dir, name), missing_ok=True)
        if record is not None and record.get("status") in FINAL:
            records[record["trial_id"]] = record
    return records
