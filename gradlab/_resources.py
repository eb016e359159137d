"""Where the shipped resources (presets, icons, styles) are.

In a source checkout or an editable install they are the repository's top-level ``resources/``;
a wheel installs the same folder as ``gradlab/resources/`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def resource_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if (candidate / "presets").is_dir():
            return candidate
    raise FileNotFoundError("GradLab's resources folder is missing (reinstall the package)")


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)
