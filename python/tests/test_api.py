"""The public surface: names, docstrings, stubs and exception hierarchy."""

import ast
import inspect
from pathlib import Path

import filigree

PACKAGE = Path(filigree.__file__).parent


def public_items():
    for name in filigree.__all__:
        if name.startswith("__"):
            continue
        item = getattr(filigree, name)
        yield name, item
        if inspect.isclass(item) and not issubclass(item, BaseException):
            for attr, member in vars(item).items():
                if not attr.startswith("_"):
                    yield f"{name}.{attr}", member


def test_every_public_item_has_a_docstring():
    missing = [name for name, item in public_items() if not (item.__doc__ or "").strip()]
    assert missing == []


def test_stubs_and_py_typed_ship_with_the_package():
    assert (PACKAGE / "py.typed").exists()
    stub = ast.parse((PACKAGE / "__init__.pyi").read_text())
    stubbed = {
        node.name
        for node in stub.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef))
    }
    runtime = {name for name in filigree.__all__ if not name.startswith("__")}
    assert runtime <= stubbed


def test_exception_hierarchy():
    assert issubclass(filigree.FiligreeError, Exception)
    assert issubclass(filigree.InvalidInputError, (filigree.FiligreeError))
    assert issubclass(filigree.InvalidInputError, ValueError)
    assert issubclass(filigree.FileAccessError, filigree.FiligreeError)
    assert issubclass(filigree.FileAccessError, OSError)
    assert issubclass(filigree.VideoError, filigree.FiligreeError)
    assert issubclass(filigree.LedgerError, filigree.FiligreeError)
    assert filigree.InvalidInputError.__module__ == "filigree"


def test_version_is_the_workspace_version():
    assert filigree.__version__.count(".") == 2
