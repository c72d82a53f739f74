"""Training: the loop, callbacks, and the loss, optimizer and schedule registries.

Submodules are imported on demand (``tunelab.training.losses`` etc.) so importing this
package stays cheap.
"""
