#!/usr/bin/python
"""Ansible module: wait until every URL answers, checking them all at once."""

DOCUMENTATION = r"""
---
module: lab_http_check
short_description: Check that every portal route answers over HTTP
description:
  - Requests every URL in parallel until each answers with a 2xx status or the timeout runs
    out. Fails naming each URL that did not answer and what it answered last. Read-only.
options:
  urls:
    description: URLs to request with GET.
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds to keep trying, in all.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
author: labstack
"""

EXAMPLES = r"""
- name: Check the entry page and a user's workbench
  lab_http_check:
    urls:
      - http://127.0.0.1:8080/
      - http://127.0.0.1:8080/user/alice/api
"""

RETURN = r"""
routes:
  description: Per URL, the final status and how many seconds it took to answer.
  returned: always
  type: dict
  sample: {"http://127.0.0.1:8080/": {"status": 200, "seconds": 0.01}}
"""

import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.request import urlopen


def wait_for(url, deadline, result):
    start = time.time()
    last = "no answer"
    while True:
        try:
            response = urlopen(url, timeout=10)
            result[url] = {"status": response.getcode(), "seconds": round(time.time() - start, 2)}
            return
        except HTTPError as exc:
            last = "HTTP %d" % exc.code
        except (URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.time() >= deadline:
            result[url] = {"status": None, "error": last, "seconds": round(time.time() - start, 2)}
            return
        time.sleep(1)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            urls=dict(type="list", elements="str", required=True),
            timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    deadline = time.time() + module.params["timeout"]
    results = {}
    threads = [
        threading.Thread(target=wait_for, args=(url, deadline, results))
        for url in module.params["urls"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = {u: r for u, r in results.items() if not r.get("status")}
    if failed:
        module.fail_json(
            msg="%d of %d route(s) did not answer within %ds: %s. See `docker logs <container>` "
            "of the user's container and of the portal."
            % (
                len(failed),
                len(results),
                module.params["timeout"],
                "; ".join("%s (%s)" % (u, r["error"]) for u, r in sorted(failed.items())),
            ),
            routes=results,
        )
    module.exit_json(changed=False, routes=results)


if __name__ == "__main__":
    main()
