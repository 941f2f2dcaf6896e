#!/usr/bin/env python3
"""The library's public items, as rustdoc lists them (`cargo doc --no-deps --lib`, its all.html:
every public struct, enum, trait, function, type, constant and macro by path), against
public-api.txt: a difference fails with the lines that changed. `--bless` rewrites the file
after an intended change of the API.

    python3 .ci/public_api.py [--bless]
"""

import html
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTED = os.path.join(ROOT, "public-api.txt")


def items():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # Broken intra-doc links fail too: the docs are part of the API.
    env = {**os.environ, "RUSTDOCFLAGS": "-D warnings"}
    subprocess.check_call(["cargo", "doc", "--locked", "--quiet", "--no-deps", "--lib"], cwd=ROOT, env=env)
    page = open(os.path.join(target, "doc", "datafusion_timemachine", "all.html"), encoding="utf-8").read()
    out = []
    # Sections: <h3 id="structs">Structs</h3><ul class="all-items"><li><a href="…">path</a></li>…</ul>
    for section, body in re.findall(r'<h3 id="([a-z-]+)">.*?</h3>\s*<ul class="all-items">(.*?)</ul>', page, re.S):
        kind = section.rstrip("s") if section != "attribute-macros" else "attribute-macro"
        for path in re.findall(r"<a href=\"[^\"]*\">(.*?)</a>", body):
            out.append(f"{kind} datafusion_timemachine::{html.unescape(re.sub('<[^>]+>', '', path))}")
    if not out:
        sys.exit("public_api: no item found in rustdoc's all.html (has its layout changed?)")
    return sorted(out)


def main():
    now = items()
    if "--bless" in sys.argv[1:]:
        with open(LISTED, "w", encoding="utf-8") as f:
            f.write("\n".join(now) + "\n")
        print(f"public-api.txt: {len(now)} items")
        return
    listed = open(LISTED, encoding="utf-8").read().split("\n") if os.path.exists(LISTED) else []
    listed = [line for line in listed if line.strip()]
    added = sorted(set(now) - set(listed))
    removed = sorted(set(listed) - set(now))
    if added or removed:
        for line in added:
            print(f"+ {line}")
        for line in removed:
            print(f"- {line}")
        sys.exit(
            "public_api: the library's public items differ from public-api.txt (above). If the change is "
            "intended, run `python3 .ci/public_api.py --bless` and commit public-api.txt."
        )
    print(f"public API: {len(now)} items, as public-api.txt lists them")


if __name__ == "__main__":
    main()
