"""The Dask executor: steps run on a Dask distributed cluster.

Importing this package imports nothing of `distributed` (~0.5 s): only `cluster.py`, reached when
the Dask executor is chosen, does.
"""
