#!/usr/bin/env python3
"""Import circles and layer order between the source files of each crate.

    scripts/check-module-cycles.py            # every crate of the workspace
    scripts/check-module-cycles.py sim data   # only these (short or full names)
    scripts/check-module-cycles.py --edges    # also list every file's imports

For every crate of the workspace (crates/*/src with a lib.rs, and the root
package's src/ with main.rs) it builds the graph of which source file depends on
which other file of the same crate, then

- prints every circle: a strongly connected component of more than one file,
  with the imports that close it, and every file that imports one of its own
  items back through a re-export (a self-loop);
- checks the crate's declared layer order (LAYERS below): a file may import
  files of lower layers and of its own group, never of a higher layer or of
  another group of its own layer. Every file of a crate with a declared order
  must belong to a layer.

It exits 1 if it finds a circle, a self-loop or a layer violation, else 0.
Python 3 standard library only; it reads Rust with a small tokenizer, not a
parser, which is enough for the code of this workspace.

What counts as a dependency of file A on file B (the file where an item is
*defined*, never a file that only passes it on):

- a `use` of an item defined in B, counted only if the imported name (or its
  `as` alias) is used in A's code outside `use` lines. A re-export (`pub use`)
  that A's own code does not use is a facade, not a dependency: `lib.rs` and a
  folder's `mod.rs` re-export their children's items without depending on
  them. An import of a trait `as _` always counts (it is used for its methods).
- a path in code (`crate::x::y`, `super::y`, `self::y`, or `m::y` where `m` is
  a module imported by `use` or a child module): `crate::engine::Engine::new(..)`
  depends on the file that defines `Engine`.
- Paths are followed through re-exports (`pub use`, glob `pub use x::*`, and
  private `use` lines a child module reaches with `super::`) to the file that
  defines the item, so importing `crate::SimError` depends on `error.rs`, not on
  `lib.rs`.
- `mod child;` is not an import of the child (declaring a module is not using
  it). Code under `#[cfg(test)]` (unit-test modules and test-only items) is
  left out: tests may build fixtures from any layer; a real dependency is one
  the library build has. Comments, doc comments (intra-doc links included) and
  string literals are left out.
- Importing a module (`use crate::rng;`) is not by itself a dependency on
  `rng.rs`; the items used through it (`rng::stream(..)`) are.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The declared layer order of each crate, bottom first: a list of layers, each a
# list of groups, each a list of path prefixes (relative to the crate's src/).
# A file may import files of lower layers and of its own group.
LAYERS = {
    "backstop-sim": [
        # Integer money, seeded random streams, the UTC clock, a correlation
        # matrix's factor: used by all.
        [["money.rs", "rng.rs", "time.rs", "cholesky.rs"]],
        # The venue's parts: margin schedule, fund, impact, ADL, controls.
        [["venue/"]],
        # The engine knows nothing of the scenario file; the scenario (plain
        # data and its validation) knows nothing of the engine.
        [["engine/"], ["config/"]],
        # Price paths: built from the scenario, never from a run.
        [["paths/"]],
        # The crate's error, wrapping every layer's own error.
        [["error.rs"]],
        # Building, running and reducing a scenario: the top.
        [["run/"], ["lib.rs"]],
    ],
    "backstop-data": [
        # The crate's error and its one UTC parser.
        [["error.rs", "time.rs"]],
        # Writing a file whole or not at all, Parquet key-value metadata, one
        # column description, the numeric rules of every table.
        [["atomic.rs", "metadata.rs", "schema.rs", "rules.rs"]],
        # Reading and writing Parquet with those.
        [["parquet_io.rs"]],
        # Tick history (inputs) and a run's results (outputs): neither knows
        # the other.
        [["history/"], ["results/"]],
        # Importers write tick history.
        [["import/"]],
        [["lib.rs"]],
    ],
    "backstop-report": [
        # The crate's error, number formats, HTML escaping.
        [["error.rs", "format.rs", "markup.rs"]],
        # summary.json as the report reads it; per-step series read back
        # (downsampled above a length) and the breaker's pauses folded from them.
        [["summary.rs", "sampler.rs", "pause_log.rs"]],
        # The results folder's tables as the charts need them.
        [["data.rs"]],
        # What a run's controls did (shared by charts, documents, compare).
        [["controls/"]],
        # Charts: specs (what each shows) and draw/ (how).
        [["charts/"]],
        # The documents of one run.
        [["document/"]],
        # Writing a run's report folder.
        [["output.rs"]],
        # Two runs side by side.
        [["compare/"]],
        # A section a command adds to a written report (size-fund).
        [["section.rs"]],
        [["lib.rs"]],
    ],
    "backstop": [
        # What subcommands share; a shard's manifest.
        [["commands/mod.rs", "commands/shard.rs"]],
        # One file per subcommand (merge finishes like a sweep).
        [
            ["commands/sweep.rs"],
            ["commands/run.rs"],
            ["commands/validate.rs"],
            ["commands/report.rs"],
            ["commands/compare.rs"],
            ["commands/calibrate.rs"],
            ["commands/import.rs"],
            ["commands/library.rs"],
            ["commands/liq_price.rs"],
            ["commands/size_fund.rs"],
            ["commands/adl_lab.rs"],
            ["commands/schema.rs"],
        ],
        [["commands/merge.rs"]],
        # The command line.
        [["main.rs"]],
    ],
}

# --------------------------------------------------------------------------
# Reading Rust source


def clean(src):
    """The source with comments, strings and char literals blanked out (same
    length, newlines kept), so braces and paths can be found by regex."""
    out = list(src)
    i, n = 0, len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "rb" and re.match(r"(?:br|r)#*\"", src[i:i + 260]) and (
            i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")
        ):
            m = re.match(r"(?:br|r)(#*)\"", src[i:])
            hashes = m.group(1)
            end = src.find('"' + hashes, i + m.end())
            end = n if end < 0 else end + 1 + len(hashes)
            blank(i, end)
            i = end
        elif c == '"' or (c == "b" and src.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            m = re.match(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'", src[i:])
            if m:
                blank(i, i + m.end())
                i += m.end()
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def matching_brace(text, open_at):
    """Index just past the `}` matching the `{` at `open_at`."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(text)


