"""Reshuffle solver (OR-Tools CP-SAT) and its greedy baseline: pure library, no Flask, no database."""
