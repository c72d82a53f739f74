"""Explore one knob at a time: sweeps along the ladders (learning rate x3, batch size x2,
epochs read from one curve), run in parallel worker processes.

The learning-rate range test lives with the trainer (:mod:`tunelab.training.lr_find`),
because ``learning_rate: auto`` is resolved when a run starts.
"""
