"""Each rendered environment of a checkout named by one hash, when git can vouch for it.

Argo CD reads a commit as `git checkout --force <revision>` then `git clean -ffdx` produce it
(argo-cd v3.5.1 util/git/client.go, nativeGitClient.Checkout). When a checkout's rendered/ is
exactly its HEAD commit, git's tree id of rendered/<env> (and of rendered/fleet/<hub>) stands for
every byte Argo CD reads there, so two checkouts compare an unchanged environment by one id,
without reading a file of it (guard.tree.load_pair).

Git vouches only when all of this holds, on each side; otherwise there is no fingerprint and every
file is read, as before:
- the folder is the work tree's top level (`rev-parse --show-toplevel`), with a HEAD commit;
- `git status` reports nothing under rendered/: no modified, staged, untracked or ignored file;
- no symbolic link and no submodule anywhere under rendered/ in HEAD (a link in an unchanged
  environment could read a changed one; submodules are other repositories);
- no attributes that could rewrite content on checkout outside the hashed trees: no
  .gitattributes at the top level, in rendered/ or in rendered/fleet/, in HEAD or in the work
  tree, and none in the repository's info/attributes (one inside an environment is part of its
  tree id).

Git runs with none of the caller's GIT_* variables (GIT_DIR would point it at another
repository), no optional locks (it never writes the index), no fsmonitor, and no prompt. The
checkouts' own configuration is the runner's (a pull request cannot commit .git/). Each git run
is bounded as helm's are (generator/child.py: its own process group, stopped after
limits.GIT_TIMEOUT or past limits.GIT_OUTPUT_BYTES): a fingerprint git cannot give in bounds is
no fingerprint (every file is read); a submodule listing it cannot give is bad input naming the
limit (the guard refuses: it cannot prove there is none).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator import child, limits
from generator.errors import InputError

RENDERED = "rendered"
FLEET = "fleet"
ATTRIBUTE_FOLDERS = ("", RENDERED, f"{RENDERED}/{FLEET}")
UNSAFE_MODES = (b"120000", b"160000")  # symbolic link, submodule (gitlink)
TREE_MODE = "040000"


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


def _git(checkout: Path, *args: str) -> tuple[bytes, int]:
    """(stdout, exit code) of one bounded git run in `checkout`; child.ChildLimit past a limit,
    OSError when git cannot start."""
    done = child.run(["git", "-c", "core.fsmonitor=false", "-C", str(checkout), *args], env=_environment(),
                     timeout=limits.GIT_TIMEOUT, timeout_name="GIT_TIMEOUT", stdout_limit=limits.GIT_OUTPUT_BYTES,
                     stdout_name="GIT_OUTPUT_BYTES", stderr_limit=limits.GIT_STDERR_BYTES)
    return done.stdout, done.returncode


def _quiet(checkout: Path, args: list[str]) -> tuple[bytes, int] | None:
    try:
        return _git(checkout, *args)
    except (OSError, child.ChildLimit):  # no git, or not in bounds: no fingerprint
        return None


def _commands(checkout: Path) -> dict[str, list[str]]:
    return {
        "toplevel": ["rev-parse", "--show-toplevel", "--git-path", "info/attributes"],
        "status": ["status", "--porcelain", "-z", "--ignored=matching", "--untracked-files=all", "--", RENDERED],
        "modes": ["ls-tree", "-r", "-z", "--format=%(objectmode)", "HEAD", "--", RENDERED],
        "trees": ["ls-tree", "-z", "HEAD", "--", ".gitattributes", f"{RENDERED}/", f"{RENDERED}/{FLEET}/"],
    }


def fingerprints(*checkouts: Path) -> list[dict[str, str] | None]:
    """Per checkout, {environment: git tree id} ("<env>", "fleet/<hub>"), or None when git
    cannot vouch that its rendered/ is exactly HEAD's. The checkouts' git commands run at once."""
    jobs = [(checkout, name, args) for checkout in checkouts
            if (checkout / ".git").exists() and (checkout / RENDERED).is_dir() and not (checkout / RENDERED).is_symlink()
            for name, args in _commands(checkout).items()]
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        answers = list(pool.map(lambda job: _quiet(job[0], job[2]), jobs))
    outputs: dict[Path, dict[str, tuple[bytes, int] | None]] = {}
    for (checkout, name, _), answer in zip(jobs, answers):
        outputs.setdefault(checkout, {})[name] = answer
    results = []
    for checkout in checkouts:
        found = outputs.get(checkout)
        usable = found is not None and all(answer is not None for answer in found.values())
        results.append(_vouched(checkout, found) if usable else None)  # type: ignore[arg-type]
    return results


def hub_folders(checkout: Path, ids: dict[str, str] | None = None) -> dict[Path, str]:
    """{rendered/fleet/<hub> folder (resolved): its git tree id} of a checkout git vouches for
    (`ids`: its fingerprints, when the caller has them), for build.Hydrator.hub_ids: a hub is then
    looked up in the render cache by its id without reading a file. `hydrate` and `validate` ask
    too, so the render cache the default branch saves holds each hub under the id a pull
    request's guard and diff look for. Empty when git cannot vouch, or there is no hub."""
    if ids is None:
        ids = fingerprints(checkout)[0] if (checkout / RENDERED / FLEET).is_dir() else None
    return {(checkout / RENDERED / name).resolve(): oid for name, oid in (ids or {}).items() if name.startswith(f"{FLEET}/")}


