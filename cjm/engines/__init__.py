"""The engines: the seam every engine implements (cjm.engines.protocol, in the typed rows of
cjm.engines.rows, to the shared definitions of cjm.engines.semantics), and one package per
engine: cjm.engines.duckdb (the default) and cjm.engines.spark."""
