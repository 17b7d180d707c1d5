"""User names → container names, and the rules a lab user name must follow.

Pure Python: imported by the Ansible filter plugin, the preflight and the modules, and tested
with pytest. Container names must be injective (two users never share a container), DNS-safe
(the portal reaches containers by name on a Docker network) and still carry the user's name so
an admin reading `docker ps` knows whose container it is.
"""

import base64
import hashlib
import re

# What the lab accepts as a user name: POSIX portable characters plus "@" (directory and LDAP
# names such as "Jane.Doe@uni.edu"). Anything else would be unsafe in a host path or a URL path.
USERNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")
USERNAME_MAX = 64
USERNAME_RULE = (
    "ASCII letters, digits, '_', '.', '@' and '-', starting with a letter, digit or '_', "
    "at most %d characters" % USERNAME_MAX
)

# A name that is already a DNS label is used as it is. Everything else is lowered, squeezed and
# marked with "--" plus a hash of the original name. "--" never occurs in an unchanged name and
# always occurs in an escaped one, so the two kinds cannot collide; the hash keeps "Bob" and
# "bob" apart. 16 base32 characters are 80 bits of SHA-256: no two names a lab will ever have
# share them (a 50-bit hash could be collided on purpose in a minute), and the preflight still
# refuses any two users whose names would meet.
_PLAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_SQUEEZE_RE = re.compile(r"[^a-z0-9]+")
SLUG_MAX = 24
HASH_LEN = 16
PLAIN_MAX = SLUG_MAX + 2 + HASH_LEN
APP_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
CONTAINER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def username_problem(name):
    """Return why `name` is not an acceptable lab user name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "is empty or not a string"
    if len(name) > USERNAME_MAX:
        return "is longer than %d characters" % USERNAME_MAX
    if not USERNAME_RE.match(name):
        return "may contain only " + USERNAME_RULE
    return None


def _name_hash(name):
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:HASH_LEN]


def escape_username(name):
    """Escape a user name into a DNS label that starts with [a-z0-9]; injective.

    >>> escape_username("alice")
    'alice'
    >>> escape_username("Jane.Doe").startswith("jane-doe--")
    True
    """
    problem = username_problem(name)
    if problem:
        raise ValueError("user name %r %s" % (name, problem))
    if _PLAIN_RE.match(name) and "--" not in name and len(name) <= PLAIN_MAX:
        return name
    slug = _SQUEEZE_RE.sub("-", name.lower()).strip("-")[:SLUG_MAX].rstrip("-")
    # A name without a letter or digit ("_") has no slug; "u" keeps the "--" marker, since a
    # bare hash would be a plain name another user could have.
    return "%s--%s" % (slug or "u", _name_hash(name))


def container_name(app, username):
    """`<app>-<escaped user>`: the name of a user's container for one app."""
    if not APP_RE.match(app or ""):
        raise ValueError("app name %r must match %s" % (app, APP_RE.pattern))
    return "%s-%s" % (app, escape_username(username))
