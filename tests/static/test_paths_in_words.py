"""The walkthroughs in the code's own comments and in the README name real
functions.

vmm/exit.c's opening comment follows one VM exit and vmm/blk/blk.h's one
guest disk write, hop by hop, by file and function; the README's "For
students" section follows a CPUID exit and a virtio-blk write beside their
trace lines. A rename that leaves them stale fails here: every `name()`
they mention must be defined somewhere in the tree (a C function or an
assembly label, in hako or in the test guests).
"""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WALKS = ["vmm/exit.c", "vmm/blk/blk.h"]
SOURCES = ("boot", "vmm", "drivers", "net", "mgmt", "guests")
README_SECTION = "## For students"


def opening_comment(path):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    assert m, path + " has no opening comment"
    return m.group(1)


def defined_names():
    names = set()
    for top in SOURCES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith((".c", ".S", ".h")):
                    continue
                text = open(os.path.join(dirpath, f), encoding="utf-8", errors="replace").read()
                # a C definition: the name at the start of a line's declarator, then "(" ... "{"
                names.update(re.findall(r"^[A-Za-z_][\w \*]*?\b(\w+)\([^;{]*\)\s*\{", text, re.M))
                names.update(re.findall(r"^(\w+):", text, re.M))  # assembly labels
    return names


def test_every_function_a_walkthrough_names_exists():
    names = defined_names()
    missing = []
    for path in WALKS:
        for name in sorted(set(re.findall(r"\b(\w+)\(\)", opening_comment(path)))):
            if name not in names:
                missing.append("%s names %s(), which is defined nowhere" % (path, name))
    assert missing == [], "\n".join(missing)


def students_section():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("\n" + README_SECTION + "\n")
    end = text.index("\n## ", start + len(README_SECTION))
    return text[start:end]


def test_every_function_the_students_walkthrough_names_exists():
    names = defined_names()
    section = students_section()
    used = sorted(set(re.findall(r"\b(\w+)\(\)", section)))
    assert len(used) >= 20, used
    missing = [n for n in used if n not in names]
    assert missing == [], "README.md's For students names functions defined nowhere: %s" % missing


def test_the_walkthroughs_are_there():
    for path in WALKS:
        assert len(re.findall(r"\b\w+\(\)", opening_comment(path))) >= 6, path
