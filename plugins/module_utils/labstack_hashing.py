"""Content hashes of build inputs: an image tag changes exactly when an input changes."""

import hashlib
import os


def tree_hash(path, extra="", length=12):
    """Hash every file's relative path, mode bits and content under `path`, plus `extra`."""
    digest = hashlib.sha256()
    digest.update(extra.encode("utf-8") + b"\0")
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, path)
            digest.update(rel.encode("utf-8") + b"\0")
            digest.update(b"x" if os.access(full, os.X_OK) else b"-")
            with open(full, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:length]
