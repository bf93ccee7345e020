"""Ship this repository's schemas/ inside the wheel as generator/data/schemas/.

schemas/ holds what the tool itself needs at run time (the environment schema, the editor
schemas, the upstream schema lock, the chart lock a new repository starts from). They stay where
this repository, its workflows and editors read them; the build copies them into the package, so
an installed tool needs no checkout (generator/projectfiles.py looks there last). Everything else
about the build is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib, "generator", "data", "schemas")
        self.mkpath(str(target))
        for source in sorted(Path("schemas").glob("*.json")):
            self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildPy})