def item_end(text, start):
    """End of the item starting at `start`: its `;` or its `{...}` block,
    whichever comes first outside parentheses and brackets."""
    depth = 0
    for k in range(start, len(text)):
        c = text[k]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == ";":
            return k + 1
        elif depth == 0 and c == "{":
            return matching_brace(text, k)
    return len(text)


CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTR = re.compile(r"\s*#\s*\[")


def drop_test_items(text):
    """Blanks every item under `#[cfg(test)]`; returns the text and the names of
    test-only `mod x;` declarations (whose files are not part of the graph)."""
    out = list(text)
    test_mods = set()
    for m in CFG_TEST.finditer(text):
        k = m.end()
        # Further attributes of the same item.
        while True:
            a = ATTR.match(text, k)
            if not a:
                break
            k = close_attr(text, a.end() - 1)
        end = item_end(text, k)
        decl = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text[k:end])
        if decl:
            test_mods.add(decl.group(1))
        for j in range(m.start(), end):
            if out[j] != "\n":
                out[j] = " "
    return "".join(out), test_mods


def close_attr(text, open_bracket):
    depth = 0
    for k in range(open_bracket, len(text)):
        if text[k] == "[":
            depth += 1
        elif text[k] == "]":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(text)


IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
USE = re.compile(r"(?<![\w:])(pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]*);")
ITEM = re.compile(
    r"(?<![\w:])(?:pub(?:\s*\([^)]*\))?\s+)?(?:(?:unsafe|async|const|extern\s+\S*)\s+)*"
    r"(fn|struct|enum|trait|type|const|static|union|mod|macro_rules\s*!)\s+(" + IDENT + ")"
)
INLINE_MOD = re.compile(r"(?<![\w:])(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*\{")
FILE_MOD = re.compile(r"(?<![\w:])(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;")
CODE_PATH = re.compile(r"(?<![\w:])(" + IDENT + r"(?:\s*::\s*(?:" + IDENT + r"))+)")


