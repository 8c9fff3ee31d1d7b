"""Build hook: the native modexp core is optional; if it fails to compile the package still
installs and devicesrp.modexp falls back to gmpy2 / built-in pow (``devicesrp doctor`` says so)."""

from pathlib import Path

from setuptools import Extension, setup

NATIVE = Path("src/devicesrp/modexp/native")
sources = sorted(str(p) for p in NATIVE.glob("*.c")) if NATIVE.is_dir() else []
ext_modules = (
    [
        Extension(
            "devicesrp.modexp._core",
            sources=sources,
            include_dirs=[str(NATIVE)],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
            optional=True,
        )
    ]
    if sources
    else []
)

setup(ext_modules=ext_modules)
