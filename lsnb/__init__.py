"""lsnb: the helper package of the book "When Does Label Smoothing Help?" reproduced.

Its folders are its layers, highest first; a module imports only from its own layer and those below it
(the import-linter contract in ``pyproject.toml``): :mod:`lsnb.build` (executing the chapters, the GPU
edition, the scorecard), :mod:`lsnb.chapters` (one module per notebook: its runs, tables and claims),
:mod:`lsnb.book` (glue, tables, plots, results files), :mod:`lsnb.engine` (configs, profiles, the run
store, the one training loop), :mod:`lsnb.models` (the networks), :mod:`lsnb.data` (datasets and corpora)
and :mod:`lsnb.methods` (the paper's methods as functions of logits and features). README, "Layout",
has one line per module.
"""
__version__ = "0.1.0"