def split_top(s, sep=","):
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur)
    return parts


def parse_use_tree(tree, prefix=()):
    """Like use_leaves, keeping the spaces needed to see `as`."""
    tree = tree.strip()
    if tree.startswith("::"):
        tree = tree[2:].strip()
    brace = tree.find("{")
    if brace >= 0:
        head = [s.strip() for s in tree[:brace].split("::") if s.strip()]
        inner = tree[brace + 1:tree.rfind("}")]
        out = []
        for part in split_top(inner):
            out += parse_use_tree(part, prefix + tuple(head))
        return out
    alias = None
    m = re.match(r"^(.*\S)\s+as\s+(" + IDENT + r")$", tree, re.S)
    if m:
        tree, alias = m.group(1), m.group(2)
    segs = tuple(s.strip() for s in tree.split("::") if s.strip())
    if not segs:
        return []
    if segs[-1] == "*":
        return [(prefix + segs[:-1], "*")]
    if segs[-1] == "self":
        segs = segs[:-1]
        if not (prefix + segs):
            return []
        return [(prefix + segs, alias or (prefix + segs)[-1])]
    return [(prefix + segs, alias or segs[-1])]


# --------------------------------------------------------------------------
# The module tree of a crate


class Module:
    def __init__(self, path, file):
        self.path = path  # tuple of names from the crate root
        self.file = file  # relative file that holds the module's items
        self.children = {}  # name -> Module
        self.items = set()  # names defined here
        self.uses = []  # (segments, alias, is_pub, lineno, text)
        self.dir = None  # folder of the module's child files


