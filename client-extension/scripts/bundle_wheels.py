"""Gather the wheels a platform VSIX ships, so the server installs with no network at first run.

    python bundle_wheels.py --target linux-x64 --out DIR      # build the set
    python bundle_wheels.py --target linux-x64 --out DIR --wheel astra_ls-*.whl
                                                              # ... around an astra-ls wheel already built
    python bundle_wheels.py --verify DIR                      # prove it installs offline, for every Python

The set is the astra-ls wheel, every runtime dependency as a wheel for the target's platform and each
supported CPython, and pip's own wheel: the extension creates its private environment with
`venv --without-pip` and runs pip from that wheel (`python pip.whl/pip install --no-index ...`), so
neither the network nor Debian's python3-venv/python3-pip packages are needed. `bundle.json` says which
target and which Pythons the set serves; the extension reads it to decide whether it can install offline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The CPython versions the VSIX serves: those pyproject's requires-python admits and that have wheels.
PYTHONS = ("3.11", "3.12", "3.13", "3.14")

# VS Code's platform targets and the wheel platform tags that run there. Several tags per target
# because projects tag their wheels with different minimum OS versions; the oldest listed is what
# the bundle then needs at least (older tags are accepted by newer systems).
TARGETS: dict[str, tuple[str, ...]] = {
    "win32-x64": ("win_amd64",),
    "win32-arm64": ("win_arm64",),
    # Intel Macs: google-re2 ships macOS 13+ wheels only, so this VSIX needs macOS 13 or newer.
    "darwin-x64": tuple(f"macosx_{v}_x86_64" for v in ("10_9", "10_12", "10_13", "10_14", "10_15", "11_0", "12_0",
                                                       "13_0", "14_0", "15_0"))
    + tuple(f"macosx_{v}_universal2" for v in ("10_9", "10_12", "10_13", "10_14", "10_15", "11_0", "12_0")),
    "darwin-arm64": tuple(f"macosx_{v}_arm64" for v in ("11_0", "12_0", "13_0", "14_0", "15_0"))
    + tuple(f"macosx_{v}_universal2" for v in ("10_9", "10_12", "10_13", "10_14", "10_15", "11_0", "12_0")),
    "linux-x64": ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"),
    "linux-arm64": ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"),
    # alpine-x64 is left out: google-re2 (the regex engine that bounds JSON Schema patterns) has no musllinux
    # wheels, so Alpine users install the CLI from source or use the universal VSIX.
}


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def runtime_requirements(wheel: Path) -> list[str]:
    """The wheel's Requires-Dist entries that apply without extras (extras are opt-in: remote)."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(name).decode())
    return [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]


def pip_platform_args(target: str, python: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in TARGETS[target]:
        args += ["--platform", tag]
    return args


def build(target: str, out: Path, pythons: tuple[str, ...], wheel: Path | None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    if wheel is not None:
        # Several targets are gathered at once: building the wheel in each would race on the source tree's
        # build/ folder, so the caller builds it once and every target copies it.
        shutil.copy2(wheel, out / wheel.name)
    else:
        built = run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(out)])
        if built.returncode != 0:
            print(built.stdout + built.stderr, file=sys.stderr)
            return 1
    ours = next(out.glob("astra_ls-*.whl"))
    requirements = runtime_requirements(ours)
    served: list[str] = []
    for python in pythons:
        got = run([sys.executable, "-m", "pip", "download", "-q", "-d", str(out), *pip_platform_args(target, python),
                   *requirements])
        if got.returncode != 0:
            # No wheel for this Python on this platform (yet): the VSIX serves the others and says so.
            reason = got.stderr.strip().splitlines()[-1] if got.stderr.strip() else "no wheels"
            print(f"bundle {target}: Python {python} left out: {reason}", file=sys.stderr)
            continue
        served.append(python)
    if not served:
        print(f"bundle {target}: no supported Python has wheels for every dependency", file=sys.stderr)
        return 1
    pip = run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(out),
               "pip"])
    if pip.returncode != 0:
        print(pip.stderr, file=sys.stderr)
        return 1
    manifest = {"target": target, "platforms": list(TARGETS[target]), "pythons": served, "requirements": requirements}
    (out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"bundle {target}: {len(list(out.glob('*.whl')))} wheels for Python {', '.join(served)}")
    return 0


def verify(bundle: Path) -> list[str]:
    """Resolve astra-ls from the bundle alone (no index) for every Python it claims; return what failed."""
    manifest = json.loads((bundle / "bundle.json").read_text())
    failures: list[str] = []
    for python in manifest["pythons"]:
        with tempfile.TemporaryDirectory() as target_dir:
            got = run([sys.executable, "-m", "pip", "install", "--dry-run", "-q", "--no-index", "--find-links",
                       str(bundle), "--target", target_dir, *pip_platform_args(manifest["target"], python), "astra-ls"])
        if got.returncode != 0:
            failures.append(f"{manifest['target']} / Python {python}: {got.stderr.strip()}")
    if not list(bundle.glob("pip-*.whl")):
        failures.append(f"{manifest['target']}: pip's wheel is missing")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=sorted(TARGETS), help="VS Code platform target to gather wheels for")
    parser.add_argument("--out", type=Path, help="folder to put the wheels and bundle.json in")
    parser.add_argument("--pythons", default=",".join(PYTHONS), help="CPython versions, comma-separated")
    parser.add_argument("--wheel", type=Path, help="the astra-ls wheel to ship (default: build it from the repository)")
    parser.add_argument("--verify", type=Path, metavar="DIR", help="check that a gathered set installs offline")
    args = parser.parse_args()
    if args.verify:
        failures = verify(args.verify)
        for failure in failures:
            print(failure, file=sys.stderr)
        return 1 if failures else 0
    if not args.target or not args.out:
        parser.error("--target and --out are required to build a set")
    return build(args.target, args.out, tuple(args.pythons.split(",")), args.wheel)


if __name__ == "__main__":
    sys.exit(main())
