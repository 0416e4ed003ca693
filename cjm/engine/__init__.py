"""The engines: the seam every engine implements (cjm.engine.protocol, in the typed rows of
cjm.engine.rows, to the shared definitions of cjm.engine.semantics), and one package per
engine: cjm.engine.duckdb (the default) and cjm.engine.spark."""
