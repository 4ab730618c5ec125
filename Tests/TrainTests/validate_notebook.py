#!/usr/bin/env python3
"""Validate a notebook autoprog wrote against the official nbformat JSON schema.

Usage: python3 validate_notebook.py NOTEBOOK.ipynb
Needs the `nbformat` package (pip install nbformat). Exits 0 when the notebook is valid
nbformat 4.5 with the Lua kernelspec autoprog writes, 1 otherwise. The Swift test suite
does not run this (it must not need Python); it is for checking by hand or in CI where
Python is available, e.g. on a notebook kept by
`AUTOPROG_TEST_OUTPUT=/tmp/out swift test --filter NotebookTests`.
"""
import sys

import nbformat


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = argv[1]
    try:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        nbformat.validate(notebook)
    except Exception as error:  # read errors and ValidationError alike fail the check
        print(f"{path}: invalid notebook: {error}", file=sys.stderr)
        return 1
    problems = []
    if (notebook.nbformat, notebook.nbformat_minor) != (4, 5):
        problems.append(f"nbformat {notebook.nbformat}.{notebook.nbformat_minor}, expected 4.5")
    if notebook.metadata.get("kernelspec", {}).get("language") != "lua":
        problems.append("kernelspec.language is not lua")
    if any("id" not in cell for cell in notebook.cells):
        problems.append("a cell has no id")
    if problems:
        print(f"{path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"{path}: valid nbformat 4.5 notebook with {len(notebook.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
