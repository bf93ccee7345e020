"""No credential in any output or file (issue #22, item 5): one judge of URLs and values
(generator/secretscan.py) catches the shapes the probe found missed, in environments before they
render and in every URL a command prints."""

from __future__ import annotations

import contextlib
import io

import pytest

from generator.cli import main
from generator.secretscan import credential_kinds, redact_urls, scan_text, url_credential

MISSED = {
    "AWS secret key with /": ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret access key"),
    "?access_token=": ("https://git.example.com/repo.git?access_token=abc123def", "credential in a URL query"),
    "&password=": ("https://db.example.com/x?user=a&password=hunter22", "credential in a URL query"),
    "ssh://git:ALLCAPS@": ("ssh://git:GHSECRETVALUE@github.com/org/repo.git", "password in a URL"),
    "PGP private key block": ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "private key"),
}


@pytest.mark.parametrize("case", sorted(MISSED))
def test_the_scanner_catches_the_shapes_it_missed(case: str) -> None:
    value, kind = MISSED[case]
    assert kind in [f.kind for f in scan_text(f"x: {value}", "f.yaml")]
    assert kind in credential_kinds(value)


@pytest.mark.parametrize("harmless", ["https://github.com/org/repo.git", "https://h.example.com/a?page=2&per_page=100",
                                      "ssh://git@github.com/org/repo.git", "git@github.com:org/repo.git",
                                      "postgresql://USER:PASSWORD@HOST:5432/db", "https://x/?token=<token>",
                                      "apps/templates/deployment-with-a-long/path/name/x.yaml"])
def test_names_placeholders_and_paths_are_not_credentials(harmless: str) -> None:
    assert scan_text(harmless, "f.yaml") == []
    assert url_credential(harmless) in (None, "user information")  # git@ / USER:PASSWORD@ name a user


@pytest.mark.parametrize("url, shown", [
    ("https://user:pa55@h.example.com/x", "https://***@h.example.com/x"),
    ("https://h.example.com/x?access_token=abc&page=2", "https://h.example.com/x?access_token=***&page=2"),
    ("see ssh://git:TOKEN123@h/r.git and https://t0k@h/", "see ssh://***@h/r.git and https://***@h/"),
])
def test_redaction_keeps_the_url_readable(url: str, shown: str) -> None:
    assert redact_urls(url) == shown


def test_a_pgp_key_in_acknowledge_is_refused_before_anything_renders(scratch_repo, capsys) -> None:
    path = scratch_repo / "environments" / "dev" / "environment.yaml"
    block = "-----BEGIN PGP PRIVATE KEY BLOCK-----\\nlQOYBGXyz0sBCAC7\\n-----END PGP PRIVATE KEY BLOCK-----"
    path.write_text(path.read_text().replace("  bastion:\n    state: disabled\n",
                                             f'  bastion:\n    state: disabled\n    acknowledge: "{block}"\n'))
    before = {p: p.read_bytes() for p in (scratch_repo / "rendered").rglob("*") if p.is_file()}
    assert main(["render", "--root", str(scratch_repo)]) == 2
    err = capsys.readouterr().err
    assert "components.bastion.acknowledge holds what looks like a credential (private key" in err
    assert "lQOYBGXyz0sBCAC7" not in err
    assert {p: p.read_bytes() for p in (scratch_repo / "rendered").rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("mirror, words", [("https://u:s3cretpw@mirror.example.com", "carries user information"),
                                           ("https://mirror.example.com/?token=s3cretpw", "carries a credential query"),
                                           ("https://[::1", "is not a URL")])
def test_a_schema_mirror_with_a_credential_is_refused_unprinted(mirror: str, words: str, tmp_path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["schemas", "sync", "--mirror", mirror, "--cache", str(tmp_path / "c")])
    assert code == 2 and words in err.getvalue(), err.getvalue()
    assert "s3cretpw" not in out.getvalue() + err.getvalue()


def test_a_github_api_url_with_a_credential_is_refused_unprinted() -> None:
    from generator.guard.github import GitHub, GitHubError

    for url in ("https://x-access-token:s3cretpw@api.github.com", "https://api.github.com/?access_token=s3cretpw"):
        with pytest.raises(GitHubError) as raised:
            GitHub(url, "t")
        assert "s3cretpw" not in str(raised.value) and "carries" in str(raised.value)
