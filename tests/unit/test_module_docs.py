"""Every module documents itself as ansible-doc reads it, and documents exactly its options."""

import ast
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))


def doc_blocks(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    blocks = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            blocks[target.id] = yaml.safe_load(node.value.value)
    return tree, blocks


def bad_descriptions(node, path=""):
    """Descriptions that YAML did not read as text (an unquoted ': ' makes a mapping)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = "%s.%s" % (path, key)
            if key in ("description", "short_description"):
                items = value if isinstance(value, list) else [value]
                found += [here for item in items if not isinstance(item, str)]
            else:
                found += bad_descriptions(value, here)
    elif isinstance(node, list):
        for item in node:
            found += bad_descriptions(item, path)
    return found


def argument_spec_names(tree):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "argument_spec"
            and isinstance(node.value, ast.Call)
        ):
            return {k.arg for k in node.value.keywords}
    return None


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_the_doc_blocks_parse_and_every_description_is_text(path):
    _, blocks = doc_blocks(path)
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    assert bad_descriptions(blocks["DOCUMENTATION"]) == []
    assert bad_descriptions(blocks["RETURN"]) == []


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_the_documented_options_are_the_argument_spec(path):
    tree, blocks = doc_blocks(path)
    spec = argument_spec_names(tree)
    assert spec is not None, "no argument_spec=dict(...) literal"
    assert set(blocks["DOCUMENTATION"].get("options") or {}) == spec