class Crate:
    def __init__(self, name, src_dir, root_file):
        self.name = name
        self.src = src_dir
        self.modules = {}  # path tuple -> Module
        self.files = {}  # rel file -> (cleaned code text, module ranges)
        self.root = self.load(root_file, (), "")

    def load(self, rel, path, child_dir):
        full = os.path.join(self.src, rel)
        with open(full, encoding="utf-8") as f:
            raw = f.read()
        text, test_mods = drop_test_items(clean(raw))
        top = Module(path, rel)
        top.dir = child_dir
        self.modules[path] = top
        # Inline modules: (start, end, module), innermost found by position.
        ranges = [(0, len(text), top)]
        for m in INLINE_MOD.finditer(text):
            open_at = m.end() - 1
            end = matching_brace(text, open_at)
            owner = innermost(ranges, m.start())
            sub = Module(owner.path + (m.group(1),), rel)
            sub.dir = os.path.join(owner.dir, m.group(1))
            owner.children[m.group(1)] = sub
            self.modules[sub.path] = sub
            ranges.append((open_at, end, sub))
        self.files[rel] = (text, ranges, raw)
        for m in ITEM.finditer(text):
            innermost(ranges, m.start()).items.add(m.group(2))
        for m in USE.finditer(text):
            owner = innermost(ranges, m.start())
            line = text.count("\n", 0, m.start()) + 1
            for segs, alias in parse_use_tree(m.group(2)):
                owner.uses.append((segs, alias, bool(m.group(1)), line, m.start(), m.end()))
        for m in FILE_MOD.finditer(text):
            name = m.group(1)
            if name in test_mods:
                continue
            owner = innermost(ranges, m.start())
            child = self.child_file(owner.dir, name)
            if child is None:
                continue
            sub_dir = os.path.join(owner.dir, name)
            owner.children[name] = self.load(child, owner.path + (name,), sub_dir)
        return top

    def child_file(self, folder, name):
        for cand in (os.path.join(folder, name + ".rs"), os.path.join(folder, name, "mod.rs")):
            if os.path.isfile(os.path.join(self.src, cand)):
                return os.path.normpath(cand)
        return None

    # ---- resolution

    def start(self, module, segs):
        """The module a path starts from, and the rest of the path."""
        first = segs[0]
        if first == "crate":
            return self.root, segs[1:]
        if first == "self":
            return module, segs[1:]
        if first == "super":
            cur = module
            while segs and segs[0] == "super":
                cur = self.modules.get(cur.path[:-1], self.root)
                segs = segs[1:]
            return cur, segs
        if first in module.children:
            return module.children[first], segs[1:]
        for useg, alias, _, _, _, _ in module.uses:
            if alias == first and useg and useg[0] != first:
                target = self.resolve_module(module, useg)
                if target is not None:
                    return target, segs[1:]
        return None, segs

    def resolve_module(self, module, segs, seen=None):
        cur, rest = self.start(module, segs)
        if cur is None:
            return None
        for s in rest:
            if s in cur.children:
                cur = cur.children[s]
            else:
                return None
        return cur

    def resolve(self, module, segs, seen=None):
        """The file defining the item `segs` names from `module`, or None for
        an item outside the crate (or a module)."""
        seen = seen or set()
        key = (module.path, segs)
        if key in seen or not segs:
            return None
        seen.add(key)
        cur, rest = self.start(module, segs)
        if cur is None:
            return None
        while rest and rest[0] in cur.children:
            cur, rest = cur.children[rest[0]], rest[1:]
        if not rest:
            return None  # a module, not an item
        name = rest[0]
        if name in cur.items:
            return cur.file
        for useg, alias, _, _, _, _ in cur.uses:
            if alias == name:
                return self.resolve(cur, useg + rest[1:], seen) or None
        for useg, alias, _, _, _, _ in cur.uses:
            if alias == "*":
                got = self.resolve(cur, useg + rest, seen)
                if got:
                    return got
        return cur.file

    # ---- the graph

    def edges(self):
        """{(from file, to file): [evidence]}."""
        out = defaultdict(list)
        for mod in self.modules.values():
            text, ranges, raw = self.files[mod.file]
            body = code_outside_uses(text, ranges, mod)
            for segs, alias, is_pub, line, _, _ in mod.uses:
                if alias == "*":
                    target_mod = self.resolve_module(mod, segs)
                    if target_mod is None:
                        f = self.resolve(mod, segs)
                        if f:
                            out[(mod.file, f)].append((line, "use " + "::".join(segs) + "::*"))
                        continue
                    for name in sorted(names_of(target_mod)):
                        if re.search(r"(?<![\w:])" + re.escape(name) + r"\b", body):
                            f = self.resolve(target_mod, (name,))
                            if f:
                                out[(mod.file, f)].append((line, "use " + "::".join(segs) + "::*"))
                    continue
                if self.resolve_module(mod, segs) is not None:
                    continue  # a module import: its uses in code count
                used = alias == "_" or re.search(r"(?<![\w:])" + re.escape(alias) + r"\b", body)
                if not used:
                    continue
                f = self.resolve(mod, segs)
                if f:
                    out[(mod.file, f)].append((line, "use " + "::".join(segs)))
            for m in CODE_PATH.finditer(body):
                segs = tuple(s.strip() for s in m.group(1).split("::"))
                if segs[0] not in ("crate", "super", "self") and not self.is_local_module(mod, segs[0]):
                    continue
                f = self.resolve(mod, segs)
                if f:
                    line = body.count("\n", 0, m.start()) + 1
                    out[(mod.file, f)].append((line, m.group(1).replace(" ", "")))
        return out

    def is_local_module(self, mod, name):
        if name in mod.children:
            return True
        for useg, alias, _, _, _, _ in mod.uses:
            if alias == name and self.resolve_module(mod, useg) is not None:
                return True
        return False


def innermost(ranges, pos):
    best = ranges[0]
    for a, b, m in ranges:
        if a <= pos < b and (b - a) <= (best[1] - best[0]):
            best = (a, b, m)
    return best[2]


