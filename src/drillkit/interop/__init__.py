"""Chaos Toolkit interop, both ways: experiments in as drills, runs out as journals.

Plain data only: nothing here imports chaoslib, so the formats can be read
and written on a machine without it.
"""
