"""The `udd-keras` command line (installed as `udd_keras.cli`).

The CLI is thin: each command parses its options, calls the library and prints.
"""
