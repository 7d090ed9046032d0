"""The error catalog as package data: one TOML file per source.

This directory ships inside the wheel as the package ``mockcti.catalog_data`` (see
``[tool.setuptools]`` in pyproject.toml); ``mockcti.catalog`` reads the ``*.toml`` files.
The file makes it a regular package so that editable installs can import it too (setuptools'
editable finder cannot resolve a namespace package mapped below a regular one).
"""
