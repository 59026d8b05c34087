"""The op and kind registries (csrc/ops.def, csrc/kinds.def) are the only place ids are written.

Checks that every registered op has a Python emitter, a kernel test (tests/csrc/test_ops.py)
and a check in C (the table in ops.c also fails to link without it); that no Python file
writes a literal kind id; and that only the
binding (csrc/python/) includes Python.h.
"""

import importlib.util
import pathlib
import re

import pytest

from pytrainc import _C

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "pytrainc"
CSRC = ROOT / "csrc"

pytestmark = pytest.mark.skipif(not (CSRC / "ops.def").exists(), reason="needs the source tree (csrc/)")


def python_sources(*folders):
    return [p for folder in folders for p in sorted(folder.rglob("*.py"))]


def _op_cases():
    spec = importlib.util.spec_from_file_location("_test_ops_cases", ROOT / "tests" / "csrc" / "test_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def test_registry_exports_ids_and_argument_names():
    assert sorted(spec["id"] for spec in _C.OPS.values()) == list(range(1, len(_C.OPS) + 1))
    conv = _C.OPS["conv2d"]
    assert conv["params"] == ("kernel", "bias") and conv["iargs"][:3] == ("h", "w", "c")
    for table in (_C.ACTIVATIONS, _C.LOSSES, _C.METRICS, _C.OPTIMIZERS, _C.SCHEDULES):
        assert len(set(table.values())) == len(table)
    assert set(_C.SCHEDULE_PARAMS) == set(_C.SCHEDULES)
    assert "learning_rate" in _C.OPTIMIZER_HYPER and _C.OP_FLAGS == {
        "no_backward": 1,
        "train_only": 2,
        "infer_only": 4,
        "fused": 8,
        "per_batch": 16,
    }


@pytest.mark.parametrize("name", sorted(_C.OPS))
def test_every_op_has_an_emitter_a_kernel_test_and_a_check(name):
    emitters = [p for p in python_sources(SRC) if re.search(rf'(builder\.op\(\s*|_op = )"{name}"', p.read_text())]
    assert emitters, f"no layer in pytrainc/ emits op {name!r}"
    tested = {case.get("op", key) if case else key for key, case in _op_cases().items()}
    assert name in tested, f"tests/csrc/test_ops.py has no case for op {name!r}"
    c_sources = "".join(p.read_text() for p in sorted(CSRC.glob("*.c")))
    assert re.search(rf"(ptc_status ptc_op_{name}_check\(|PTC_OP_CHECK_AS\({name}, )", c_sources), (
        f"no C check for op {name!r} (ptc_op_{name}_check)"
    )


def test_no_literal_kind_ids_in_python():
    literal = re.compile(
        r"\b(_kind|_fused|_op)\s*=\s*-?\d|builder\.op\(\s*-?\d|"
        r"_C\.(act_forward|act_backward|loss|metric_sum|metric_accumulate|optimizer_step|"
        r"schedule_value|run_op)\(\s*-?\d|^\s*\(?OP_[A-Z0-9_]+\b.*=|=\s*range\(1,\s*\d+\)\s*$",
        re.MULTILINE,
    )
    offenders = []
    for path in python_sources(SRC, ROOT / "tests"):
        text = path.read_text()  # whole files: a call's arguments may be on the next line
        lines = text.splitlines()
        for match in literal.finditer(text):
            i = text.count("\n", 0, match.start())
            if "noqa: registry" not in lines[i]:
                offenders.append(f"{path.relative_to(ROOT)}:{i + 1}: {lines[i].strip()}")
    assert not offenders, "literal kind ids (read them from _C instead):\n" + "\n".join(offenders)


def test_only_the_binding_includes_python_h():
    includes = [
        p.relative_to(ROOT)
        for p in sorted(CSRC.rglob("*.[ch]"))
        if re.search(r"#\s*include\s*[<\"]Python\.h", p.read_text()) and p.parent.name != "python"
    ]
    assert not includes, f"only csrc/python/ may include Python.h: {includes}"


def _binding_declarators():
    """(file:line, declarator) of every PyObject/PyArrayObject pointer declared in a function body
    in csrc/python/ (one statement may span lines; parameters and struct fields are not locals)."""
    start = re.compile(r"^\s+(?:PyObject|PyArrayObject) \*")
    for path in sorted((CSRC / "python").glob("*.c")):
        lines = path.read_text().splitlines()
        in_body, in_struct, i = False, False, 0
        while i < len(lines):
            line = lines[i]
            if in_body and re.search(r"\bstruct\s*\{$", line):
                in_struct = True  # a local struct type: its fields are not variables
            elif in_struct and line.lstrip().startswith("}"):
                in_struct = False
            elif in_struct:
                pass
            elif re.match(r"^\S.*\)\s*\{$", line) and not line.startswith(("typedef", "struct")):
                in_body = True
            elif line == "}":
                in_body = False
            elif in_body and start.match(line):
                first = i
                statement = line
                while not statement.rstrip().endswith(";"):
                    i += 1
                    statement += " " + lines[i].strip()
                decl = statement.strip().split(" ", 1)[1].rstrip(";")
                parts, depth, cur = [], 0, ""
                for ch in decl:
                    depth += ch in "([{"
                    depth -= ch in ")]}"
                    if ch == "," and depth == 0:
                        parts.append(cur)
                        cur = ""
                    else:
                        cur += ch
                yield from ((f"{path.name}:{first + 1}", p.strip()) for p in parts + [cur])
            i += 1


def test_every_binding_pointer_starts_initialized():
    # STYLE.md: every PyObject * starts NULL (or a value), so one cleanup path can release it.
    found = list(_binding_declarators())
    assert len(found) > 50, "the declarator scan found too little: its pattern no longer matches the binding"
    bare = [f"{where}: {d}" for where, d in found if "=" not in d]
    assert not bare, "uninitialized PyObject/PyArrayObject pointers:\n" + "\n".join(bare)


def test_binding_functions_with_goto_have_one_cleanup_label():
    for path in sorted((CSRC / "python").glob("*.c")):
        for body in re.split(r"\n(?=\S[^\n]*\)\s*\{\n)", path.read_text()):
            if "goto cleanup" in body:
                assert body.count("\ncleanup:") == 1, f"{path.name}: {body.splitlines()[0]}"
