"""The public Python API's rooms: options, running, results, handles, the ledger and deadlines.

Import from `engine` itself (`engine.run_plan`, `engine.Ledger`, ...); these modules are how it is
built, and `engine run` goes through the same `engine.api.runner`.
"""
