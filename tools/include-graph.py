#!/usr/bin/python3
"""The project's import graph: #include "..." edges between its own C files,
grouped by folder ("rooms"), the circles in it and the largest functions.

    tools/include-graph.py [ROOT]      (ROOT defaults to the repository)

A module is a header with the .c files that define what it declares (a .c
file without a header of its own is a module by itself).  A circle is a set
of modules that reach each other through includes (a strongly connected
component of more than one module); with none, the modules have a layering
and no arrow runs back up.  Functions are measured in lines, from the
GNU-style definition (name at the start of a line) to its closing brace."""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))
ROOMS = ["engine", "imagefile", "cli", "plugin", "ui", "tests", "tests/fuzz", "bench"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# a declaration or definition: the name at the start of a line or after a
# return type on the same line, then "("
DECL = re.compile(r'^[A-Za-z_][\w \t\*]*?\b(ns_\w+)\s*\(', re.M)
DEF = re.compile(r'^(\w+)\s*\([^;]*?\)\s*\n\{', re.M)


def files():
    out = {}
    for room in ROOMS:
        d = os.path.join(ROOT, room)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith((".c", ".h")):
                out[f"{room}/{f}"] = open(os.path.join(d, f), errors="replace").read()
    return out


def main():
    src = files()
    by_name = defaultdict(list)
    for path in src:
        by_name[os.path.basename(path)].append(path)

    def resolve(frm, inc):
        here = os.path.normpath(os.path.join(os.path.dirname(frm), inc))
        if here in src:
            return here
        cands = by_name.get(os.path.basename(inc), [])
        return cands[0] if len(cands) == 1 else None

    edges = {p: sorted({t for i in INCLUDE.findall(s) if (t := resolve(p, i)) and t != p})
             for p, s in src.items()}

    # module of each file: a header, with the .c files defining its names
    defined = {p: set(DEF.findall(s)) for p, s in src.items() if p.endswith(".c")}
    module = {p: p for p in src}
    for h, s in src.items():
        if not h.endswith(".h"):
            continue
        names = set(DECL.findall(s))
        for c, d in defined.items():
            if names & d and module[c] == c and os.path.dirname(c) == os.path.dirname(h):
                module[c] = h
    medges = defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            if module[a] != module[b]:
                medges[module[a]].add(module[b])

    # Tarjan's strongly connected components
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(medges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(set(module.values())):
        if v not in index:
            visit(v)

    print(f"# import graph of {ROOT}: {len(src)} files, "
          f"{sum(len(b) for b in edges.values())} include edges")
    rooms = defaultdict(list)
    for p in src:
        rooms[os.path.dirname(p)].append(p)
    for room in ROOMS:
        if room not in rooms:
            continue
        print(f"\n## {room}/ ({len(rooms[room])} files)")
        for p in rooms[room]:
            if edges[p]:
                outs = [e if os.path.dirname(e) != room else os.path.basename(e) for e in edges[p]]
                print(f"  {os.path.basename(p)} -> {', '.join(outs)}")
    cross = defaultdict(int)
    for a, bs in edges.items():
        for b in bs:
            ra, rb = os.path.dirname(a), os.path.dirname(b)
            if ra != rb:
                cross[(ra, rb)] += 1
    print("\n## arrows between rooms")
    for (ra, rb), k in sorted(cross.items()):
        back = " (and back)" if (rb, ra) in cross else ""
        print(f"  {ra}/ -> {rb}/: {k}{back}")

    print(f"\n## circles (modules that include each other): {len(sccs)}")
    for comp in sccs:
        members = {m: sorted(p for p in src if module[p] == m) for m in comp}
        print("  " + " <-> ".join(" + ".join(members[m]) for m in comp))
        for m in comp:
            for t in sorted(medges[m] & set(comp)):
                why = [f"{a} -> {b}" for a in members[m] for b in edges[a] if module[b] == t]
                print(f"    {'; '.join(why)}")

    funcs = []
    for p, s in src.items():
        if not p.endswith(".c"):
            continue
        lines = s.split("\n")
        for m in DEF.finditer(s):
            start = s.count("\n", 0, m.start())
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("}")),
                       start)
            funcs.append((end - start + 1, p, m.group(1)))
    print("\n## the five largest functions (lines)")
    for size, p, name in sorted(funcs, reverse=True)[:5]:
        print(f"  {size:4d}  {name}  ({p})")


main()
