"""Size limits of user input (economies, studies), in a module of their own so that the command line
checks them before importing JAX."""

LIMITS = {"n": 500, "m": 100, "batch": 1_000_000, "chunk": 65_536, "steps": 100_000, "seed": 2**63 - 1,
          "divisions": 200, "activities": 200, "shared": 50, "private": 200}
