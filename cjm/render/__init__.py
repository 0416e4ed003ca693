"""Renderers: each turns result objects into one output form; none computes anything."""
