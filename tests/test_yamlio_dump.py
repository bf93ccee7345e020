"""generator.yamlio.dump builds YAML nodes directly for speed; it must write exactly what PyYAML's
own representer writes with the same dumper and options, for every rendered document and for
values the fast path hands back to the representer."""

from __future__ import annotations

import yaml

from generator import yamlio
from generator.environment import environment_names, load_environment
from generator.render import render_environment


def reference(document) -> str:
    return yaml.dump(document, Dumper=yamlio._Dumper, **yamlio._OPTIONS)


def test_dump_matches_the_representer_on_every_rendered_document(repo_root):
    count = 0
    for name in environment_names(repo_root / "environments"):
        for path, text in render_environment(load_environment(repo_root / "environments", name)).files.items():
            if path.endswith(".yaml"):
                for document in yaml.safe_load_all(text):
                    assert yamlio.dump(document) == reference(document), path
                    count += 1
    assert count > 80


def test_dump_matches_on_awkward_scalars():
    document = {
        "empty": {}, "none": None, "list": [], "float": 1.5, "tuple-free": [1, True, False, None],
        "looks like bool": ["yes", "no", "on", "true", "null", "~", "1.0", "0x1F", "1e3", "2024-01-01"],
        "multi": "line one\nline two\n", "trailing": "line \nx", "quotes": "it's \"quoted\": yes",
        "unicode": "café ✓", "long": "x" * 5000, "key: with colon": "-leading dash", "": "",
    }
    assert yamlio.dump(document) == reference(document)
