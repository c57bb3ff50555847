from setuptools import setup

setup(cffi_modules=["src/cfgbench/_native/build.py:ffibuilder"])
