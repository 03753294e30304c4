"""Set up a Labwright checkout: venv, Pyodide, the page's wheels and bytecode. Idempotent.

Run with any Python >= 3.11 (stdlib only): ``python3 scripts/setup.py``. Each step checks
what is already there (by content hash) and does nothing when it is current, so a second
run takes seconds and needs no network. Only the package registries are used (PyPI
through pip, the npm registry through npm).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PINS = ROOT / "wheels" / "manifest.json"
DIST = ROOT / "wheels" / "dist"
COMPILED = DIST / "compiled"
CACHE = ROOT / ".labwright-cache"
CATALOG_OUT = ROOT / "build" / "catalog"
PYODIDE_OUT = ROOT / "build" / "pyodide"
BUILD_MANIFEST = DIST / "manifest.json"

# Fixed zip timestamps make our built wheels reproducible: same sources, same sha256.
_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)


def log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


# -- the virtual environment -------------------------------------------------------------


def ensure_venv(with_test: bool) -> None:
    python = VENV / "bin" / "python"
    if not python.exists():
        log("creating .venv")
        run([sys.executable, "-m", "venv", str(VENV)])
    extras = ".[test]" if with_test else "."
    stamp_file = VENV / ".labwright-install"
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    previous = stamp_file.read_text().split() if stamp_file.exists() else []
    # A test install also satisfies a plain run; never downgrade it.
    if stamp in previous or (not with_test and previous and "test" in previous):
        return
    log(f"installing labwright{extras[1:]} into .venv")
    run([str(python), "-m", "pip", "install", "-q", "-e", extras], cwd=ROOT)
    stamp_file.write_text(f"{stamp} {'test' if with_test else 'run'}\n")


# -- Pyodide from the npm package ---------------------------------------------------------


def ensure_node_modules() -> None:
    """``npm ci`` when node_modules is not what package-lock.json pins (npm's own record of it)."""
    lock = ROOT / "package-lock.json"
    installed = ROOT / "node_modules" / ".labwright-lock"
    stamp = sha256_file(lock)
    if installed.exists() and installed.read_text().strip() == stamp:
        return
    log("fetching the pinned npm packages (pyodide, codemirror, esbuild)")
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT)
    installed.write_text(stamp + "\n")


VENDOR = ROOT / "web" / "vendor"


def ensure_vendor() -> None:
    """Bundle the page's browser libraries (CodeMirror 6) into web/vendor/ when their inputs changed."""
    inputs = [ROOT / "package-lock.json", ROOT / "scripts" / "build_vendor.mjs",
              *sorted((ROOT / "scripts" / "vendor").glob("*.js"))]
    stamp = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()
    marker = VENDOR / ".stamp"
    if marker.exists() and marker.read_text().strip() == stamp and (VENDOR / "codemirror.js").exists():
        return
    log("bundling the page's browser libraries into web/vendor")
    run(["node", str(ROOT / "scripts" / "build_vendor.mjs"), str(VENDOR)], cwd=ROOT)
    marker.write_text(stamp + "\n")


