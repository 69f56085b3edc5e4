"""The house's shape, read from the sources: every import (at module level
or inside a function) points down the layers lib <- firmware <- tools
(with the test kit, tools/testkit) <- host_tests, no module reaches itself
through its imports, no test imports another test module, and no file in
tools/ grows past what a reader takes in at once."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("lib", "firmware", "tools", "host_tests")     # each may import those before it
TOOL_LINES_MAX = 500


def modules():
    """{dotted name: (path, layer index)} of every module, named as its
    folder's sys.path entry makes it (hanport.decoder, dongle.app, testkit.rig)."""
    found = {}
    for layer, folder in enumerate(LAYERS):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                found.setdefault(".".join(parts), (path, layer))
    return found


def imports(mods):
    """{module: {project modules it imports}}."""
    graph = {}
    for name, (path, _) in mods.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                wanted = [base + "." + alias.name for alias in node.names]
            else:
                continue
            for target in wanted:
                parts = target.split(".")
                while parts and ".".join(parts) not in mods:    # a name imported from a module
                    parts.pop()
                if parts and ".".join(parts) != name:
                    targets.add(".".join(parts))
        graph[name] = targets
    return graph


def test_imports_point_down_the_layers():
    mods = modules()
    graph = imports(mods)
    assert "testkit.rig" in graph["test_firmware"] and "hanport" in graph["dongle.state"]
    upward = sorted("%s (%s) imports %s (%s)" % (name, LAYERS[mods[name][1]], target, LAYERS[mods[target][1]])
                    for name, targets in graph.items() for target in targets if mods[target][1] > mods[name][1])
    assert upward == []
    from_tests = sorted("%s imports %s" % (name, target) for name, targets in graph.items()
                        for target in targets if target.startswith("test_"))
    assert from_tests == []        # what tests share lives in testkit or a helper module beside them


def test_no_import_loop():
    graph = imports(modules())
    assert "dongle.energynow" in graph["dongle.energy"]        # (lazy imports count)
    loops = []
    done = set()

    def visit(name, path):
        if name in path:
            loops.append(" -> ".join(path[path.index(name):] + [name]))
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert loops == []


def test_no_tool_file_is_long():
    long = sorted("%s: %d lines" % (path.relative_to(ROOT), n) for path in (ROOT / "tools").rglob("*.py")
                  for n in [len(path.read_text().splitlines())] if n > TOOL_LINES_MAX)
    assert long == []
