"""Ship this repository's own files that the tool reads at run time inside the wheel, under
generator/data/ at the same relative paths (SHIPPED below).

schemas/ holds the environment schema, the editor schemas, the upstream schema lock and the chart
lock; `litellm-gitops init` starts a new repository from the defaults, the workflows and the
Renovate configuration this repository uses itself. They stay where this repository, its
workflows and editors read them (one copy in git); the build copies them into the package, so an
installed tool needs no checkout (generator/projectfiles.py: shipped_file). Everything else about
the build is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


SHIPPED = ("schemas/*.json", "environments/defaults.yaml", "renovate.json",
           ".github/workflows/guard.yml", ".github/workflows/review.yml", ".github/workflows/cloudformation.yml")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        for pattern in SHIPPED:
            sources = sorted(Path().glob(pattern))
            if not sources:
                raise SystemExit(f"setup.py: nothing matches {pattern}: the wheel would miss it")
            for source in sources:
                target = Path(self.build_lib, "generator", "data", source)
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildPy})
