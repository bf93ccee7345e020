"""Parse benchmark: the environment parser (generator.yamlio, libyaml events) on 1, 2, 4 and 8 MB
files of three shapes (the prod example padded with comments, with a long list of models, and with
long block strings), seconds per size and per MB. Linear cost shows as a constant s/MB.

Commands refuse environment files over yamlio.MAX_ENVIRONMENT_BYTES (1 MiB) before reading them;
this measures the parser itself, past that limit, so the growth is visible. Before this parser,
ruamel.yaml's round-trip loader took 18 s at 4 MB and 78 s at 8 MB of comments (quadratic: its
scanner concatenates consecutive comment lines one by one).

    python3 benchmarks/parse.py              # 1 2 4 8
    python3 benchmarks/parse.py 16           # any sizes in MB
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator import yamlio  # noqa: E402

MB = 1 << 20


def padded(shape: str, size: int) -> str:
    base = (REPO / "environments" / "prod" / "environment.yaml").read_text()
    if shape == "comments":
        line = "# " + "x" * 70 + "\n"
        return base + line * ((size - len(base)) // len(line))
    if shape == "list":
        item = "      - {name: model-0000, model: us.anthropic.claude-3-5-haiku-20241022-v1:0}\n"
        return base + "extra:\n  models:\n" + item * ((size - len(base)) // len(item))
    line = "    " + "y" * 76 + "\n"
    return base + "notes: |\n" + line * ((size - len(base)) // len(line))


def main(sizes: list[int]) -> None:
    print(f"{'shape':<10}{'MB':>4}{'seconds':>10}{'s/MB':>8}")
    for shape in ("comments", "list", "block"):
        for megabytes in sizes:
            text = padded(shape, megabytes * MB)
            started = time.perf_counter()
            yamlio._build(Path("bench.yaml"), text)  # noqa: SLF001 (the parser, past the size limit)
            seconds = time.perf_counter() - started
            print(f"{shape:<10}{megabytes:>4}{seconds:>10.2f}{seconds / megabytes:>8.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 2, 4, 8])
