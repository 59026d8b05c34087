"""Tests that start `python -c` run it outside the repository.

CI installs pytrainc non-editable; a child started in the repository root puts
the source tree first on sys.path, where the compiled _C does not exist, so such
a test passes on a developer's editable install and fails in CI.
"""

import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent


def test_every_python_c_child_passes_cwd():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("run", "Popen", "check_output", "check_call", "call")
                and node.args
            ):
                continue
            argv = node.args[0]
            if (
                isinstance(argv, (ast.List, ast.Tuple))
                and len(argv.elts) > 1
                and ast.unparse(argv.elts[0]) == "sys.executable"
                and ast.unparse(argv.elts[1]) == "'-c'"
                and not any(k.arg == "cwd" for k in node.keywords)
            ):
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not offenders, "pass cwd= (a tmp_path) to these `python -c` children: " + ", ".join(offenders)
