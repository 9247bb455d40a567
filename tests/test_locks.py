"""The lock files ./dev installs must satisfy the requirement files people edit: a requirement
added or tightened in a .txt without regenerating its lock (README, "Two commands") fails here."""
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _wanted(txt: Path) -> list[Requirement]:
    out: list[Requirement] = []
    for raw in txt.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out += _wanted(txt.parent / line[3:].strip())
        else:
            out.append(Requirement(line))
    return out


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every `name==version \\` entry of the lock."""
    pins: dict[str, tuple[str, int]] = {}
    name = None
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            spec = line.rstrip("\\").strip()
            pinned, version = spec.split("==")
            name = canonicalize_name(Requirement(pinned).name)
            pins[name] = (version, 0)
        elif line.startswith("--hash=sha256:") and name is not None:
            version, count = pins[name]
            pins[name] = (version, count + 1)
    return pins


@pytest.mark.parametrize("txt, lock", [("requirements.txt", "requirements.lock"),
                                       ("requirements-dev.txt", "requirements-dev.lock")])
def test_lock_pins_every_requirement_with_hashes(txt, lock):
    pins = _pins(ROOT / lock)
    assert pins, f"{lock} is empty"
    for req in _wanted(ROOT / txt):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in {txt} but not in {lock}: regenerate the lock"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{lock} pins {req.name}=={version}, outside {txt}'s {req.specifier}: regenerate the lock")
    assert all(count > 0 for _, count in pins.values()), f"{lock} has a pin without a hash"


def test_pins_parser_reads_a_lock():
    # The parser above must see pins and hashes, or the test above would pass on anything.
    pins = _pins(ROOT / "requirements.lock")
    assert "flask" in pins and pins["flask"][1] >= 1


def test_dev_lock_pins_extras_as_asked():
    # samplics asks for polars[pyarrow]; pip 23 resolves that requirement on its own and takes the
    # newest polars unless the lock pins it with the extra (README, "Two commands").
    assert _pins(ROOT / "requirements-dev.lock")["polars"][1] >= 1
    assert "\npolars[pyarrow]==" in (ROOT / "requirements-dev.lock").read_text(encoding="utf-8")
