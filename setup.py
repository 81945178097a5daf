"""Package layout for setuptools (everything else is in pyproject.toml).

The repository keeps ``configs/`` at the top level (``nethical fit --config configs/logistic.yaml``); an installed
wheel carries the same files as ``nethical/configs``, where :mod:`nethical.paths` finds them without the source tree.
"""

from setuptools import find_packages, setup

PACKAGES = find_packages(include=["nethical", "nethical.*", "lightning_modules", "lightning_modules.*",
                                  "datamodules", "datamodules.*", "callbacks", "callbacks.*"])

setup(
    packages=PACKAGES + ["nethical.configs"],
    package_dir={"nethical.configs": "configs"},
    package_data={
        "nethical.configs": ["*.yaml", "*/*.yaml"],
        # the default learned governance detector (the only model committed to the repository; rebuilt by
        # `python -m nethical.governance.build_default`, see docs/governance.md)
        "nethical.governance": ["default_detector/*"],
    },
)
