"""Static checks of the checkout itself (no processes started)."""
import os
import re

import harness

# Files outside the repository that comments once cited: the project's
# comments cite a README section, an upstream source path (bamboo-engine,
# bk-sops) or say it in place. The patterns are escaped so that this file
# does not match itself.
OUTSIDE = re.compile(r"operate-node-api\.md|pipeline-tables\.md|"
                     r"bk-sops-mapping\.md|platform-notes\.md|"
                     r"seed-operate_node\.md|CONTEXT\.md|shared[/]spec")
SKIP_DIRS = {".git", "build", "build-san", "__pycache__"}


def repo_files():
    for top, dirs, files in os.walk(harness.ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for f in sorted(files):
            yield os.path.join(top, f)


def test_no_citation_of_files_outside_the_repo(env):
    """Only README.md's pointer to the full contract, in its API section,
    names the reference material beside the repository."""
    found = []
    for path in repo_files():
        rel = os.path.relpath(path, harness.ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue        # binary
        section = ""
        for n, line in enumerate(text.splitlines(), 1):
            if rel == "README.md" and line.startswith("## "):
                section = line
            if not OUTSIDE.search(line):
                continue
            if rel == "README.md" and section == "## The API" \
                    and "`../shared" + "/spec/`" in line:
                continue
            found.append("%s:%d: %s" % (rel, n, line.strip()))
    assert not found, "\n".join(found)