# What PLR's visualizer loads from CDNs, served from the page's own origin instead (npm packages).
_VISUALIZER_LIBRARIES = {
    "https://unpkg.com/konva@8/konva.min.js": ("konva/konva.min.js", "konva.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/jszip/3.7.1/jszip.min.js": ("jszip/dist/jszip.min.js", "jszip.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/html2canvas/1.4.1/html2canvas.min.js":
        ("html2canvas/dist/html2canvas.min.js", "html2canvas.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.1.3/dist/css/bootstrap.min.css":
        ("bootstrap/dist/css/bootstrap.min.css", "bootstrap.min.css"),
    "https://cdn.jsdelivr.net/npm/bootstrap-icons@1.8.3/font/bootstrap-icons.css":
        ("bootstrap-icons/font/bootstrap-icons.css", "bootstrap-icons.css"),
}


def ensure_plr_visualizer(plr_wheel: Path) -> None:
    """PLR's own visualizer (from the pinned PLR wheel) in web/vendor/plr-visualizer/, with the
    libraries it takes from CDNs served locally and its WebSocket carried over postMessage by
    scripts/vendor/plr-visualizer-bridge.js, so the page can draw decks as PLR does, offline."""
    import re
    import zipfile

    out = VENDOR / "plr-visualizer"
    bridge = ROOT / "scripts" / "vendor" / "plr-visualizer-bridge.js"
    stamp = hashlib.sha256(sha256_file(plr_wheel).encode() + bridge.read_bytes()
                           + sha256_file(ROOT / "package-lock.json").encode()).hexdigest()
    marker = out / ".stamp"
    if marker.exists() and marker.read_text().strip() == stamp:
        return
    log("building PLR's visualizer for the page (web/vendor/plr-visualizer)")
    if out.exists():
        shutil.rmtree(out)
    (out / "fonts").mkdir(parents=True)
    with zipfile.ZipFile(plr_wheel) as wheel:
        for name in wheel.namelist():
            if name.startswith("pylabrobot/visualizer/") and not name.endswith((".py", "/")):
                target = out / name.removeprefix("pylabrobot/visualizer/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(name))
    page = (out / "index.html").read_text(encoding="utf-8")
    for url, (module_path, local) in _VISUALIZER_LIBRARIES.items():
        if url not in page:
            raise SystemExit(f"PLR's visualizer no longer loads {url}: update _VISUALIZER_LIBRARIES")
        shutil.copyfile(ROOT / "node_modules" / module_path, out / local)
        page = page.replace(url, f"./{local}")
    for font in (ROOT / "node_modules" / "bootstrap-icons" / "font" / "fonts").iterdir():
        shutil.copyfile(font, out / "fonts" / font.name)
    # Subresource integrity and CORS attributes were for the CDN copies.
    page = re.sub(r'\s+integrity="[^"]*"\s+crossorigin="anonymous"', "", page)
    page = page.replace('<script src="./lib.js', '<script src="./plr-visualizer-bridge.js"></script>\n    <script src="./lib.js')
    page = page.replace("/favicon.png", "./img/logo.png")
    page = page.replace("{{ source_filename }}", "").replace("{{ fs_port }}", "0").replace("{{ ws_port }}", "0")
    page = page.replace("{{ liquid_color }}", "F39C12")
    if "{{" in page:
        raise SystemExit("PLR's visualizer page has a template field set-up does not fill: " + page[page.index("{{"):][:60])
    (out / "index.html").write_text(page, encoding="utf-8")
    shutil.copyfile(bridge, out / "plr-visualizer-bridge.js")
    marker.write_text(stamp + "\n")


def ensure_pyodide(version: str) -> Path:
    package = ROOT / "node_modules" / "pyodide"
    installed = package / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != version:
        raise SystemExit(f"node_modules has pyodide {json.loads(installed.read_text())['version'] if installed.exists() else 'missing'}, "
                         f"wheels/manifest.json pins {version}: make package.json pin the same")
    out = PYODIDE_OUT / version
    files = [
        "pyodide.mjs",
        "pyodide.asm.mjs",
        "pyodide.asm.wasm",
        "python_stdlib.zip",
        "pyodide-lock.json",
    ]
    for name in files:
        source, target = package / name, out / name
        if target.exists() and target.stat().st_size == source.stat().st_size:
            if sha256_file(target) == sha256_file(source):
                continue
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return out


# -- pinned wheels from PyPI ---------------------------------------------------------------


def ensure_pinned(entry: dict[str, str], python_version: str) -> Path:
    target = DIST / entry["file"]
    if target.exists() and sha256_file(target) == entry["sha256"]:
        return target
    DIST.mkdir(parents=True, exist_ok=True)
    log(f"downloading {entry['file']}")
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"{entry['name']}=={entry['version']}"
        binary = ["--no-binary=:all:"] if entry["file"].endswith(".tar.gz") else [
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "--platform",
            "any",
        ]
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *binary, "-d", tmp, spec])
        downloaded = Path(tmp) / entry["file"]
        if not downloaded.exists():
            raise SystemExit(f"pip did not produce {entry['file']} for {spec}")
        actual = sha256_file(downloaded)
        if actual != entry["sha256"]:
            raise SystemExit(
                f"{entry['file']}: sha256 {actual} does not match the pin {entry['sha256']}"
            )
        shutil.copyfile(downloaded, target)
    return target


# -- wheels we build ------------------------------------------------------------------------


def _write_wheel(target: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """Write a reproducible pure-Python wheel from archive-name -> bytes."""
    dist_info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: labwright-setup\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record_lines = []
    for arcname in sorted(files):
        digest = hashlib.sha256(files[arcname]).digest()
        import base64

        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record_lines.append(f"{arcname},sha256={encoded},{len(files[arcname])}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[arcname])
    tmp.replace(target)


def build_libcst_wheel(sdist: Path, version: str) -> Path:
    """LibCST's Python parser from the sdist plus our pure-Python ``libcst.native``."""
    native = ROOT / "scripts" / "libcst_pure" / "native.py"
    stamp = hashlib.sha256(
        (sha256_file(sdist) + sha256_file(native)).encode()
    ).hexdigest()[:12]
    target = DIST / f"libcst-{version}+pure.{stamp}-py3-none-any.whl"
    if target.exists():
        return target
    for old in DIST.glob(f"libcst-{version}+pure.*.whl"):
        old.unlink()
    log(f"building pure-Python libcst {version} wheel")
    files: dict[str, bytes] = {}
    prefix = f"libcst-{version}/"
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix + "libcst/"):
                continue
            arcname = member.name[len(prefix) :]
            if "/tests/" in arcname or not (
                arcname.endswith(".py") or arcname.endswith("py.typed")
            ):
                continue
            extracted = tar.extractfile(member)
            assert extracted is not None
            files[arcname] = extracted.read()
    if "libcst/_version.py" not in files:
        files["libcst/_version.py"] = f'__version__ = version = "{version}"\n'.encode()
    files["libcst/native.py"] = native.read_bytes()
    _write_wheel(target, "libcst", f"{version}+pure.{stamp}", files)
    return target


def build_opentrons_labware_wheel(source: Path, version: str) -> Path:
    """Opentrons' labware definitions from the pinned opentrons-shared-data wheel, repacked as
    the data-only package ``labwright_opentrons_labware`` (definitions/2/<name>/<version>.json).

    PLR's opentrons factories download these at call time; ``browser_runtime.plr_offline``
    answers them from this package, in the page and in the venv alike.
    """
    prefix = "opentrons_shared_data/data/labware/definitions/2/"
    stamp = hashlib.sha256((sha256_file(source) + prefix).encode()).hexdigest()[:12]
    target = DIST / f"labwright_opentrons_labware-{version}+defs.{stamp}-py3-none-any.whl"
    if target.exists():
        return target
    for old in DIST.glob("labwright_opentrons_labware-*.whl"):
        old.unlink()
    log(f"building the Opentrons labware data wheel from opentrons-shared-data {version}")
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(source) as wheel:
        for name in wheel.namelist():
            if name.startswith(prefix) and name.endswith(".json"):
                files["labwright_opentrons_labware/definitions/2/" + name[len(prefix) :]] = wheel.read(name)
    if not files:
        raise SystemExit(f"{source.name} holds no {prefix}*.json")
    files["labwright_opentrons_labware/__init__.py"] = (
        '"""Opentrons labware definitions (schema 2), data only, from opentrons-shared-data '
        f'{version}."""\n\nSOURCE = "opentrons-shared-data {version}"\n'
    ).encode()
    _write_wheel(target, "labwright_opentrons_labware", f"{version}+defs.{stamp}", files)
    return target


#: data package (wheels/manifest.json ``data_packages``) -> the builder of its data-only wheel
DATA_BUILDERS = {"opentrons-shared-data": build_opentrons_labware_wheel}


def ensure_data_in_venv(wheels: list[Path]) -> None:
    """Install the data-only wheels into .venv too (CPython answers PLR offline as the page does)."""
    python = VENV / "bin" / "python"
    stamp_file = VENV / ".labwright-data"
    stamp = " ".join(sorted(wheel.name for wheel in wheels))
    if not wheels or (stamp_file.exists() and stamp_file.read_text().strip() == stamp):
        return
    log("installing " + ", ".join(wheel.name for wheel in wheels) + " into .venv")
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", *map(str, wheels)])
    stamp_file.write_text(stamp + "\n")


def build_labwright_wheel() -> Path:
    """Our wheel for the page: ``browser_runtime`` only (the server stays on the lab PC)."""
    version = _project_version()
    files: dict[str, bytes] = {}
    for path in sorted((ROOT / "browser_runtime").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".json"}:
            files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    content = hashlib.sha256()
    for arcname in sorted(files):
        content.update(arcname.encode() + b"\0" + files[arcname])
    stamp = content.hexdigest()[:12]
    target = DIST / f"labwright-{version}+{stamp}-py3-none-any.whl"
    if target.exists():
        return target
    for old in DIST.glob(f"labwright-{version}+*.whl"):
        old.unlink()
    log("building the labwright wheel (browser_runtime)")
    _write_wheel(target, "labwright", f"{version}+{stamp}", files)
    return target


def _project_version() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("pyproject.toml has no version")


# -- bytecode compiled inside Pyodide --------------------------------------------------------


def compile_archives(wheels: list[Path], pyodide_dir: Path) -> dict[str, Path]:
    """One archive per wheel: its files plus ``.pyc`` that Pyodide's CPython wrote."""
    COMPILED.mkdir(parents=True, exist_ok=True)
    script = ROOT / "scripts" / "compile_archives.mjs"
    compiler_key = hashlib.sha256(
        (sha256_file(script) + sha256_file(pyodide_dir / "pyodide.asm.wasm")).encode()
    ).hexdigest()[:8]
    outputs: dict[str, Path] = {}
    todo: list[tuple[Path, Path]] = []
    for wheel in wheels:
        key = hashlib.sha256((sha256_file(wheel) + compiler_key).encode()).hexdigest()[:16]
        target = COMPILED / f"{wheel.stem}.{key}.zip"
        outputs[wheel.name] = target
        if not target.exists():
            todo.append((wheel, target))
    if todo:
        log(f"compiling bytecode inside Pyodide for {len(todo)} archive(s)")
        jobs = [{"wheel": str(w), "out": str(t)} for w, t in todo]
        run(["node", str(script), str(pyodide_dir), json.dumps(jobs)], cwd=ROOT)
    keep = {path.name for path in outputs.values()}
    for stale in COMPILED.glob("*.zip"):
        if stale.name not in keep:
            stale.unlink()
    return outputs


# -- the manifest the page reads ----------------------------------------------------------


def write_build_manifest(
    pins: dict,
    archives: list[dict[str, object]],
    test_wheels: list[dict[str, str]],
    pyodide_dir: Path,
    catalog: dict[str, object] | None,
) -> None:
    body = {
        "schema_version": 1,
        "pyodide": {
            "version": pins["pyodide"]["version"],
            "url": f"pyodide/{pins['pyodide']['version']}/",
        },
        "archives": archives,
    }
    # The build id names what the page loads (and so its warm-start snapshot); test wheels
    # are listed after it is computed because the page never loads them.
    body["build_id"] = hashlib.sha256(
        json.dumps(body, sort_keys=True).encode()
    ).hexdigest()[:16]
    body["test_wheels"] = test_wheels
    body["catalog"] = catalog
    body["snapshot"] = ensure_boot_snapshot(body, pyodide_dir)
    text = json.dumps(body, indent=2) + "\n"
    if not BUILD_MANIFEST.exists() or BUILD_MANIFEST.read_text() != text:
        tmp = BUILD_MANIFEST.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(BUILD_MANIFEST)


def ensure_boot_snapshot(body: dict, pyodide_dir: Path) -> dict[str, object]:
    """Pyodide's heap with PLR imported, made in Node from exactly the archives listed.

    Named by the build id, so it changes whenever anything the page loads changes. The
    snapshot script reads the archive list from the manifest, so a manifest without the
    snapshot entry is written first.
    """
    folder = DIST / "snapshot"
    # The maker's key is in the name too: a snapshot made by an older script (one without
    # stack switching, whose heap breaks run_sync) is remade, not reused.
    script = ROOT / "scripts" / "make_snapshot.mjs"
    maker_key = hashlib.sha256(
        (sha256_file(script) + sha256_file(pyodide_dir / "pyodide.asm.wasm")).encode()
    ).hexdigest()[:8]
    target = folder / f"boot-{body['build_id']}-{maker_key}.snapshot.gz"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        interim = dict(body, snapshot=None)
        BUILD_MANIFEST.write_text(json.dumps(interim, indent=2) + "\n")
        log("making the boot snapshot inside Pyodide")
        run(
            # JSPI on, as in the page: Pyodide binds run_sync while it initialises.
            ["node", "--experimental-wasm-stack-switching", str(script), str(pyodide_dir), str(DIST), str(target)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    for stale in folder.glob("boot-*.snapshot.gz"):
        if stale != target:
            stale.unlink()
    return {"file": f"snapshot/{target.name}", "sha256": sha256_file(target), "size": target.stat().st_size}


def ensure_catalog() -> dict[str, object] | None:
    """The prebuilt PLR catalog (with geometry) for the page's demo mode and the server.

    Built on CPython by ``labwright catalog build`` into build/catalog/, then published for
    the page under a content-hashed folder of wheels/dist/catalog/ (hard links), so its URLs
    can be cached as immutable. Rebuilt only when the catalog code or PLR changes.
    """
    python = VENV / "bin" / "python"
    if not python.exists():
        log("no .venv yet: the prebuilt catalog is skipped")
        return None
    inputs = hashlib.sha256()
    page_side = {"page_api.py", "store.py", "lookup.py"}  # do not change what is built
    for path in sorted((ROOT / "browser_runtime" / "catalog").rglob("*.py")):
        if path.name not in page_side:
            inputs.update(path.read_bytes())
    records = sorted((VENV / "lib").glob("python3*/site-packages/pylabrobot-*.dist-info/RECORD"))
    for record in records:
        inputs.update(record.read_bytes())
    stamp = inputs.hexdigest()
    stamp_file = CATALOG_OUT / ".stamp"
    catalog = CATALOG_OUT / "catalog.json"
    if not (catalog.exists() and stamp_file.exists() and stamp_file.read_text() == stamp):
        log("building the PLR catalog (LibCST discovery + geometry)")
        if CATALOG_OUT.exists():
            shutil.rmtree(CATALOG_OUT)
        CATALOG_OUT.mkdir(parents=True)
        run(
            [
                str(python), "-m", "browser_runtime.catalog.cli", "build",
                "--out", str(catalog), "--cache-dir", str(CACHE / "catalog"),
            ],
            cwd=ROOT,
        )
        stamp_file.write_text(stamp)
    digest = sha256_file(catalog)
    published = DIST / "catalog" / digest[:16]
    if not (published / "catalog.json").exists():
        tmp = published.with_name(published.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        shutil.copytree(CATALOG_OUT, tmp, copy_function=os.link, ignore=shutil.ignore_patterns(".stamp"))
        tmp.rename(published)
    for stale in (DIST / "catalog").iterdir():
        if stale != published:
            shutil.rmtree(stale, ignore_errors=True)
    return {
        "file": f"catalog/{published.name}/catalog.json",
        "base": f"catalog/{published.name}/",
        "sha256": digest,
        "size": catalog.stat().st_size,
    }


def build_page_assets(with_test: bool, venv: bool = True) -> None:
    pins = json.loads(PINS.read_text())
    ensure_node_modules()
    ensure_vendor()
    pyodide_dir = ensure_pyodide(pins["pyodide"]["version"])
    python_version = pins["pyodide"]["python"]
    sources: list[tuple[dict[str, str], Path]] = []
    for entry in pins["packages"]:
        sources.append((entry, ensure_pinned(entry, python_version)))
        if entry["name"] == "pylabrobot":
            ensure_plr_visualizer(sources[-1][1])
    for entry in pins["sdists"]:
        sdist = ensure_pinned(entry, python_version)
        sources.append((entry, build_libcst_wheel(sdist, entry["version"])))
    data_wheels = []
    for entry in pins.get("data_packages", []):
        builder = DATA_BUILDERS.get(entry["name"])
        if builder is None:
            raise SystemExit(f"wheels/manifest.json: no builder for data package {entry['name']}")
        data = builder(ensure_pinned(entry, python_version), entry["version"])
        sources.append(({**entry, "name": "opentrons-labware"}, data))
        data_wheels.append(data)
    if with_test:
        # Only the Node test runner loads these (pytest inside Pyodide); the page never does.
        for entry in pins.get("test_packages", []):
            ensure_pinned(entry, python_version)
    labwright = build_labwright_wheel()
    sources.append(
        ({"name": "labwright", "version": _project_version(), "import": "browser_runtime"}, labwright)
    )
    compiled = compile_archives([wheel for _, wheel in sources], pyodide_dir)
    archives = []
    for entry, wheel in sources:
        archive = compiled[wheel.name]
        archives.append(
            {
                "name": entry["name"],
                "version": entry["version"],
                "import": entry["import"],
                "wheel": wheel.name,
                "file": f"compiled/{archive.name}",
                "sha256": sha256_file(archive),
                "size": archive.stat().st_size,
            }
        )
    test_wheels = [
        {"name": entry["name"], "version": entry["version"], "file": entry["file"], "sha256": entry["sha256"]}
        for entry in pins.get("test_packages", [])
        if with_test
    ]
    if venv:
        ensure_data_in_venv(data_wheels)
    catalog = ensure_catalog()
    write_build_manifest(pins, archives, test_wheels, pyodide_dir, catalog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="store_true", help="also install the test tools")
    parser.add_argument("--skip-venv", action="store_true", help="only build the page assets")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if not args.skip_venv:
        ensure_venv(with_test=args.test)
    build_page_assets(with_test=args.test, venv=not args.skip_venv)
    log(f"ready in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
