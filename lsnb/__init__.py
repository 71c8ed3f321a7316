"""lsnb: the helper package of the book "When Does Label Smoothing Help?" reproduced.

One module per job: :mod:`~lsnb.config` (the validated, hashable experiment config),
:mod:`~lsnb.profiles` (smoke/cpu/gpu/paper and their recipes), :mod:`~lsnb.chapters` (a
chapter's parameters and grids), :mod:`~lsnb.grid`, :mod:`~lsnb.cudagraph` and
:mod:`~lsnb.batched` (many configs at once; the CUDA-graph step), :mod:`~lsnb.data` (in-memory image datasets, batched
augmentation), :mod:`~lsnb.corpus` and :mod:`~lsnb.text` (the translation corpora),
:mod:`~lsnb.models`, :mod:`~lsnb.transformer`, :mod:`~lsnb.losses`,
:mod:`~lsnb.train` (the one training loop), :mod:`~lsnb.store` (the run store),
:mod:`~lsnb.metrics`, :mod:`~lsnb.stats` (the one verdict rule), :mod:`~lsnb.plots`,
:mod:`~lsnb.results` (headline numbers and the scorecard), :mod:`~lsnb.editions` (the GPU
edition).
"""
__version__ = "0.1.0"
