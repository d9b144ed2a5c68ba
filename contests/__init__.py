"""The domain: contest rules, the records kept, and the ports the use cases talk to.

Imports nothing of the project (import-linter checks it).
"""
