"""lsnb: the helper package of the book "When Does Label Smoothing Help?" reproduced.

One module per job: :mod:`~lsnb.profiles` (validated configs), :mod:`~lsnb.data`
(in-memory datasets, batched augmentation), :mod:`~lsnb.models`, :mod:`~lsnb.losses`,
:mod:`~lsnb.train` (the one training loop), :mod:`~lsnb.store` (the run store),
:mod:`~lsnb.metrics`, :mod:`~lsnb.plots`, :mod:`~lsnb.results` (headline numbers and
the scorecard).
"""
__version__ = "0.1.0"
