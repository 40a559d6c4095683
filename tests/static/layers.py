#!/usr/bin/env python3
"""tests/static/layers.py - checks hako's layering from its #include lines.

The layers are written down once, in README.md under "### Layers": an
indented block, one layer per line, top first, each line naming one or more
folders. A file may include files of its own folder and of folders on
lower lines; an include of a folder on the same line (a peer) or on a
higher line runs against the direction and is reported, and so is a
folder of the tree that the list does not name. Include cycles between
folders are reported too (with the direction kept there can be none, but
the check stands on its own, so a wrong list cannot hide one).

    tests/static/layers.py            print every violation; exit 1 if any
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCE_DIRS = ("boot", "vmm", "drivers", "net", "mgmt")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_layers(readme):
    """[[folder, ...], ...] from the README's "### Layers" block, top first."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    try:
        i = lines.index("### Layers")
    except ValueError:
        raise SystemExit("layers: README.md has no '### Layers' section")
    layers = []
    for line in lines[i + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("    ") and line.strip():
            layers.append([f.rstrip("/") for f in line.split()])
        elif layers and not line.strip() == "" and not line.startswith("    "):
            break
    if not layers:
        raise SystemExit("layers: the '### Layers' section lists no folders")
    return layers


def source_files(root):
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h", ".S")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def includes(root, path):
    """(line number, included path) of each quoted include naming a file of the tree."""
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m and os.path.isfile(os.path.join(root, m.group(1))):
                yield no, m.group(1)


def folder_cycles(edges):
    """Strongly connected groups of more than one folder (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check(root):
    layers = read_layers(os.path.join(root, "README.md"))
    rank = {}
    for r, line in enumerate(layers):
        for folder in line:
            if folder in rank:
                yield "README.md: folder %s/ is listed twice under '### Layers'" % folder
            rank[folder] = r
    edges = {}
    unlisted = set()
    for path in source_files(root):
        src = os.path.dirname(path)
        if src not in rank:
            unlisted.add(src)
            continue
        for no, inc in includes(root, path):
            dst = os.path.dirname(inc)
            if dst == src:
                continue
            edges.setdefault(src, set()).add(dst)
            if dst not in rank:
                unlisted.add(dst)
            elif rank[dst] == rank[src]:
                yield "%s:%d: includes %s, a peer layer (%s/ and %s/ share a line)" % (
                    path, no, inc, src, dst)
            elif rank[dst] < rank[src]:
                yield "%s:%d: includes %s, which sits in a higher layer (%s/ above %s/)" % (
                    path, no, inc, dst, src)
    for folder in sorted(unlisted):
        yield "%s/: a source folder that README.md's '### Layers' does not place" % folder
    for group in folder_cycles(edges):
        yield "include cycle between folders: " + " -> ".join(f + "/" for f in group)


def main():
    problems = list(check(ROOT))
    for p in problems:
        print(p)
    print("layers: %d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
