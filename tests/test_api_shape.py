"""The public API stays small: no function takes more than 10 parameters.

Settings travel in dataclasses (`DistillConfig`, `TrainingRecipe`), which are
exempt; everything else that is public (a name without a leading underscore,
in a module without one) takes at most `MAX_PARAMETERS`, `self` not counted.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "udd_keras"
MAX_PARAMETERS = 10


def _is_dataclass(node):
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = getattr(target, "attr", None) or getattr(target, "id", None)
        if name == "dataclass":
            return True
    return False


def _parameters(function):
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args]
    names += [a.arg for a in arguments.kwonlyargs]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return [name for name in names if name not in ("self", "cls")]


def public_signatures(root=PACKAGE):
    """Yields `(place, parameter names)` for every public function and method."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if any(
            part.startswith("_") and part != "__init__.py" for part in relative.parts
        ):
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield f"{relative}:{node.name}", _parameters(node)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                if _is_dataclass(node):
                    continue
                for item in node.body:
                    if not isinstance(item, ast.FunctionDef):
                        continue
                    if item.name.startswith("_") and item.name != "__init__":
                        continue
                    yield f"{relative}:{node.name}.{item.name}", _parameters(item)


def test_the_checker_sees_the_public_api():
    places = dict(public_signatures())
    assert "udd_keras/distillation/distiller.py:distill" in places
    assert "dataset" in places["udd_keras/distillation/distiller.py:distill"]


def test_no_public_function_takes_more_than_ten_parameters():
    too_many = {
        place: len(names)
        for place, names in public_signatures()
        if len(names) > MAX_PARAMETERS
    }
    assert too_many == {}
