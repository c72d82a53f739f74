"""Trials of tunelab's own trainer: the image objective, its default space, cross-validation,
retraining the best, kept weights and joining a study from another machine.

``tune_images`` is the front end (``tunelab tune``); it runs on the generic engine of
:mod:`tunelab.search`.
"""