def _vouched(checkout: Path, outputs: dict[str, tuple[bytes, int]]) -> dict[str, str] | None:
    if any(code != 0 for _, code in outputs.values()):
        return None
    lines = outputs["toplevel"][0].decode("utf-8", "surrogateescape").splitlines()
    if len(lines) != 2 or Path(lines[0]).resolve() != checkout.resolve():
        return None
    info_attributes = Path(lines[1]) if os.path.isabs(lines[1]) else checkout / lines[1]
    if info_attributes.exists() or any((checkout / folder / ".gitattributes").exists() for folder in ATTRIBUTE_FOLDERS):
        return None
    if outputs["status"][0]:
        return None
    modes = outputs["modes"][0]
    if any(modes.startswith(mode + b"\0") or b"\0" + mode + b"\0" in modes for mode in UNSAFE_MODES):
        return None
    return _tree_ids(outputs["trees"][0])


def _tree_ids(listing: bytes) -> dict[str, str] | None:
    """{"<env>" or "fleet/<hub>": tree id} from `ls-tree -z HEAD -- .gitattributes rendered/
    rendered/fleet/`; None when HEAD has attributes there."""
    found = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.decode("utf-8", "surrogateescape").partition("\t")
        mode, kind, oid = meta.split(" ")
        if path.rsplit("/", 1)[-1] == ".gitattributes":
            return None
        name = path[len(RENDERED) + 1:]
        if mode == TREE_MODE and kind == "tree" and name != FLEET:
            found[name] = f"{kind} {oid}"
    return found


GITLINK = "160000"
GITMODULES = ".gitmodules"


def submodules(checkout: Path, vouched: bool = False) -> list[str]:
    """Where the checkout brings in another repository: every gitlink (mode 160000) in its HEAD
    commit and every `.gitmodules` file, in HEAD or in the work tree (a checkout git does not
    vouch for, or a rendered/ folder given alone, is searched on disk). `vouched`: fingerprints()
    found its rendered/ exactly HEAD's (no untracked or ignored file there), so HEAD's listing
    already covers rendered/ and the walk on disk is skipped (at 1,000 environments, 11,000 folders).

    Argo CD's repo-server fetches submodules of the whole repository by default (argo-cd v3.5.1
    util/git/client.go, nativeGitClient.Submodule: `git submodule update --init --recursive` when
    .gitmodules exists; ARGOCD_GIT_MODULES_ENABLED defaults to true), while actions/checkout leaves
    the folder empty: the guard would judge an empty folder where Argo CD reads another repository."""
    found: set[str] = set()
    top = checkout if (checkout / ".git").exists() else checkout.parent
    if (top / ".git").exists() and (top == checkout or checkout.name == RENDERED):
        listing = ["ls-tree", "-r", "-z", "--full-tree", "--format=%(objectmode) %(path)", "HEAD"]
        try:
            output, _ = _git(top, *listing)
        except OSError:  # no git: the files on disk below are all there is to search
            output = b""
        except child.ChildLimit as exc:
            raise InputError(f"git ls-tree (listing HEAD for submodules) {exc}", file=top,
                             hint="the guard cannot prove the commit holds no submodule; see GIT_TIMEOUT and "
                                  "GIT_OUTPUT_BYTES in docs/limits.md") from None
        if GITLINK.encode() not in output and GITMODULES.encode() not in output:
            output = b""  # neither anywhere in the listing (90,000 records at 1,000 environments)
        for record in output.split(b"\0"):
            mode, _, path = record.decode("utf-8", "surrogateescape").partition(" ")
            if mode == GITLINK or path.rsplit("/", 1)[-1] == GITMODULES:
                found.add(path)
    else:
        top = checkout
    # On disk: the top level's (the one git reads) and any under rendered/ (HEAD covers the rest).
    if (top / GITMODULES).exists():
        found.add(GITMODULES)
    for base, dirs, names in () if vouched else os.walk(top / RENDERED if (top / RENDERED).is_dir() else top):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not os.path.islink(os.path.join(base, d)))
        if GITMODULES in names:
            found.add(os.path.relpath(os.path.join(base, GITMODULES), top).replace(os.sep, "/"))
    return sorted(found)
