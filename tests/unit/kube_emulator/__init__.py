"""Tests of the Kubernetes API emulator itself, through the real clients."""
