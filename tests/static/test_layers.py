"""The layering written in README.md's "### Layers" holds (tests/static/layers.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import layers  # noqa: E402


def test_includes_follow_the_documented_layers():
    problems = list(layers.check(layers.ROOT))
    assert problems == [], "\n".join(problems)


def test_checker_sees_an_upward_include(tmp_path):
    """The check is not vacuous: a tree with an upward include and a cycle fails."""
    (tmp_path / "vmm" / "core").mkdir(parents=True)
    (tmp_path / "mgmt").mkdir()
    (tmp_path / "README.md").write_text("### Layers\n\n    mgmt/\n    vmm/core/\n\n## Next\n")
    (tmp_path / "mgmt" / "a.h").write_text('#include "vmm/core/b.h"\n')
    (tmp_path / "vmm" / "core" / "b.h").write_text('#include "mgmt/a.h"\n')
    problems = list(layers.check(str(tmp_path)))
    assert any("higher layer" in p and "vmm/core/b.h" in p for p in problems), problems
    assert any("include cycle" in p for p in problems), problems
