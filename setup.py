"""Builds every Cython kernel found under libs/ and services/.

Kernel issues add `.pyx` files next to their Python facade; nothing here needs editing for
that, so no two pieces of work fight over the build list.
"""

from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    sources = sorted(
        glob("libs/**/*.pyx", recursive=True) + glob("services/**/*.pyx", recursive=True)
    )
    return [
        Extension(
            src[: -len(".pyx")].replace("/", "."),
            [src],
            include_dirs=[numpy.get_include()],
            extra_compile_args=["-O3"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for src in sources
    ]


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
