"""Packaging glue that pyproject.toml cannot say: ``queries/`` and ``reports/`` are top-level
folders of the project (analysts read them there), and the wheel carries them inside the package
as ``pipeline/queries`` and ``pipeline/reports`` (``pipeline.core.resources`` finds either).
Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import find_packages, setup

DATA_FOLDERS = ("queries", "reports")


def data_packages() -> list[str]:
    """Every folder below queries/ and reports/, as a package name under ``pipeline``."""
    out = []
    for top in DATA_FOLDERS:
        for folder in [Path(top), *sorted(p for p in Path(top).rglob("*") if p.is_dir())]:
            if "__pycache__" not in folder.parts:
                out.append("pipeline." + ".".join(folder.parts))
    return out


setup(
    packages=find_packages(include=["pipeline", "pipeline.*"]) + data_packages(),
    package_dir={f"pipeline.{top}": top for top in DATA_FOLDERS},
    package_data={
        "pipeline.core": ["*.toml"],
        **{name: ["*.sql", "*.html", "*.css", "*.js", "*.txt"] for name in data_packages()},
    },
)
