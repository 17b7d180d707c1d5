"""Jinja filters of labstack; the logic lives in plugins/module_utils and is tested there."""

import os

# Controller-side plugins cannot import custom module_utils through ansible.module_utils, so
# make the repository's module_utils directory part of that package's search path.
_MODULE_UTILS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"
)
import ansible.module_utils  # noqa: E402

if _MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MODULE_UTILS)

from ansible.module_utils.labstack_hashing import tree_hash  # noqa: E402
from ansible.module_utils.labstack_names import container_name, escape_username  # noqa: E402


def lab_tree_hash(path, extra=""):
    """`role_path ~ '/files/x' | lab_tree_hash(extra=base)`: 12-hex hash of a build context."""
    return tree_hash(path, extra=str(extra))


def lab_container_name(username, app):
    """`'Jane.Doe' | lab_container_name('workbench')` → `workbench-jane-doe--...`."""
    return container_name(app, username)


class FilterModule:
    def filters(self):
        return {
            "lab_tree_hash": lab_tree_hash,
            "lab_container_name": lab_container_name,
            "lab_escape_username": escape_username,
        }
