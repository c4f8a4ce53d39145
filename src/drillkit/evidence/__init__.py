"""Evidence: what a run leaves behind for an auditor.

The report (JSON, Markdown, HTML, JUnit) is computed from the run folder's
journal and definition alone, never from a live run's memory, so it can be
rendered again years later. The DSSE-signed in-toto attestation covers every
file of the bundle, and verification needs only the bundle and a public key.
"""
