"""Instruction lane, pure logic: templates, generation techniques, Evol-Instruct operators and
elimination, critic parsing, filters and diversity measures (no Dagster imports)."""