def code_outside_uses(text, ranges, mod):
    """The part of `text` that belongs to `mod` (not to the inline modules
    inside it), with `use` declarations blanked."""
    own = next((a, b) for a, b, m in ranges if m is mod)
    keep = [own[0] <= k < own[1] for k in range(len(text))]
    for a, b, m in ranges:
        if m is not mod and own[0] <= a and b <= own[1]:
            for k in range(a, b):
                keep[k] = False
    for pattern in (USE, FILE_MOD):
        for m in pattern.finditer(text):
            for k in range(m.start(), m.end()):
                keep[k] = False
    return "".join(c if keep[k] or c == "\n" else " " for k, c in enumerate(text))


def names_of(module):
    names = set(module.items) | set(module.children)
    for _, alias, _, _, _, _ in module.uses:
        if alias not in ("*", "_"):
            names.add(alias)
    return names


# --------------------------------------------------------------------------
# Circles and layers


def strongly_connected(nodes, succ):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(succ.get(v, ())):
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
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def layer_of(layers, rel):
    for i, layer in enumerate(layers):
        for g, group in enumerate(layer):
            for prefix in group:
                if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
                    return i, g
    return None


def crates():
    found = []
    cdir = os.path.join(ROOT, "crates")
    for name in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
        src = os.path.join(cdir, name, "src")
        if os.path.isfile(os.path.join(src, "lib.rs")):
            found.append((package_name(os.path.join(cdir, name)), src, "lib.rs"))
    if os.path.isfile(os.path.join(ROOT, "src", "main.rs")):
        found.append((package_name(ROOT), os.path.join(ROOT, "src"), "main.rs"))
    return found


def package_name(folder):
    try:
        with open(os.path.join(folder, "Cargo.toml"), encoding="utf-8") as f:
            m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', f.read(), re.M | re.S)
            if m:
                return m.group(1)
    except OSError:
        pass
    return os.path.basename(folder)


def check(name, src, root_file, show_edges):
    crate = Crate(name, src, root_file)
    edges = crate.edges()
    files = sorted(crate.files)
    succ = defaultdict(set)
    problems = 0
    print(f"== {name} ({os.path.relpath(src, ROOT)}/, {len(files)} files, "
          f"{sum(1 for a, b in edges if a != b)} file imports)")
    for (a, b), ev in sorted(edges.items()):
        if a == b:
            continue
        succ[a].add(b)
    if show_edges:
        for a in files:
            for b in sorted(succ.get(a, ())):
                print(f"   {a} -> {b}")
    for comp in strongly_connected(files, succ):
        if len(comp) < 2:
            continue
        problems += 1
        print(f"circle of {len(comp)} files: {', '.join(comp)}")
        members = set(comp)
        for a in comp:
            for b in sorted(succ[a] & members):
                line, what = edges[(a, b)][0]
                print(f"   {a}:{line} -> {b}   ({what})")
    for (a, b), ev in sorted(edges.items()):
        if a != b:
            continue
        # A file reaching its own item through a path that leaves it.
        via = [(line, w) for line, w in ev if w.startswith(("use crate::", "crate::"))
               or w.startswith("use super::") and "::" in w[len("use super::"):]]
        if via:
            problems += 1
            line, what = via[0]
            print(f"self-loop through a re-export: {a}:{line} ({what})")
    layers = LAYERS.get(name)
    if layers:
        for f in files:
            if layer_of(layers, f) is None:
                problems += 1
                print(f"layer: {f} belongs to no declared layer")
        for (a, b), ev in sorted(edges.items()):
            la, lb = layer_of(layers, a), layer_of(layers, b)
            if a == b or la is None or lb is None:
                continue
            if lb[0] > la[0] or (lb[0] == la[0] and lb[1] != la[1]):
                problems += 1
                line, what = ev[0]
                print(f"layer: {a}:{line} imports {b} ({what}), a higher layer or another group of its own")
    if problems == 0:
        print("ok: no circle" + (", layer order respected" if layers else " (no layer order declared)"))
    return problems


def main(argv):
    show_edges = "--edges" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    total = 0
    for name, src, root_file in crates():
        short = name.removeprefix("backstop-")
        if wanted and name not in wanted and short not in wanted:
            continue
        total += check(name, src, root_file, show_edges)
    if total:
        print(f"{total} problem(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
