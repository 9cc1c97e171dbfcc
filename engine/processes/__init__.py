"""The processes a run starts: how they are named, kept while the engine lives, found after it died.

Below `engine.executors` and `engine.ledger` alike: the executors keep an attempt's processes with
it (`keeper`), crash recovery finds a dead engine's leftovers (`leftovers`); both prove ownership
through the identity every attempt carries in its environment (`identity`).
"""
