"""Package discovery that pyproject.toml cannot express: the top-level `templates/` folder
ships inside the wheel as the package `cvo_templates`."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["cvo_plugin*", "connectors*", "jobs*"]) + ["cvo_templates"],
    package_dir={"cvo_templates": "templates"},
)
